"""The sentence featurizer and the logistic-regression intent classifier / response selector,
run as Rasa graph components on real messages (MiniLM vectors, Rasa's own n-gram featurizer)."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.intent_classifier import SentenceIntentClassifier
from bot.nlu.sentence_featurizer import SentenceEmbeddingFeaturizer

EXAMPLES = {
    "greet": ["hi", "hello there", "hey", "good morning", "hiya", "howdy"],
    "inform_budget": [
        "under $300",
        "I can spend 500 dollars",
        "no budget limit",
        "my budget is about 200",
        "free only",
        "less than a thousand bucks",
    ],
    "faq/what_is": [
        "what is a micro-credential",
        "what are microcredentials",
        "explain micro credentials to me",
        "what does micro-credential mean",
    ],
    "faq/financial_aid": [
        "can I get financial aid",
        "is there funding to pay for training",
        "does WIOA pay for this",
        "can my employer pay for it",
    ],
}


def _context(name: str) -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name=name)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    counts = CountVectorsFeaturizer.create(
        {**CountVectorsFeaturizer.get_default_config()},
        storage,
        Resource("counts"),
        _context("counts"),
    )
    featurizer = SentenceEmbeddingFeaturizer.create({}, storage, Resource("dense"), _context("d"))
    messages = []
    for label, texts in EXAMPLES.items():
        intent, _, key = label.partition("/")
        for text in texts:
            data = {"text": text, "intent": intent}
            if key:
                data["intent_response_key"] = label
            messages.append(Message(data=data))
    responses = {
        "utter_faq/what_is": [{"text": "A short, focused credential."}],
        "utter_faq/financial_aid": [{"text": "Ask about WIOA funds."}],
    }
    data = TrainingData(training_examples=messages, responses=responses)
    tokenizer.process_training_data(data)
    counts.train(data)
    counts.process_training_data(data)
    featurizer.process_training_data(data)
    resource = Resource("classifier")
    classifier = SentenceIntentClassifier.create(
        SentenceIntentClassifier.get_default_config(), storage, resource, _context("c")
    )
    classifier.train(data)

    def parse(text: str, model: SentenceIntentClassifier = classifier) -> Message:
        message = Message(data={"text": text})
        tokenizer.process([message])
        counts.process([message])
        featurizer.process([message])
        model.process([message])
        return message

    def train(resource_name: str, **config) -> SentenceIntentClassifier:
        model = SentenceIntentClassifier.create(
            {**SentenceIntentClassifier.get_default_config(), **config},
            storage,
            Resource(resource_name),
            _context("c"),
        )
        model.train(data)
        return model

    parse.train = train  # another classifier on the same featurized data
    return parse, storage, resource


def test_featurizer_adds_one_unit_vector_per_message(pipeline):
    parse, _, _ = pipeline
    message = parse("I want to learn Python")
    _, dense = message.get_dense_features("text")
    assert dense is not None and dense.features.shape == (1, 384)
    assert np.linalg.norm(dense.features) == pytest.approx(1.0, abs=1e-4)


def test_featurizer_puts_paraphrases_closer_than_unrelated_text(pipeline):
    parse, _, _ = pipeline

    def vec(text: str) -> np.ndarray:
        return parse(text).get_dense_features("text")[1].features[0]

    a, b, c = vec("how much does it cost"), vec("what is the price"), vec("I like hiking")
    assert float(a @ b) > float(a @ c)


def test_predicts_unseen_paraphrases(pipeline):
    parse, _, _ = pipeline
    assert parse("hello!").get("intent")["name"] == "greet"
    assert parse("I can pay up to 400 dollars").get("intent")["name"] == "inform_budget"


def test_retrieval_intent_confidence_is_the_sum_of_its_answers(pipeline):
    parse, _, _ = pipeline
    message = parse("what exactly is a microcredential?")
    intent = message.get("intent")
    assert intent["name"] == "faq"
    ranking = {r["name"]: r["confidence"] for r in message.get("intent_ranking")}
    assert set(ranking) == {"greet", "inform_budget", "faq"}
    assert sum(ranking.values()) == pytest.approx(1.0, abs=1e-5)
    selected = message.get("response_selector")
    assert selected["all_retrieval_intents"] == ["faq"]
    response = selected["faq"]["response"]
    assert response["intent_response_key"] == "faq/what_is"
    assert response["utter_action"] == "utter_faq/what_is"
    assert response["responses"] == [{"text": "A short, focused credential."}]


def test_other_answer_of_the_same_retrieval_intent(pipeline):
    parse, _, _ = pipeline
    selected = parse("will the government pay for my training?").get("response_selector")
    assert selected["faq"]["response"]["intent_response_key"] == "faq/financial_aid"


def test_persisted_model_predicts_the_same(pipeline):
    parse, storage, resource = pipeline
    loaded = SentenceIntentClassifier.load(
        SentenceIntentClassifier.get_default_config(), storage, resource, _context("c")
    )
    for text in ("hey there", "is there money to pay for classes", "no more than $50"):
        a, b = parse(text), parse(text, loaded)
        assert a.get("intent") == b.get("intent")
        assert a.get("response_selector") == b.get("response_selector")


def test_message_without_text_is_left_alone(pipeline):
    _, storage, resource = pipeline
    loaded = SentenceIntentClassifier.load({}, storage, resource, _context("c"))
    message = Message(data={"text": ""})
    loaded.process([message])
    assert message.get("intent") is None


def test_untrained_model_loads_and_does_nothing(tmp_path):
    storage = LocalModelStorage(tmp_path)
    model = SentenceIntentClassifier.load({}, storage, Resource("missing"), _context("c"))
    message = Message(data={"text": "hi"})
    model.process([message])
    assert message.get("intent") is None


def test_each_sparse_featurizer_is_normalized_on_its_own():
    """Word and character n-gram counts get unit length each (characters do not drown words)."""
    import scipy.sparse
    from rasa.shared.nlu.training_data.features import Features

    from bot.nlu.intent_classifier import _feature_dims, _sentence_features

    message = Message(data={"text": "take sql off"})
    words = scipy.sparse.coo_matrix(np.array([[1.0, 0.0, 1.0]]))
    chars = scipy.sparse.coo_matrix(np.array([[3.0, 1.0, 0.0, 2.0, 5.0]]))
    message.add_features(Features(words, "sentence", "text", "run_CountVectorsFeaturizer3"))
    message.add_features(Features(chars, "sentence", "text", "run_CountVectorsFeaturizer4"))
    message.add_features(
        Features(np.full((1, 4), 0.5, dtype=np.float32), "sentence", "text", "dense")
    )
    sparse_dim, dense_dim, blocks = _feature_dims(message)
    assert (sparse_dim, dense_dim) == (8, 4)
    assert blocks == [("run_CountVectorsFeaturizer3", 3), ("run_CountVectorsFeaturizer4", 5)]
    row = _sentence_features(message, sparse_dim, dense_dim, 2.0, blocks)
    assert np.linalg.norm(row[:4]) == pytest.approx(2.0)
    assert np.linalg.norm(row[4:7]) == pytest.approx(1.0)
    assert np.linalg.norm(row[7:]) == pytest.approx(1.0)
    # The same featurizers under other graph node names are matched by position and width.
    renamed = Message(data={"text": "take sql off"})
    renamed.add_features(Features(words, "sentence", "text", "a"))
    renamed.add_features(Features(chars, "sentence", "text", "b"))
    renamed.add_features(
        Features(np.full((1, 4), 0.5, dtype=np.float32), "sentence", "text", "dense")
    )
    assert np.allclose(_sentence_features(renamed, sparse_dim, dense_dim, 2.0, blocks), row)
    # Models trained before per-featurizer blocks: one block for all sparse features.
    joint = _sentence_features(message, sparse_dim, dense_dim, 2.0, None)
    assert np.linalg.norm(joint[4:]) == pytest.approx(1.0)


def test_neighbour_scores_are_each_classes_best_cosine():
    from bot.nlu.intent_classifier import SentenceIntentClassifier, _neighbour_scores

    rng = np.random.default_rng(0)
    features = rng.normal(size=(7, 6)).astype(np.float32)
    features[:, 4:] = np.where(features[:, 4:] > 0, features[:, 4:], 0)  # sparse-ish part
    labels = ["b", "a", "c", "a", "b", "b", "c"]
    rows = SentenceIntentClassifier._neighbour_rows(features, labels, ["a", "b", "c"], 4)
    query = rng.normal(size=6).astype(np.float32)
    got = _neighbour_scores(query, rows["dense"], rows["sparse"], rows["norms"], rows["starts"])
    cosine = features @ query / (np.linalg.norm(features, axis=1) * np.linalg.norm(query))
    expected = [max(cosine[i] for i, label in enumerate(labels) if label == c) for c in "abc"]
    assert np.allclose(got, expected, atol=1e-5)


def test_neighbour_vote_is_blended_into_a_distribution(pipeline):
    parse, _, _ = pipeline
    plain = parse.train("plain", neighbour_weight=0.0)
    blended = parse.train("blended", neighbour_weight=0.4)
    for text in ("hiya", "howdy friend", "is there funding to pay for training", "free only"):
        a, b = parse(text, plain), parse(text, blended)
        ranking = {r["name"]: r["confidence"] for r in b.get("intent_ranking")}
        assert sum(ranking.values()) == pytest.approx(1.0, abs=1e-5)
        assert a.get("intent")["name"] == b.get("intent")["name"]
    # A message that is one of the training examples: its closest neighbour is itself, so the
    # vote adds confidence to its class.
    a, b = parse("howdy", plain), parse("howdy", blended)
    assert b.get("intent")["name"] == "greet"
    assert b.get("intent")["confidence"] > a.get("intent")["confidence"]


def test_model_without_neighbour_rows_predicts_with_the_regression_alone(pipeline):
    """neighbour_weight 0 stores no rows (as models trained before the vote): loaded, such a
    model gives the plain regression's output."""
    parse, storage, _ = pipeline
    plain = parse.train("plain_saved", neighbour_weight=0.0)
    with storage.read_from(Resource("plain_saved")) as directory:
        stored = set(np.load(directory / "weights.npz").files)
    assert stored == {"weights", "bias"}
    loaded = SentenceIntentClassifier.load(
        SentenceIntentClassifier.get_default_config(),  # neighbour_weight 0.2 in the config
        storage,
        Resource("plain_saved"),
        _context("c"),
    )
    for text in ("hey there", "no more than $50"):
        assert parse(text, plain).get("intent") == parse(text, loaded).get("intent")
