"""Rasa 3.6 intent classifier and response selector in one: logistic regression over the
message's sentence features (MiniLM meaning + word and character n-gram counts, each featurizer's
block scaled to unit length on its own).

config.yml::

    - name: bot.nlu.intent_classifier.SentenceIntentClassifier
      C: 120.0
      dense_weight: 2.0

Why not DIET: on this 2-core target DIET and ResponseSelector took ~80 s to load (TensorFlow graph
tracing) and cross-validated worse on our data than a linear model over a pretrained sentence
encoder. This model loads in milliseconds and predicts in well under a millisecond.

Retrieval intents (``faq/what_is``, ``chitchat/ask_name``) are classes of their own; the top-level
intent's confidence is the sum over its sub-intents, and the best sub-intent is written as the
``response_selector`` output that Rasa's ``utter_faq`` / ``utter_chitchat`` actions read, in the
same shape as Rasa's ``ResponseSelector`` writes it.

The trained weights are stored as plain numpy arrays (no pickle).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "weights.npz"
META_FILE = "meta.json"


def _log_unit(features: Any, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of one sparse block: log-damped counts scaled to unit length."""
    counts = scipy.sparse.csr_matrix(features)
    keep = counts.indices < dim
    idx = counts.indices[keep]
    values = np.log1p(np.abs(counts.data[keep])).astype(np.float32)
    norm = float(np.linalg.norm(values))
    return idx, (values / norm if norm > 0 else values)


def _sparse_blocks(message: Message) -> list[tuple[str, Any]]:
    """The message's sparse sentence features, in pipeline order, with the component that made
    each (its graph node name)."""
    blocks: list[tuple[str, Any]] = []
    for f in message.features:
        if f.type == FEATURE_TYPE_SENTENCE and f.attribute == TEXT and f.is_sparse():
            origin = f.origin if isinstance(f.origin, str) else "+".join(f.origin)
            blocks.append((origin, f.features))
    return blocks


def _sentence_features(
    message: Message,
    sparse_dim: int,
    dense_dim: int,
    dense_weight: float = 1.0,
    blocks: list[tuple[str, int]] | None = None,
) -> np.ndarray:
    """One row: [dense sentence vector * dense_weight, L2-normalized log-count sparse vectors].

    Counts are log-damped and normalized so that long messages and the many character n-grams do
    not drown the 384 dense dimensions. With ``blocks`` (origin, width) each sparse featurizer
    (word n-grams, character n-grams) is normalized on its own, so the few word counts are not
    outweighed by the many character n-grams of the same words; without it (models trained
    before that change) all sparse features form one block.
    """
    row = np.zeros(dense_dim + sparse_dim, dtype=np.float32)
    _, dense = message.get_dense_features(TEXT)
    if dense is not None and dense_dim:
        vec = np.asarray(dense.features, dtype=np.float32).reshape(-1)[:dense_dim]
        norm = float(np.linalg.norm(vec))
        if norm > 0:
            row[: vec.shape[0]] = vec * (dense_weight / norm)
    if not sparse_dim:
        return row
    if blocks is None:
        _, sparse = message.get_sparse_features(TEXT)
        if sparse is not None:
            idx, values = _log_unit(sparse.features, sparse_dim)
            row[dense_dim + idx] = values
        return row
    found = _sparse_blocks(message)
    by_origin = dict(found)
    offset = dense_dim
    for position, (origin, width) in enumerate(blocks):
        features = by_origin.get(origin)
        if features is None and position < len(found) and found[position][1].shape[-1] == width:
            features = found[position][1]  # same featurizer under another node name
        if features is not None:
            idx, values = _log_unit(features, width)
            row[offset + idx] = values
        offset += width
    return row


def _feature_dims(message: Message) -> tuple[int, int, list[tuple[str, int]]]:
    _, dense = message.get_dense_features(TEXT)
    blocks = [(origin, int(f.shape[-1])) for origin, f in _sparse_blocks(message)]
    sparse_dim = sum(width for _, width in blocks)
    dense_dim = int(np.asarray(dense.features).shape[-1]) if dense is not None else 0
    return sparse_dim, dense_dim, blocks


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceIntentClassifier(GraphComponent, IntentClassifier):
    """Multinomial logistic regression over sentence features; also selects FAQ/chitchat answers."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Chosen by 5-fold cross-validation on data/nlu (see docs/benchmarks.md).
            "C": 120.0,  # inverse regularization strength
            "dense_weight": 2.0,  # meaning (MiniLM) counts twice as much as wording (n-grams)
            "max_iter": 2000,
            "ranking_length": 10,
            "random_seed": 42,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        weights: np.ndarray | None = None,
        bias: np.ndarray | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._weights = weights  # (n_features, n_classes)
        self._bias = bias  # (n_classes,)
        self._meta = meta or {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceIntentClassifier:
        return cls(config, model_storage, resource)

    # -- training ---------------------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            logger.debug("SentenceIntentClassifier: no intent examples, nothing to train")
            return self._resource
        sparse_dim, dense_dim, blocks = _feature_dims(examples[0])
        labels = [e.get(INTENT_RESPONSE_KEY) or e.get(INTENT) for e in examples]
        weight = float(self._config["dense_weight"])
        features = np.stack(
            [_sentence_features(e, sparse_dim, dense_dim, weight, blocks) for e in examples]
        )
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise ValueError("SentenceIntentClassifier needs examples of at least two intents")
        model = LogisticRegression(
            C=float(self._config["C"]),
            max_iter=int(self._config["max_iter"]),
            class_weight="balanced",
            random_state=int(self._config["random_seed"]),
        )
        model.fit(scipy.sparse.csr_matrix(features), labels)
        self._weights = np.ascontiguousarray(model.coef_.T, dtype=np.float32)
        self._bias = np.asarray(model.intercept_, dtype=np.float32)
        self._meta = {
            "classes": [str(c) for c in model.classes_],
            "sparse_dim": sparse_dim,
            "dense_dim": dense_dim,
            "dense_weight": weight,
            "sparse_blocks": [[origin, width] for origin, width in blocks],
            "retrieval_intents": sorted(
                {e.get(INTENT) for e in examples if e.get(INTENT_RESPONSE_KEY)}
            ),
            # Response texts for the selector output (Rasa's actions take them from the domain).
            "responses": {
                key: value
                for key, value in training_data.responses.items()
                if "/" in key  # utter_faq/what_is, utter_chitchat/ask_name
            },
        }
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(directory / WEIGHTS_FILE, weights=self._weights, bias=self._bias)
            (directory / META_FILE).write_text(json.dumps(self._meta), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                arrays = np.load(directory / WEIGHTS_FILE, allow_pickle=False)
                meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
                return cls(config, model_storage, resource, arrays["weights"], arrays["bias"], meta)
        except (ValueError, FileNotFoundError):
            logger.debug("SentenceIntentClassifier: no trained weights in the model; untrained")
            return cls(config, model_storage, resource)

    # -- prediction -------------------------------------------------------------------------

    def _probabilities(self, message: Message) -> np.ndarray:
        blocks = self._meta.get("sparse_blocks")
        row = _sentence_features(
            message,
            self._meta["sparse_dim"],
            self._meta["dense_dim"],
            float(self._meta.get("dense_weight", 1.0)),
            [(str(origin), int(width)) for origin, width in blocks] if blocks else None,
        )
        logits = row @ self._weights + self._bias
        logits -= logits.max()
        exp = np.exp(logits)
        return exp / exp.sum()

    def process(self, messages: list[Message]) -> list[Message]:
        if self._weights is None:
            return messages
        classes: list[str] = self._meta["classes"]
        for message in messages:
            if not message.get(TEXT):
                continue
            probs = self._probabilities(message)
            by_intent: dict[str, float] = defaultdict(float)
            for label, p in zip(classes, probs, strict=True):
                by_intent[label.split("/", 1)[0]] += float(p)
            ranking = sorted(
                (
                    {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: p}
                    for name, p in by_intent.items()
                ),
                key=lambda r: -r[PREDICTED_CONFIDENCE_KEY],
            )
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(
                INTENT_RANKING_KEY,
                ranking[: int(self._config["ranking_length"])],
                add_to_output=True,
            )
            self._select_responses(message, classes, probs)
        return messages

    def _select_responses(self, message: Message, classes: list[str], probs: np.ndarray) -> None:
        """For each retrieval intent, the most likely sub-intent, shaped as ResponseSelector's."""
        retrieval_intents: list[str] = self._meta.get("retrieval_intents", [])
        if not retrieval_intents:
            return
        output: dict[str, Any] = {RESPONSE_SELECTOR_RETRIEVAL_INTENTS: retrieval_intents}
        for intent in retrieval_intents:
            members = [
                (label, float(p))
                for label, p in zip(classes, probs, strict=True)
                if label.startswith(intent + "/")
            ]
            total = sum(p for _, p in members) or 1.0
            members.sort(key=lambda item: -item[1])
            best, best_p = members[0]
            ranking = [
                {INTENT_RESPONSE_KEY: label, PREDICTED_CONFIDENCE_KEY: p / total}
                for label, p in members[: int(self._config["ranking_length"])]
            ]
            output[intent] = {
                RESPONSE_SELECTOR_PREDICTION_KEY: {
                    RESPONSE_SELECTOR_RESPONSES_KEY: self._meta["responses"].get(
                        f"utter_{best}", []
                    ),
                    PREDICTED_CONFIDENCE_KEY: best_p / total,
                    INTENT_RESPONSE_KEY: best,
                    RESPONSE_SELECTOR_UTTER_ACTION_KEY: f"utter_{best}",
                },
                RESPONSE_SELECTOR_RANKING_KEY: ranking,
            }
        message.set(RESPONSE_SELECTOR_PROPERTY_NAME, output, add_to_output=True)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
