"""Rasa's SQL tracker store, with deletion on request and an in-process tracker cache.

`stackwise serve` configures Rasa with this store (bot/endpoints.py): an SQLite file under
``var/`` by default, PostgreSQL when ``STACKWISE_TRACKER_STORE_URL`` says so.

Deletion on request. Rasa saves a tracker at the end of every turn by appending the events it
has not stored yet. So deleting rows from inside an action is not enough: the end-of-turn save
would write the whole conversation back. Instead ``action_delete_my_data`` sets the slot
``data_deleted`` (knowledge.privacy.ERASURE_SLOT) once it has deleted the learner's intake
records, and this store, seeing that event among the new ones, deletes every stored event of
the conversation (all sessions) and saves nothing of the turn. The next message starts a new
conversation.

Cache. Rasa's SQL store rebuilds the tracker from every stored event of the session at the start
of each turn (query, ``json.loads`` and replay of each event) and counts the stored events again
before each save: together ~30% of the Rasa server's CPU per message under load. This store keeps
the tracker it last saved for a conversation and hands it out again only while it is provably
what the database would give: the tracker holds exactly the events that were saved (a turn that
failed before its save left events in it: discarded), and the conversation's newest stored event
id is still the one this process wrote (another replica, an admin deletion or the retention
purge changed it: discarded). One indexed ``max(id)`` query per turn replaces the rebuild.
Every turn is still written to the database before the reply is sent.

Engine. Rasa creates its engine without ``pool_pre_ping`` (the first message after a database
outage would fail on a dead pooled connection), and on SQLite with SQLAlchemy 1.4's file default,
``NullPool``: a new connection, opened and closed, for every query (~15% of Rasa's CPU per
message). This store replaces it: pooled (connections to a database server pinged before use),
and SQLite in WAL mode (readers don't block the writer) with ``synchronous=NORMAL``, which in WAL mode is durable across process crashes
and restarts and skips the per-commit fsync that stalled every conversation on the event loop.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from knowledge.db import SQLITE_CONNECT_ARGS, sqlite_pragmas
from knowledge.privacy import ERASURE_SLOT, delete_tracker_events

logger = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 1000


def pinged_engine(url: str) -> sa.engine.Engine:
    """Rasa's engine for ``url`` (its pool options), testing pooled connections before use."""
    from rasa.core.tracker_store import create_engine_kwargs

    return sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))


def tracker_engine(url: str) -> sa.engine.Engine:
    """The tracker store's engine: Rasa's options plus pre-ping; SQLite pooled and in WAL mode."""
    if not url.startswith("sqlite"):
        return pinged_engine(url)
    # Rasa serves from one thread; the pool hands a connection to one session at a time. No
    # pre-ping: a connection to a local file has no server that could have dropped it.
    engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, connect_args=SQLITE_CONNECT_ARGS)
    return sqlite_pragmas(engine, "journal_mode=WAL", "synchronous=NORMAL")


def replace_engine(store: SQLTrackerStore, engine: sa.engine.Engine) -> None:
    """Swap the engine Rasa's SQL store made for ``engine`` (same database)."""
    store.engine.dispose()
    store.engine = engine
    store.sessionmaker = sa.orm.session.sessionmaker(bind=engine)


def erasure_requested(events: list[Event]) -> bool:
    return any(isinstance(e, SlotSet) and e.key == ERASURE_SLOT and e.value for e in events)


@dataclass
class _Saved:
    """A tracker as this process last saved it."""

    tracker: DialogueStateTracker
    stored: int  # len(tracker.events) when it was saved: every one of them is in the database
    last_id: int | None  # the conversation's newest event id after that save
    domain: Any  # the domain it was built with (a model reload invalidates it)


class StackwiseTrackerStore(SQLTrackerStore):
    """``type: bot.tracker_store.StackwiseTrackerStore`` with ``url:`` a database URL and an
    optional ``cache_size`` (trackers kept in memory; 0 turns the cache off)."""

    def __init__(self, *args: Any, cache_size: int = DEFAULT_CACHE_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        replace_engine(self, tracker_engine(self.engine.url.render_as_string(hide_password=False)))
        self.cache_size = max(0, int(cache_size))
        self._saved: OrderedDict[str, _Saved] = OrderedDict()

    # --- reading -------------------------------------------------------------------------------

    def _last_event_id_query(self) -> Any:
        # Plain SQL: an ORM select re-derives its cache key on every run (~5% of Rasa's CPU).
        table = self.SQLEvent.__tablename__
        return sa.text(f"SELECT max(id) FROM {table} WHERE sender_id = :sender_id")

    def _last_event_id(self, sender_id: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(self._last_event_id_query(), {"sender_id": sender_id}).scalar()

    def _fresh(self, sender_id: str) -> _Saved | None:
        saved = self._saved.get(sender_id)
        if saved is None:
            return None
        if (
            len(saved.tracker.events) != saved.stored
            or saved.domain is not self.domain
            or self._last_event_id(sender_id) != saved.last_id
        ):
            del self._saved[sender_id]
            return None
        self._saved.move_to_end(sender_id)
        return saved

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        saved = self._fresh(sender_id)
        if saved is not None:
            return saved.tracker
        return await super().retrieve(sender_id)

    # --- writing -------------------------------------------------------------------------------

    def _unsaved_events(self, session: Any, tracker: DialogueStateTracker) -> list[Event]:
        saved = self._saved.get(tracker.sender_id)
        if saved is not None and saved.tracker is tracker:
            return list(tracker.events)[saved.stored :]
        return list(self._additional_events(session, tracker))

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        with self.session_scope() as session:
            new_events = self._unsaved_events(session, tracker)
            if erasure_requested(new_events):
                self._saved.pop(tracker.sender_id, None)
                deleted = delete_tracker_events(self.engine, [tracker.sender_id])
                # Counts only: no conversation id in the logs.
                logger.info("conversation deleted on request (%d stored events)", deleted)
                return
            last_id = None
            if new_events:
                # One multi-row INSERT (Rasa adds ORM objects one by one), same columns and data.
                rows = [_row(tracker.sender_id, event) for event in new_events]
                session.execute(self.SQLEvent.__table__.insert(), rows)
                # The conversation is locked to this turn: its newest id is the one just written.
                last_id = session.execute(
                    self._last_event_id_query(), {"sender_id": tracker.sender_id}
                ).scalar()
            session.commit()
        self._remember(tracker, last_id)

    def _remember(self, tracker: DialogueStateTracker, last_id: int | None) -> None:
        sender_id = tracker.sender_id
        previous = self._saved.get(sender_id)
        if last_id is None:  # nothing new was written
            last_id = previous.last_id if previous and previous.tracker is tracker else None
        if self.cache_size == 0 or last_id is None or not _as_database_gives_it(tracker):
            self._saved.pop(sender_id, None)
            return
        self._saved[sender_id] = _Saved(tracker, len(tracker.events), last_id, self.domain)
        self._saved.move_to_end(sender_id)
        while len(self._saved) > self.cache_size:
            self._saved.popitem(last=False)


def _row(sender_id: str, event: Event) -> dict[str, Any]:
    """An ``events`` row exactly as ``SQLTrackerStore.save`` writes it."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def _as_database_gives_it(tracker: DialogueStateTracker) -> bool:
    """Whether the SQL store would rebuild exactly these events: it returns the stored events
    whose timestamp is at or after the latest ``SessionStarted`` (``SQLTrackerStore._event_query``).
    A new conversation's first turn (its ``action_listen`` and ``action_session_start`` come before
    ``SessionStarted``) and a turn that began a new session hold events it would leave out."""
    starts = [e.timestamp for e in tracker.events if isinstance(e, SessionStarted)]
    if not starts:
        return True
    latest = max(starts)
    return all(e.timestamp >= latest for e in tracker.events)
