"""`serve --scaled` refuses settings that cannot work; failed messages get a clear answer."""

from __future__ import annotations

import dataclasses

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import LockError
from sqlalchemy.exc import OperationalError

from bot.channels import (
    ERROR_TEXT,
    NO_REPLY_TEXT,
    STORE_DOWN_TEXT,
    answering_failures,
    store_outage,
)
from bot.scaled import ScaledConfigError, check_settings
from knowledge.config import Scaling

PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/x"


def scaled(settings, **changes):
    values = {
        "database_url": PG,
        "app_database_url": PG,
        "tracker_store_url": PG,
        "scaling": Scaling(lock_store_url="redis://127.0.0.1:6379/0"),
    }
    return dataclasses.replace(settings, **(values | changes))


def test_scaled_needs_postgres_and_a_lock_store(settings):
    check_settings(scaled(settings))
    with pytest.raises(ScaledConfigError, match="STACKWISE_TRACKER_STORE_URL"):
        check_settings(scaled(settings, tracker_store_url="sqlite:///var/tracker.db"))
    with pytest.raises(ScaledConfigError, match="STACKWISE_DATABASE_URL"):
        check_settings(scaled(settings, database_url="sqlite:///var/stackwise.db"))
    with pytest.raises(ScaledConfigError, match="STACKWISE_LOCK_STORE_URL"):
        check_settings(scaled(settings, scaling=Scaling()))


def test_scaling_settings_from_the_environment(monkeypatch):
    from knowledge.config import _scaling

    monkeypatch.setenv("STACKWISE_LOCK_STORE_URL", "redis://h:1/2")
    monkeypatch.setenv("STACKWISE_RASA_REPLICAS", "3")
    monkeypatch.delenv("STACKWISE_LOCAL_RASA_PROCESSES", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert _scaling() == Scaling("redis://h:1/2", 10, 3, 2, local_rasa_processes=2)
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert _scaling().local_rasa_processes == 1  # one core: one Rasa process
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert _scaling().local_rasa_processes == 2  # at most two by default
    monkeypatch.setenv("STACKWISE_LOCAL_RASA_PROCESSES", "3")
    assert _scaling().local_rasa_processes == 3
    monkeypatch.setenv("STACKWISE_ACTION_SERVERS", "0")
    with pytest.raises(ValueError, match="STACKWISE_ACTION_SERVERS"):
        _scaling()


def test_store_outages_are_recognised():
    down = OperationalError("SELECT 1", {}, Exception("could not connect to server"))
    assert store_outage(down) == "conversation database (tracker store)"
    try:
        try:
            raise down
        except OperationalError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as wrapped:
        assert store_outage(wrapped) == "conversation database (tracker store)"
    assert store_outage(LockError("no lock")) == "Redis (lock store)"
    assert store_outage(ValueError("bug")) is None


async def test_a_failed_message_is_answered():
    async def fails_with(exc):
        async def on_new_message(_message):
            raise exc

        out = CollectingOutputChannel()
        await answering_failures(on_new_message)(UserMessage("hi", out, "s1"))
        return [m["text"] for m in out.messages]

    assert await fails_with(OperationalError("x", {}, Exception("gone"))) == [STORE_DOWN_TEXT]
    assert await fails_with(KeyError("bug")) == [ERROR_TEXT]

    async def works(message):  # Rasa's processor sends every bot message through send_response
        await message.output_channel.send_response(message.sender_id, {"text": "hello"})

    out = CollectingOutputChannel()
    await answering_failures(works)(UserMessage("hi", out, "s1"))
    assert [m["text"] for m in out.messages] == ["hello"]

    async def silent(_message):  # e.g. a fallback with nothing to say: never an empty reply
        return None

    out = CollectingOutputChannel()
    await answering_failures(silent)(UserMessage("hi", out, "s1"))
    assert [m["text"] for m in out.messages] == [NO_REPLY_TEXT]


async def test_tracker_store_errors_are_raised_not_papered_over(tmp_path, monkeypatch):
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    from bot.rasa_patches import strict_tracker_store

    # Undone after the test: the patch is meant for the Rasa process only.
    monkeypatch.setattr(Agent, "_create_tracker_store", Agent.__dict__["_create_tracker_store"])
    monkeypatch.setattr(Agent, "_stackwise_strict", False, raising=False)
    strict_tracker_store()
    store = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.db"))
    failsafe = Agent._create_tracker_store(store, Domain.empty())
    assert store.engine.pool._pre_ping  # connections are tested before use

    async def down(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, Exception("could not connect to server"))

    monkeypatch.setattr(store, "retrieve", down)
    with pytest.raises(OperationalError):
        await failsafe.retrieve("someone")  # Rasa's own wrapper would return None: "new"
