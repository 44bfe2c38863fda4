"""The Rasa component bot.nlu.skill_extractor.SkillEntityExtractor on real Message objects."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("rasa")

from rasa.engine.graph import ExecutionContext, GraphSchema  # noqa: E402
from rasa.engine.storage.local_model_storage import LocalModelStorage  # noqa: E402
from rasa.engine.storage.resource import Resource  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402
from rasa.shared.nlu.training_data.training_data import TrainingData  # noqa: E402

from bot.nlu.skill_extractor import PATTERNS_FILE, SkillEntityExtractor  # noqa: E402


@pytest.fixture(scope="session")
def component_patterns(tmp_path_factory, settings):
    from knowledge.build import load_taxonomy, write_skill_patterns

    path = tmp_path_factory.mktemp("component") / "skill_patterns.json"
    write_skill_patterns(load_taxonomy(settings), path, "component-fp")
    return path


@pytest.fixture(scope="session")
def trained(component_patterns, tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("model-storage"))
    resource = Resource("skill_extractor")
    context = ExecutionContext(GraphSchema({}), "test-model")
    component = SkillEntityExtractor.create(
        {**SkillEntityExtractor.get_default_config(), "patterns_path": str(component_patterns)},
        storage,
        resource,
        context,
    )
    component.train(TrainingData([]))
    return component, storage, resource, context


def skills(message: Message) -> list[dict]:
    return [e for e in message.get("entities", []) if e["entity"] == "skill"]


def test_process_adds_skill_entities(trained):
    component, *_ = trained
    message = Message.build(text="I know Excel but not SQL, and I want to learn AWS")
    component.process([message])
    entities = skills(message)
    assert [(e["value"], e["role"]) for e in entities] == [
        ("Microsoft Excel", "has"),
        ("SQL", "lacks"),
        ("Amazon Web Services", "wants"),
    ]
    first = entities[0]
    assert message.get("text")[first["start"] : first["end"]] == "Excel"
    assert first["extractor"] == "SkillEntityExtractor"
    assert first["skill_id"] and first["confidence_entity"] == 1.0


def test_process_merges_without_duplicates(trained):
    component, *_ = trained
    other = {
        "entity": "credential",
        "value": "CompTIA A+",
        "start": 0,
        "end": 3,
        "extractor": "RegexEntityExtractor",
    }
    message = Message.build(text="I code in Go and Python")
    message.set("entities", [other], add_to_output=True)
    component.process([message])
    component.process([message])  # a second run must not duplicate
    entities = message.get("entities")
    assert other in entities
    assert [e["value"] for e in skills(entities_message(entities))] == ["Go", "Python"]


def entities_message(entities: list[dict]) -> Message:
    m = Message.build(text="x")
    m.set("entities", entities)
    return m


def test_process_no_skills_and_empty_text(trained):
    component, *_ = trained
    messages = [Message.build(text="I'll go to the store"), Message(data={})]
    component.process(messages)
    assert skills(messages[0]) == []
    assert messages[1].get("entities") is None


def test_persist_and_load_round_trip(trained, component_patterns, tmp_path):
    component, storage, resource, context = trained
    with storage.read_from(resource) as directory:
        stored = json.loads((directory / PATTERNS_FILE).read_text(encoding="utf-8"))
    assert stored["fingerprint"] == "component-fp"
    # The model is self-contained: loading does not need the original patterns file.
    loaded = SkillEntityExtractor.load(
        {"patterns_path": str(tmp_path / "does-not-exist.json")}, storage, resource, context
    )
    assert loaded.fingerprint == "component-fp"
    message = Message.build(text="I don't know SQL")
    loaded.process([message])
    assert [(e["value"], e["role"]) for e in skills(message)] == [("SQL", "lacks")]


def test_train_without_patterns_file_fails_clearly(tmp_path):
    storage = LocalModelStorage(tmp_path / "storage")
    component = SkillEntityExtractor.create(
        {"patterns_path": str(tmp_path / "missing.json")},
        storage,
        Resource("x"),
        ExecutionContext(GraphSchema({}), "m"),
    )
    with pytest.raises(FileNotFoundError, match="stackwise build"):
        component.train(TrainingData([]))
