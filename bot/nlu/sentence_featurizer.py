"""Rasa 3.6 dense featurizer: one all-MiniLM-L6-v2 sentence vector per message.

config.yml::

    - name: bot.nlu.sentence_featurizer.SentenceEmbeddingFeaturizer

It uses the same offline encoder as catalog search (:mod:`knowledge.embed`), so the bot needs no
second language model. Only sentence-level features are set (no per-token sequence): the intent
classifier needs the whole message's meaning; entity extraction works on tokens elsewhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge.embed import Encoder

_ENCODER: Encoder | None = None


def shared_encoder() -> Encoder:
    """One encoder per process: the model is ~90 MB and thread-safe for inference."""
    global _ENCODER
    if _ENCODER is None:
        from knowledge.config import get_settings

        settings = get_settings()
        _ENCODER = Encoder(threads=settings.encoder_threads, onnx_path=settings.onnx_encoder_path)
    return _ENCODER


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a 384-dimensional, L2-normalized MiniLM sentence vector to each message's text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "batch_size": 64}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._encoder = shared_encoder()
        # Load the model now, not on the first user's message.
        self._encoder.encode_query("hello")

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config.get("batch_size", 64)) < 1:
            raise ValueError("SentenceEmbeddingFeaturizer: batch_size must be at least 1")

    def process(self, messages: list[Message]) -> list[Message]:
        todo = [m for m in messages if isinstance(m.get(TEXT), str) and m.get(TEXT).strip()]
        if not todo:
            return messages
        if len(todo) == 1:
            vectors = self._encoder.encode_query(todo[0].get(TEXT))[None, :]
        else:
            vectors = self._encoder.encode(
                [m.get(TEXT) for m in todo], batch_size=int(self._config["batch_size"])
            )
        for message, vector in zip(todo, vectors, strict=True):
            self.add_features_to_message(
                sequence=None,
                sentence=np.asarray(vector, dtype=np.float32)[None, :],
                attribute=TEXT,
                message=message,
            )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
