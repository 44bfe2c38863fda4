"""Deleting a learner's data and purging expired data (knowledge/privacy.py, the tracker store in
bot/tracker_store.py, action_delete_my_data), on real stores: SQLite files and a fresh
PostgreSQL database. Conversations are written by Rasa's own SQL tracker store, so the tests also
check that knowledge.privacy's view of the `events` table matches Rasa's."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import func, select

from knowledge.db import make_engine
from knowledge.intake import IntakeRecord, list_intakes, save_intake
from knowledge.privacy import (
    ERASURE_SLOT,
    EVENTS,
    configured_stores,
    erase_conversations,
    erase_student,
    purge_expired,
    scrub_logs,
)
from tests.privacy_stores import BACKENDS, store_urls

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
SECRET = "Zorblax Quenby, zq@example.org"  # what a learner typed: must not survive a deletion


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(REPO / "bot" / "domain"))


@pytest.fixture(params=BACKENDS)
def stores(request, tmp_path, domain):
    """(Rasa tracker store with our subclass, tracker engine, operational engine, log dir)."""
    with store_urls(request.param, tmp_path) as (tracker_url, app_url):
        rasa_store = TrackerStore.create(
            EndpointConfig(url=tracker_url, type="bot.tracker_store.StackwiseTrackerStore"),
            domain,
        )
        tracker_engine, app_engine = make_engine(tracker_url), make_engine(app_url)
        log_dir = tmp_path / "logs"
        log_dir.mkdir()
        try:
            yield rasa_store, tracker_engine, app_engine, log_dir
        finally:
            rasa_store.engine.dispose()
            tracker_engine.dispose()
            app_engine.dispose()


def save(store, sender: str, events: list[Event]) -> None:
    async def _save():
        tracker = await store.retrieve(sender) or DialogueStateTracker(sender, store.domain.slots)
        for event in events:
            tracker.update(event)
        await store.save(tracker)

    asyncio.run(_save())


def retrieve(store, sender: str) -> DialogueStateTracker | None:
    return asyncio.run(store.retrieve(sender))


def turn(text: str, at: float, *slots: tuple[str, str]) -> list[Event]:
    return [
        UserUttered(text, {"name": "inform_goal", "confidence": 0.9}, timestamp=at),
        *(SlotSet(name, value, timestamp=at) for name, value in slots),
        ActionExecuted("utter_greet", timestamp=at),
        ActionExecuted("action_listen", timestamp=at),
    ]


def session(at: float) -> list[Event]:
    return [
        ActionExecuted("action_session_start", timestamp=at),
        SessionStarted(timestamp=at),
        ActionExecuted("action_listen", timestamp=at),
    ]


def event_count(engine, sender: str | None = None) -> int:
    stmt = select(func.count()).select_from(EVENTS)
    if sender is not None:
        stmt = stmt.where(EVENTS.c.sender_id == sender)
    with engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def stored_text(engine) -> str:
    with engine.connect() as conn:
        return "\n".join(conn.execute(select(EVENTS.c.data)).scalars())


def intake(app_engine, sender: str, **kw) -> str:
    return save_intake(app_engine, IntakeRecord(sender_id=sender, reason="requested", **kw))


def logs_text(log_dir: Path) -> str:
    return "".join(p.read_text() for p in sorted(log_dir.glob("*.log")))


# -- the tracker store: deletion on request ----------------------------------------------------


def test_tracker_store_saves_turns_and_deletes_every_session_on_the_marker(stores):
    store, tracker_engine, _, _ = stores
    t0 = NOW.timestamp() - 7200
    save(store, "alice", session(t0) + turn(f"I am {SECRET}", t0 + 1))
    save(store, "alice", session(t0 + 3600) + turn("I want to be a nurse", t0 + 3601))
    save(store, "bob", session(t0) + turn("hi", t0 + 1))
    assert event_count(tracker_engine, "alice") == 12  # two sessions, stored as usual
    assert len(retrieve(store, "alice").events) == 6  # Rasa replays the latest session

    save(
        store,
        "alice",
        [
            UserUttered("yes", {"name": "affirm", "confidence": 1.0}),
            ActionExecuted("action_delete_my_data"),
            SlotSet(ERASURE_SLOT, True),
            ActionExecuted("action_listen"),
        ],
    )

    assert event_count(tracker_engine, "alice") == 0
    assert SECRET not in stored_text(tracker_engine)
    assert retrieve(store, "alice") is None  # the next message starts a new conversation
    assert event_count(tracker_engine, "bob") == 6


# -- deletion by session / student ------------------------------------------------------------


def test_erase_conversation_deletes_events_intake_records_and_log_lines(stores):
    store, tracker_engine, app_engine, log_dir = stores
    t0 = NOW.timestamp()
    save(store, "conv-alice-1", session(t0) + turn(SECRET, t0 + 1))
    save(store, "conv-bob-1", session(t0) + turn("I know Excel", t0 + 1))
    intake(app_engine, "conv-alice-1", goal="nurse")
    intake(app_engine, "conv-alice-1", goal="nurse again")
    bob_record = intake(app_engine, "conv-bob-1", goal="analyst")
    (log_dir / "actions.log").write_text(
        "2026-06-01 12:00:00 INFO     actions - started\n"
        "2026-06-01 12:00:01 WARNING  actions - ignoring session metadata for conv-alice-1\n"
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1\n'
        "2026-06-01 12:00:02 WARNING  actions - ignoring session metadata for conv-bob-1\n"
        "2026-06-01 12:00:03 INFO     actions - conv-alice-10 is another conversation\n"
    )

    report = erase_conversations(
        tracker_engine=tracker_engine,
        app_engine=app_engine,
        log_dir=log_dir,
        conversation_ids=["conv-alice-1"],
    )

    assert report.to_dict() == {
        "conversations": 1,
        "tracker_events": 6,
        "intake_records": 2,
        "log_lines": 3,
    }
    assert event_count(tracker_engine, "conv-alice-1") == 0
    assert SECRET not in stored_text(tracker_engine)
    assert event_count(tracker_engine, "conv-bob-1") == 6
    assert list_intakes(app_engine, sender_id="conv-alice-1") == []
    assert [r.id for r in list_intakes(app_engine, sender_id="conv-bob-1")] == [bob_record]
    assert logs_text(log_dir).splitlines() == [
        "2026-06-01 12:00:00 INFO     actions - started",
        "2026-06-01 12:00:02 WARNING  actions - ignoring session metadata for conv-bob-1",
        "2026-06-01 12:00:03 INFO     actions - conv-alice-10 is another conversation",
    ]
    # Deleting again finds nothing.
    again = erase_conversations(
        tracker_engine=tracker_engine,
        app_engine=app_engine,
        log_dir=log_dir,
        conversation_ids=["conv-alice-1"],
    )
    assert again.to_dict() == dict.fromkeys(again.to_dict(), 0)


def test_erase_student_finds_their_conversations_by_verified_slot_and_records(stores):
    store, tracker_engine, app_engine, log_dir = stores
    t0 = NOW.timestamp()
    save(
        store,
        "st-a",
        session(t0) + turn(SECRET, t0 + 1, ("tenant", "college-a"), ("student_id", "S-1")),
    )
    save(
        store,
        "st-b",
        session(t0) + turn("hello", t0 + 1, ("tenant", "college-b"), ("student_id", "S-1")),
    )
    save(
        store,
        "st-c",
        session(t0) + turn("hello", t0 + 1, ("tenant", "college-a"), ("student_id", "S-10")),
    )
    intake(app_engine, "st-a", student_id="S-1", institution_id="college-a")
    # A record from a conversation the tracker store no longer has.
    intake(app_engine, "st-old", student_id="S-1", institution_id="college-a")
    intake(app_engine, "st-c", student_id="S-10", institution_id="college-a")

    at_a = erase_student(
        tracker_engine=tracker_engine,
        app_engine=app_engine,
        log_dir=log_dir,
        student_id="S-1",
        institution_id="college-a",
    )

    assert (at_a.conversations, at_a.intake_records) == (1, 2)
    assert event_count(tracker_engine, "st-a") == 0
    assert SECRET not in stored_text(tracker_engine)
    assert event_count(tracker_engine, "st-b") > 0  # same id at another college
    assert event_count(tracker_engine, "st-c") > 0
    assert {r.sender_id for r in list_intakes(app_engine)} == {"st-c"}

    everywhere = erase_student(
        tracker_engine=tracker_engine, app_engine=app_engine, log_dir=log_dir, student_id="S-1"
    )
    assert everywhere.conversations == 1 and event_count(tracker_engine, "st-b") == 0
    assert event_count(tracker_engine, "st-c") > 0


# -- retention ---------------------------------------------------------------------------------


def test_purge_deletes_what_is_older_than_the_retention_period(stores):
    store, tracker_engine, app_engine, log_dir = stores
    day = 86400.0
    old, recent = NOW.timestamp() - 400 * day, NOW.timestamp() - day
    save(store, "inactive", session(old) + turn(SECRET, old + 1))
    save(store, "returning", session(old) + turn("my old answers", old + 1))
    save(store, "returning", session(recent) + turn("I'm back", recent + 1))
    save(store, "fresh", session(recent) + turn("hello", recent + 1))
    old_at = (NOW - dt.timedelta(days=400)).replace(tzinfo=None)
    intake(app_engine, "inactive", created_at=old_at)
    kept = intake(app_engine, "returning")
    (log_dir / "rasa.log").write_text(
        "2025-04-01 09:00:00 INFO     rasa - a line from last year\n"
        "  continued\n"
        "[2025-04-02 09:00:00 +0000] [42] [INFO] Sanic line from last year\n"
        "2026-05-31 09:00:00 INFO     rasa - yesterday\n"
        "2026-05-31 09:00:01 WARNING  rasa - something about inactive\n"
    )

    report = purge_expired(
        tracker_engine=tracker_engine,
        app_engine=app_engine,
        log_dir=log_dir,
        older_than_days=365,
        now=NOW,
    )

    assert report.to_dict() == {
        "conversations": 1,
        "tracker_events": 12,
        "intake_records": 1,
        "log_lines": 4,
    }
    assert event_count(tracker_engine, "inactive") == 0
    assert SECRET not in stored_text(tracker_engine)
    # The returning learner's earlier session is gone; Rasa still has the current one.
    assert event_count(tracker_engine, "returning") == 6
    replayed = retrieve(store, "returning").events
    assert [e.text for e in replayed if isinstance(e, UserUttered)] == ["I'm back"]
    assert event_count(tracker_engine, "fresh") == 6
    assert [r.id for r in list_intakes(app_engine)] == [kept]
    assert logs_text(log_dir) == "2026-05-31 09:00:00 INFO     rasa - yesterday\n"


def test_purge_with_nothing_stored_creates_nothing(tmp_path, settings):
    import dataclasses

    local = dataclasses.replace(
        settings,
        var_dir=tmp_path,
        tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
    )
    with configured_stores(local) as stores:
        report = purge_expired(older_than_days=30, **stores.kwargs())
    assert report.to_dict() == dict.fromkeys(report.to_dict(), 0)
    assert list(tmp_path.iterdir()) == []


def test_purge_refuses_a_negative_period():
    with pytest.raises(ValueError, match="negative"):
        purge_expired(tracker_engine=None, app_engine=None, log_dir=None, older_than_days=-1)


def test_scrub_logs_matches_whole_ids_only(tmp_path):
    lines = ["abc", "abcdef", "x-abc", "id=abc,", "session abc done", "abc2"]
    (tmp_path / "web.log").write_text(
        "".join(f"2026-06-01 12:00:0{i} {t}\n" for i, t in enumerate(lines))
    )
    assert scrub_logs(tmp_path, ["abc"]) == 3
    assert (tmp_path / "web.log").read_text().splitlines() == [
        "2026-06-01 12:00:01 abcdef",
        "2026-06-01 12:00:02 x-abc",
        "2026-06-01 12:00:05 abc2",
    ]


# -- the learner's request ---------------------------------------------------------------------


def test_action_delete_my_data_deletes_records_and_marks_the_conversation(settings):
    import uuid

    from rasa_sdk import Tracker
    from rasa_sdk.events import SlotSet as SdkSlotSet
    from rasa_sdk.executor import CollectingDispatcher

    from actions.privacy import ActionDeleteMyData
    from knowledge.services import get_services

    app_engine = get_services().app_engine
    me, other = f"privacy-{uuid.uuid4().hex[:8]}", f"privacy-{uuid.uuid4().hex[:8]}"
    student = f"S-{uuid.uuid4().hex[:6]}"
    intake(app_engine, me, goal="nurse", student_id=student, institution_id="college-a")
    # The same signed-in student in an earlier conversation at this college: theirs too.
    intake(app_engine, f"{me}-earlier", student_id=student, institution_id="college-a")
    intake(app_engine, f"{me}-elsewhere", student_id=student, institution_id="college-b")
    intake(app_engine, other, goal="analyst")
    log = settings.var_dir / "logs" / "privacy-action-test.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"2026-06-01 12:00:00 WARNING x - about {me}\n2026-06-01 12:00:01 INFO x - ok\n")
    tracker = Tracker(
        me,
        {"student_id": student, "tenant": "college-a"},
        {"text": "yes", "intent": {"name": "affirm", "confidence": 1.0}},
        [],
        False,
        None,
        {},
        "utter_confirm_delete_my_data",
    )
    dispatcher = CollectingDispatcher()
    try:
        events = ActionDeleteMyData().run(dispatcher, tracker, {})
        remaining = {r.sender_id for r in list_intakes(app_engine)}
        assert events == [SdkSlotSet(ERASURE_SLOT, True)]
        reply = dispatcher.messages[0]["text"]
        assert "deleted this conversation" in reply and "the 2 records I saved" in reply
        # Then the signal on which the widget drops its copy of the transcript.
        assert dispatcher.messages[1]["custom"] == {"type": "conversation_deleted"}
        assert me not in remaining and f"{me}-earlier" not in remaining
        assert {f"{me}-elsewhere", other} <= remaining
        assert log.read_text() == "2026-06-01 12:00:01 INFO x - ok\n"
    finally:
        log.unlink()


# -- how `stackwise serve` wires it ------------------------------------------------------------


def test_runtime_endpoints_configure_the_stackwise_tracker_store(tmp_path, settings, domain):
    import dataclasses

    from rasa.core.utils import read_endpoints_from_path

    from bot.endpoints import write_runtime_endpoints
    from bot.tracker_store import StackwiseTrackerStore

    local = dataclasses.replace(settings, tracker_store_url=f"sqlite:///{tmp_path / 't.db'}")
    path = write_runtime_endpoints(local, "http://127.0.0.1:5999/webhook", tmp_path / "e.yml")
    endpoints = read_endpoints_from_path(path)
    assert endpoints.action.url == "http://127.0.0.1:5999/webhook"
    store = TrackerStore.create(endpoints.tracker_store, domain)
    assert isinstance(store, StackwiseTrackerStore)
    assert str(store.engine.url) == local.tracker_store_url
    store.engine.dispose()


def test_runtime_endpoints_file_is_private(tmp_path, settings):
    import dataclasses
    import stat

    from bot.endpoints import write_runtime_endpoints

    target = tmp_path / "e.yml"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o644)
    local = dataclasses.replace(settings, tracker_store_url=f"sqlite:///{tmp_path / 't.db'}")
    write_runtime_endpoints(local, "http://127.0.0.1:5999/webhook", target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "tracker_store" in target.read_text(encoding="utf-8")


def test_scheduled_purge_reports_counts_and_never_raises(tmp_path, settings, capsys):
    import dataclasses

    from bot.supervisor import scheduled_purge

    local = dataclasses.replace(
        settings,
        var_dir=tmp_path,
        tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
        retention_days=30,
    )
    scheduled_purge(local)
    assert "Retention purge (30 days): 0 conversation(s)" in capsys.readouterr().out
    broken = dataclasses.replace(local, retention_days=-1)
    scheduled_purge(broken)
    assert "Retention purge failed: ValueError" in capsys.readouterr().err
