"""The tracker cache of bot/tracker_store.py on real stores (an SQLite file and a fresh
PostgreSQL database): a cached tracker is handed out only while it equals what Rasa's SQL store
would rebuild from the database; anything else (another replica's turn, an admin deletion, a
turn that failed before its save, a new session, a model reload) goes back to the database."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.tracker_store import StackwiseTrackerStore
from knowledge.db import make_engine
from knowledge.privacy import ERASURE_SLOT, delete_tracker_events
from tests.privacy_stores import BACKENDS, store_urls
from tests.unit.test_privacy import REPO


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(REPO / "bot" / "domain"))


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path):
    with store_urls(request.param, tmp_path) as (tracker_url, _):
        yield tracker_url


def make_store(url: str, domain: Domain, **kwargs) -> StackwiseTrackerStore:
    store = TrackerStore.create(
        EndpointConfig(url=url, type="bot.tracker_store.StackwiseTrackerStore", **kwargs), domain
    )
    assert isinstance(store, StackwiseTrackerStore)
    return store


@pytest.fixture
def stores(url, domain):
    """Two replicas' stores on one database, and Rasa's own SQL store as the reference."""
    a, b = make_store(url, domain), make_store(url, domain)
    reference = SQLTrackerStore(domain, **_sql_kwargs(url))
    try:
        yield a, b, reference
    finally:
        for s in (a, b, reference):
            s.engine.dispose()


def _sql_kwargs(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"dialect": "sqlite", "db": url.removeprefix("sqlite:///")}
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return {
        "dialect": "postgresql",
        "host": u.host,
        "port": u.port,
        "db": u.database,
        "username": u.username,
        "password": u.password,
    }


def run(coro):
    return asyncio.run(coro)


def new_conversation(sender: str, domain: Domain) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, domain.slots)
    for event in (
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
    ):
        tracker.update(event)
    return tracker


def user_turn(tracker: DialogueStateTracker, text: str, goal: str | None = None) -> None:
    tracker.update(UserUttered(text, {"name": "inform_goal", "confidence": 0.9}))
    if goal:
        tracker.update(SlotSet("goal", goal))
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(ActionExecuted("action_listen"))


def as_stored(tracker: DialogueStateTracker | None) -> list[dict] | None:
    if tracker is None:
        return None
    return [e.as_dict() for e in tracker.events]


async def _turn(store, sender: str, text: str, goal: str | None = None) -> DialogueStateTracker:
    tracker = await store.retrieve(sender)
    user_turn(tracker, text, goal)
    await store.save(tracker)
    return tracker


def started(store, sender: str, domain: Domain, text: str = "hello") -> DialogueStateTracker:
    """A new conversation saved, then one turn on the tracker read back: the one now cached."""
    run(store.save(new_conversation(sender, domain)))
    return run(_turn(store, sender, text))


def test_cached_tracker_is_the_saved_one_and_equals_the_database(stores, domain):
    a, _, reference = stores
    first = new_conversation("s1", domain)
    run(a.save(first))
    # Not kept: the database gives the session from SessionStarted on, without the
    # action_session_start before it.
    assert run(a.retrieve("s1")) is not first
    for i in range(3):
        tracker = run(_turn(a, "s1", f"message {i}", goal=f"goal {i}"))
    cached = run(a.retrieve("s1"))
    assert cached is tracker  # served from memory, no rebuild
    assert as_stored(cached) == as_stored(run(reference.retrieve("s1")))
    assert cached.get_slot("goal") == "goal 2"
    # Nothing was written twice: the database holds each event once.
    assert len(run(reference.retrieve("s1")).events) == len(tracker.events) == 2 + 3 * 4


def test_a_turn_saved_by_another_replica_is_read_from_the_database(stores, domain):
    a, b, reference = stores
    run(a.save(new_conversation("s2", domain)))
    run(_turn(a, "s2", "on replica a"))
    run(_turn(b, "s2", "on replica b", goal="nurse"))  # a's copy is now stale
    fresh = run(a.retrieve("s2"))
    assert fresh.get_slot("goal") == "nurse"
    assert as_stored(fresh) == as_stored(run(reference.retrieve("s2")))
    run(_turn(a, "s2", "back on a"))  # and a's next save appends, without duplicates
    assert [e.text for e in run(reference.retrieve("s2")).events if e.type_name == "user"] == [
        "on replica a",
        "on replica b",
        "back on a",
    ]


def test_an_admin_deletion_is_not_undone_by_the_cache(stores, url, domain):
    a, _, reference = stores
    run(a.save(new_conversation("s3", domain)))
    run(_turn(a, "s3", "my name is Zorblax"))
    engine = make_engine(url)
    try:
        assert delete_tracker_events(engine, ["s3"]) > 0
    finally:
        engine.dispose()
    assert run(a.retrieve("s3")) is None
    assert run(reference.retrieve("s3")) is None


def test_a_turn_that_failed_before_its_save_is_not_handed_out(stores, domain):
    a, _, reference = stores
    tracker = started(a, "s4", domain, "saved")
    user_turn(tracker, "never saved")  # the turn raised before Rasa saved it
    again = run(a.retrieve("s4"))
    assert again is not tracker
    assert "never saved" not in [e.text for e in again.events if e.type_name == "user"]
    assert as_stored(again) == as_stored(run(reference.retrieve("s4")))


def test_a_new_session_is_read_back_as_the_database_gives_it(stores, domain):
    a, _, reference = stores
    tracker = started(a, "s5", domain, "first session")
    time.sleep(0.01)  # the new session's events must have later timestamps
    for event in (ActionExecuted("action_session_start"), SessionStarted()):
        tracker.update(event)
    tracker.update(ActionExecuted("action_listen"))
    run(a.save(tracker))
    again = run(a.retrieve("s5"))
    assert again is not tracker
    assert as_stored(again) == as_stored(run(reference.retrieve("s5")))
    assert "first session" not in [e.text for e in again.events if e.type_name == "user"]


def test_erasure_deletes_the_conversation_and_forgets_the_cached_tracker(stores, domain):
    a, _, reference = stores
    tracker = started(a, "s6", domain, "delete my data")
    tracker.update(SlotSet(ERASURE_SLOT, True))
    run(a.save(tracker))
    assert run(a.retrieve("s6")) is None
    assert run(reference.retrieve("s6")) is None


def test_a_model_reload_drops_cached_trackers(stores, domain):
    a, _, _ = stores
    tracker = started(a, "s7", domain, "hello")
    assert run(a.retrieve("s7")) is tracker
    a.domain = Domain.load(str(REPO / "bot" / "domain"))
    assert run(a.retrieve("s7")) is not tracker


def test_the_cache_is_bounded_and_can_be_turned_off(url, domain):
    small = make_store(url, domain, cache_size=2)
    off = make_store(url, domain, cache_size=0)
    try:
        trackers = []
        for i in range(3):
            run(small.save(new_conversation(f"c{i}", domain)))
            trackers.append(run(_turn(small, f"c{i}", "hello")))
        assert run(small.retrieve("c0")) is not trackers[0]  # evicted, rebuilt from the database
        assert run(small.retrieve("c2")) is trackers[2]
        run(off.save(new_conversation("c9", domain)))
        t = run(_turn(off, "c9", "hello"))
        assert run(off.retrieve("c9")) is not t
        assert as_stored(run(off.retrieve("c9"))) == as_stored(t)
    finally:
        small.engine.dispose()
        off.engine.dispose()


def test_rows_are_written_as_rasas_sql_store_writes_them(stores, domain):
    a, _, reference = stores
    source = new_conversation("source", domain)
    user_turn(source, "I want to be a nurse", goal="nurse")
    ours, theirs = (DialogueStateTracker(s, domain.slots) for s in ("r-ours", "r-rasa"))
    for t in (ours, theirs):
        for event in source.events:  # the same events, timestamps included
            t.update(event)
    run(a.save(ours))
    run(reference.save(theirs))
    columns = ("type_name", "timestamp", "intent_name", "action_name", "data")
    with reference.engine.connect() as conn:
        table = reference.SQLEvent.__table__
        rows = {
            sender: [
                tuple(r)
                for r in conn.execute(
                    sa.select(*(table.c[c] for c in columns))
                    .where(table.c.sender_id == sender)
                    .order_by(table.c.id)
                )
            ]
            for sender in ("r-ours", "r-rasa")
        }
    assert rows["r-ours"] == rows["r-rasa"] and len(rows["r-ours"]) == len(ours.events)
    assert ("user", "inform_goal") in {(r[0], r[2]) for r in rows["r-ours"]}
