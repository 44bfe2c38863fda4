"""Fast 5-fold cross-validation of the intent classifier, for trying changes (~1.5 min a seed).

`python -m bench.nlu_fast_cv [--seeds 0 1 2] [--set KEY=VALUE] [--errors PATH]`

What `bench.nlu_cv` (`rasa test nlu --cross-validation`) measures, without its cost: the data
is loaded with Rasa's loader, split with the same stratified 5-fold split (but seeded, so runs
compare), tokenized with Rasa's WhitespaceTokenizer once, MiniLM vectors are computed once for
all messages, and per fold only the n-gram featurizers (Rasa's CountVectorsFeaturizer, word and
char_wb as in config.yml) and `SentenceIntentClassifier` are trained. Scored like `rasa test`:
the top-level intent (faq/* and chitchat/* count as faq and chitchat), all folds' predictions
pooled, macro F1 over intents. Also reported: how many correct and wrong predictions fall under
the FallbackClassifier threshold (0.25 on the top intent, or within 0.05 of the second).

The classifier's settings come from config.yml; `--set KEY=VALUE` overrides one (e.g.
`--set C=60`, `--set neighbour_weight=0`). `--errors` writes the misclassified messages as JSON
lines. Its figures sit a little apart from `rasa test`'s (other folds; `rasa test` encodes test
messages one at a time): compare changes here, confirm with `bench.nlu_cv`.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
FALLBACK_THRESHOLD = 0.25
AMBIGUITY_THRESHOLD = 0.05


def _pipeline_config(name: str) -> dict[str, Any]:
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    for item in config["pipeline"]:
        if item["name"].endswith(name):
            return {k: v for k, v in item.items() if k != "name"}
    return {}


def _count_featurizer_configs() -> list[dict[str, Any]]:
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    return [
        {k: v for k, v in item.items() if k != "name"}
        for item in config["pipeline"]
        if item["name"] == "CountVectorsFeaturizer"
    ]


def load_examples(nlu: Path = ROOT / "data" / "nlu") -> tuple[list[Any], dict[str, Any]]:
    """Intent examples (tokenized, with their MiniLM sentence vector) and the responses."""
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.training_data.loading import load_data

    from bot.nlu.sentence_featurizer import shared_encoder

    data = load_data(str(nlu))
    examples = list(data.intent_examples)
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process_training_data(data)
    vectors = shared_encoder().encode([e.get("text") for e in examples])
    for example, vector in zip(examples, vectors, strict=True):
        example.set("_minilm", vector)
    return examples, dict(data.responses)


def _fresh(message: Any) -> Any:
    """A copy of the message without features, with its MiniLM vector as the dense feature."""
    from rasa.shared.nlu.training_data.features import Features

    out = copy.copy(message)
    out.data = dict(message.data)
    out.features = []
    out.output_properties = set(message.output_properties)
    vector = message.get("_minilm")[None, :].astype(np.float32)
    out.add_features(Features(vector, "sentence", "text", "SentenceEmbeddingFeaturizer"))
    return out


def folds(
    examples: list[Any], responses: dict[str, Any], seed: int, storage: Any, n: int = 5
) -> Iterator[tuple[Any, list[Any]]]:
    """(training data, test messages) per fold, each featurized by n-gram featurizers trained on
    that fold's training part, as Rasa's pipeline would."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
        CountVectorsFeaturizer,
    )
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    labels = [e.get_full_intent() for e in examples]
    split = StratifiedKFold(n_splits=n, shuffle=True, random_state=seed)
    for i, (train_idx, test_idx) in enumerate(split.split(examples, labels)):
        train = TrainingData(
            training_examples=[_fresh(examples[j]) for j in train_idx], responses=responses
        )
        test = [_fresh(examples[j]) for j in test_idx]
        for k, extra in enumerate(_count_featurizer_configs()):
            name = f"run_CountVectorsFeaturizer{k}"
            featurizer = CountVectorsFeaturizer.create(
                {**CountVectorsFeaturizer.get_default_config(), **extra},
                storage,
                Resource(f"{name}_{seed}_{i}"),
                ExecutionContext(GraphSchema({}), node_name=name),
            )
            featurizer.train(train)
            featurizer.process_training_data(train)
            featurizer.process(test)
        yield train, test


def evaluate(
    examples: list[Any],
    responses: dict[str, Any],
    seed: int,
    storage: Any,
    overrides: dict[str, Any] | None = None,
    classifier_cls: Any = None,
) -> dict[str, Any]:
    """Train `SentenceIntentClassifier` per fold and score its top-level predictions."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.resource import Resource
    from sklearn.metrics import f1_score

    from bot.nlu.intent_classifier import SentenceIntentClassifier

    cls = classifier_cls or SentenceIntentClassifier
    config = {**cls.get_default_config(), **_pipeline_config("SentenceIntentClassifier")}
    config.update(overrides or {})
    truth: list[str] = []
    predicted: list[str] = []
    rows: list[dict[str, Any]] = []
    fell_back = {True: 0, False: 0}
    for i, (train, test) in enumerate(folds(examples, responses, seed, storage)):
        model = cls.create(
            config,
            storage,
            Resource(f"classifier_{seed}_{i}"),
            ExecutionContext(GraphSchema({}), node_name="classifier"),
        )
        model.train(train)
        model.process(test)
        for message in test:
            ranking = message.get("intent_ranking")
            top = ranking[0]
            second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
            gold = message.get("_gold")  # "intent" now holds the prediction
            correct = top["name"] == gold
            if (
                top["confidence"] < FALLBACK_THRESHOLD
                or top["confidence"] - second < AMBIGUITY_THRESHOLD
            ):
                fell_back[correct] += 1
            truth.append(gold)
            predicted.append(top["name"])
            if not correct:
                rows.append(
                    {
                        "text": message.get("text"),
                        "intent": gold,
                        "predicted": top["name"],
                        "confidence": round(top["confidence"], 3),
                        "seed": seed,
                    }
                )
    n_correct = sum(t == p for t, p in zip(truth, predicted, strict=True))
    n_wrong = len(truth) - n_correct
    labels = sorted(set(truth))
    per_intent = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
    return {
        "seed": seed,
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "accuracy": n_correct / len(truth),
        "per_intent": dict(zip(labels, (float(f) for f in per_intent), strict=True)),
        "fallback_correct": fell_back[True] / max(n_correct, 1),
        "fallback_wrong": fell_back[False] / max(n_wrong, 1),
        "errors": rows,
    }


def run(
    seeds: list[int],
    overrides: dict[str, Any] | None = None,
    classifier_cls: Any = None,
    examples: tuple[list[Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    items, responses = examples or load_examples()
    for example in items:
        example.set("_gold", example.get("intent"))
    with tempfile.TemporaryDirectory(prefix="nlu_fast_cv_") as tmp:
        storage = LocalModelStorage(Path(tmp))
        results = [evaluate(items, responses, s, storage, overrides, classifier_cls) for s in seeds]
    intents = results[0]["per_intent"].keys()
    return {
        "seeds": seeds,
        "macro_f1": float(np.mean([r["macro_f1"] for r in results])),
        "macro_f1_per_seed": [round(r["macro_f1"], 4) for r in results],
        "accuracy": float(np.mean([r["accuracy"] for r in results])),
        "fallback_correct": float(np.mean([r["fallback_correct"] for r in results])),
        "fallback_wrong": float(np.mean([r["fallback_wrong"] for r in results])),
        "per_intent": {
            k: float(np.mean([r["per_intent"].get(k, 0.0) for r in results])) for k in intents
        },
        "errors": [row for r in results for row in r["errors"]],
    }


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--errors", type=Path, help="write misclassified messages (JSON lines)")
    args = parser.parse_args(argv)
    overrides = {k: _value(v) for k, _, v in (s.partition("=") for s in args.set)}
    started = time.perf_counter()
    result = run(args.seeds, overrides)
    if args.errors:
        args.errors.write_text(
            "".join(json.dumps(row) + "\n" for row in result["errors"]), encoding="utf-8"
        )
    weakest = sorted(result["per_intent"].items(), key=lambda kv: kv[1])[:6]
    summary = {
        "macro_f1": round(result["macro_f1"], 4),
        "per_seed": result["macro_f1_per_seed"],
        "accuracy": round(result["accuracy"], 4),
        "fallback_correct": round(result["fallback_correct"], 4),
        "fallback_wrong": round(result["fallback_wrong"], 4),
        "weakest": {k: round(v, 3) for k, v in weakest},
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
