"""Rasa 3.6 intent classifier and response selector in one: logistic regression over the
message's sentence features (MiniLM meaning + word and character n-gram counts, each featurizer's
block scaled to unit length on its own), blended with a nearest-neighbour vote.

config.yml::

    - name: bot.nlu.intent_classifier.SentenceIntentClassifier
      C: 120.0
      dense_weight: 2.0
      neighbour_weight: 0.2
      neighbour_temperature: 0.03

Nearest neighbours: the model keeps the training messages' feature rows; for a new message each
class scores the cosine similarity of its closest training example (in the same feature space
the regression sees), a softmax over those scores at ``neighbour_temperature`` gives a second
distribution, and the output is ``(1 - neighbour_weight) * regression + neighbour_weight *
neighbours``. The regression weighs every word and n-gram over whole classes; the neighbour
vote lets a message that is nearly one known example (a short farewell, a slang reply) follow
that example when its words lean towards another class. Both are distributions, so the blend is
one too and the FallbackClassifier thresholds still apply to it. ``neighbour_weight: 0`` turns
it off; models trained before it existed predict with the regression alone.

Why not DIET: on this 2-core target DIET and ResponseSelector took ~80 s to load (TensorFlow graph
tracing) and cross-validated worse on our data than a linear model over a pretrained sentence
encoder. This model loads in milliseconds and predicts in well under a millisecond (the neighbour
vote is one product with the ~2,000 stored rows, ~0.15 ms).

Retrieval intents (``faq/what_is``, ``chitchat/ask_name``) are classes of their own; the top-level
intent's confidence is the sum over its sub-intents, and the best sub-intent is written as the
``response_selector`` output that Rasa's ``utter_faq`` / ``utter_chitchat`` actions read, in the
same shape as Rasa's ``ResponseSelector`` writes it.

The trained weights and neighbour rows are stored as plain numpy arrays (no pickle).
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


def _neighbour_scores(
    row: np.ndarray,
    dense: np.ndarray,
    sparse: scipy.sparse.csr_matrix,
    norms: np.ndarray,
    starts: np.ndarray,
) -> np.ndarray:
    """Per class, the cosine similarity of ``row`` to that class's closest training row.

    The training rows are stored split in their dense part (``dense``: the MiniLM columns) and
    their sparse part (``sparse``: the n-gram columns), sorted by class; class ``k``'s rows start
    at ``starts[k]``."""
    dense_dim = dense.shape[1]
    sims = dense @ row[:dense_dim] + sparse @ row[dense_dim:]
    norm = float(np.linalg.norm(row))
    sims = sims / (norms * norm) if norm > 0 else np.zeros_like(sims)
    return np.maximum.reduceat(sims, starts)


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max()
    exp = np.exp(scores)
    return exp / exp.sum()


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
            # Share of the nearest-neighbour vote in the output, and its softmax temperature.
            "neighbour_weight": 0.2,
            "neighbour_temperature": 0.03,
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
        neighbours: dict[str, Any] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._weights = weights  # (n_features, n_classes)
        self._bias = bias  # (n_classes,)
        self._meta = meta or {}
        # Training rows for the neighbour vote: dense, sparse, norms, starts (see
        # _neighbour_scores); None when the vote is off or the model predates it.
        self._neighbours = neighbours

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
        neighbour_weight = float(self._config["neighbour_weight"])
        self._neighbours = (
            self._neighbour_rows(features, labels, [str(c) for c in model.classes_], dense_dim)
            if neighbour_weight > 0
            else None
        )
        self._meta = {
            "classes": [str(c) for c in model.classes_],
            "sparse_dim": sparse_dim,
            "dense_dim": dense_dim,
            "dense_weight": weight,
            "neighbour_weight": neighbour_weight,
            "neighbour_temperature": float(self._config["neighbour_temperature"]),
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

    @staticmethod
    def _neighbour_rows(
        features: np.ndarray, labels: list[str], classes: list[str], dense_dim: int
    ) -> dict[str, Any]:
        """The training rows sorted by class (``classes`` order), split for _neighbour_scores."""
        index = {c: k for k, c in enumerate(classes)}
        codes = np.array([index[label] for label in labels])
        order = np.argsort(codes, kind="stable")
        rows = features[order]
        return {
            "dense": np.ascontiguousarray(rows[:, :dense_dim], dtype=np.float32),
            "sparse": scipy.sparse.csr_matrix(rows[:, dense_dim:], dtype=np.float32),
            "norms": np.maximum(np.linalg.norm(rows, axis=1), 1e-12).astype(np.float32),
            "starts": np.searchsorted(codes[order], np.arange(len(classes))),
        }

    def persist(self) -> None:
        arrays: dict[str, np.ndarray] = {"weights": self._weights, "bias": self._bias}
        if self._neighbours is not None:
            sparse = self._neighbours["sparse"]
            arrays.update(
                neighbour_dense=self._neighbours["dense"],
                neighbour_data=sparse.data,
                neighbour_indices=sparse.indices,
                neighbour_indptr=sparse.indptr,
                neighbour_norms=self._neighbours["norms"],
                neighbour_starts=self._neighbours["starts"],
            )
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(directory / WEIGHTS_FILE, **arrays)
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
                neighbours = None
                if "neighbour_dense" in arrays:
                    dense = arrays["neighbour_dense"]
                    sparse = scipy.sparse.csr_matrix(
                        (
                            arrays["neighbour_data"],
                            arrays["neighbour_indices"],
                            arrays["neighbour_indptr"],
                        ),
                        shape=(dense.shape[0], int(meta["sparse_dim"])),
                    )
                    neighbours = {
                        "dense": dense,
                        "sparse": sparse,
                        "norms": arrays["neighbour_norms"],
                        "starts": arrays["neighbour_starts"],
                    }
                return cls(
                    config,
                    model_storage,
                    resource,
                    arrays["weights"],
                    arrays["bias"],
                    meta,
                    neighbours,
                )
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
        probs = _softmax(row @ self._weights + self._bias)
        share = float(self._meta.get("neighbour_weight", 0.0))
        if self._neighbours is None or share <= 0:
            return probs
        scores = _neighbour_scores(
            row,
            self._neighbours["dense"],
            self._neighbours["sparse"],
            self._neighbours["norms"],
            self._neighbours["starts"],
        )
        votes = _softmax(scores / float(self._meta["neighbour_temperature"]))
        return (1.0 - share) * probs + share * votes

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
