"""Deleting a learner's data, and purging data past the retention period.

What is personal, and where it is:

- conversation events (what the learner typed, slots such as skills, goal, budget, tenant and
  student id): Rasa's tracker store, table ``events`` (``STACKWISE_TRACKER_STORE_URL``);
- intake records for advisers: the operational DB, table ``intake_records``
  (``STACKWISE_APP_DATABASE_URL``);
- log files (``var/logs/*.log``): they must hold no message text or personal fields, but a line
  may name a conversation id; such lines go with the conversation.

Every function takes engines or paths as arguments and connects to nothing at import time. The
``events`` table is declared here with the columns Rasa's ``SQLTrackerStore`` uses (Rasa 3.6), so
this module does not import Rasa.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    inspect,
    or_,
    select,
)
from sqlalchemy.engine import Engine

from knowledge.config import Settings
from knowledge.db import make_engine
from knowledge.intake import IntakeRecordRow

# Set by `action_delete_my_data` once it has deleted the learner's records: the tracker store
# (bot/tracker_store.py) then deletes the conversation's events instead of saving the turn.
ERASURE_SLOT = "data_deleted"

EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
INTAKES = IntakeRecordRow.__table__

# A log line that starts with a date: Rasa and the action server ("2026-05-01 10:00:00 INFO ..."),
# Sanic ("[2026-05-01 10:00:00 +0000] [123] [INFO] ..."). Lines without one (tracebacks) belong
# to the dated line above them.
_LOG_DATE = re.compile(r"^\[?(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}:\d{2}")
_ID_EDGE = r"[A-Za-z0-9_.:\-]"


@dataclass
class ErasureReport:
    """What was deleted (counts only: a report is printed and logged)."""

    conversations: int = 0
    tracker_events: int = 0
    intake_records: int = 0
    log_lines: int = 0

    def __add__(self, other: ErasureReport) -> ErasureReport:
        return ErasureReport(
            **{k: v + getattr(other, k) for k, v in asdict(self).items()},
        )

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.conversations} conversation(s), {self.tracker_events} tracker event(s), "
            f"{self.intake_records} intake record(s), {self.log_lines} log line(s)"
        )


def _has_table(engine: Engine | None, name: str) -> bool:
    return engine is not None and inspect(engine).has_table(name)


# --- tracker events ---------------------------------------------------------------------------


def conversation_exists(tracker_engine: Engine, sender_id: str) -> bool:
    if not _has_table(tracker_engine, "events"):
        return False
    with tracker_engine.connect() as conn:
        stmt = select(EVENTS.c.id).where(EVENTS.c.sender_id == sender_id).limit(1)
        return conn.execute(stmt).first() is not None


def delete_tracker_events(tracker_engine: Engine, sender_ids: Iterable[str]) -> int:
    """Delete every stored event (all sessions) of these conversations; returns the count."""
    ids = sorted(set(sender_ids))
    if not ids or not _has_table(tracker_engine, "events"):
        return 0
    deleted = 0
    with tracker_engine.begin() as conn:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            deleted += conn.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(chunk))).rowcount
    return deleted


def _slot_values(tracker_engine: Engine, slot: str) -> dict[str, set[str]]:
    """sender id -> every value the slot was ever set to in that conversation."""
    stmt = select(EVENTS.c.sender_id, EVENTS.c.data).where(
        EVENTS.c.type_name == "slot", EVENTS.c.data.contains(f'"{slot}"')
    )
    found: dict[str, set[str]] = {}
    with tracker_engine.connect() as conn:
        for sender_id, data in conn.execute(stmt):
            try:
                event = json.loads(data or "{}")
            except ValueError:
                continue
            if event.get("name") == slot and isinstance(event.get("value"), str):
                found.setdefault(sender_id, set()).add(event["value"])
    return found


def conversations_of_student(
    tracker_engine: Engine | None, student_id: str, institution_id: str | None = None
) -> set[str]:
    """Conversations where the verified slot ``student_id`` (and ``tenant``, if given) was set."""
    if not _has_table(tracker_engine, "events"):
        return set()
    senders = {s for s, v in _slot_values(tracker_engine, "student_id").items() if student_id in v}
    if institution_id is not None and senders:
        tenants = _slot_values(tracker_engine, "tenant")
        senders = {s for s in senders if institution_id in tenants.get(s, set())}
    return senders


def _expired_tracker_events(tracker_engine: Engine, cutoff: float) -> tuple[set[str], int]:
    """Delete events older than ``cutoff`` (epoch seconds) that Rasa no longer replays: every
    event of a conversation inactive since then, and older sessions of active ones (Rasa
    rebuilds a tracker from its latest session only). Returns (conversations gone, events)."""
    if not _has_table(tracker_engine, "events"):
        return set(), 0
    other = EVENTS.alias("other")
    last_event = (
        select(func.max(other.c.timestamp))
        .where(other.c.sender_id == EVENTS.c.sender_id)
        .scalar_subquery()
    )
    last_session = (
        select(func.max(other.c.timestamp))
        .where(other.c.sender_id == EVENTS.c.sender_id, other.c.type_name == "session_started")
        .scalar_subquery()
    )
    inactive = (
        select(EVENTS.c.sender_id)
        .group_by(EVENTS.c.sender_id)
        .having(func.max(EVENTS.c.timestamp) < cutoff)
    )
    with tracker_engine.begin() as conn:
        gone = set(conn.scalars(inactive))
        deleted = conn.execute(
            delete(EVENTS).where(
                EVENTS.c.timestamp < cutoff,
                or_(last_event < cutoff, EVENTS.c.timestamp < last_session),
            )
        ).rowcount
    return gone, deleted


# --- intake records ---------------------------------------------------------------------------


def delete_intake_records(
    app_engine: Engine,
    *,
    sender_ids: Iterable[str] = (),
    student_id: str | None = None,
    institution_id: str | None = None,
) -> tuple[set[str], int]:
    """Delete the intake records of these conversations, and of this student (at this
    institution, when given). Returns (the records' conversation ids, count)."""
    if not _has_table(app_engine, INTAKES.name):
        return set(), 0
    conditions = []
    ids = sorted(set(sender_ids))
    if ids:
        conditions.append(INTAKES.c.sender_id.in_(ids))
    if student_id is not None:
        by_student = INTAKES.c.student_id == student_id
        if institution_id is not None:
            by_student &= INTAKES.c.institution_id == institution_id
        conditions.append(by_student)
    if not conditions:
        return set(), 0
    where = or_(*conditions)
    with app_engine.begin() as conn:
        senders = set(conn.scalars(select(INTAKES.c.sender_id).where(where).distinct()))
        deleted = conn.execute(delete(INTAKES).where(where)).rowcount
    return senders, deleted


# --- logs -------------------------------------------------------------------------------------


def _rewrite_log(path: Path, drop: Callable[[str, bool], bool]) -> int:
    """Remove lines from a log file in place (the servers keep appending to it with O_APPEND,
    so the file is rewritten, not replaced). ``drop(line, previous_dropped)``."""
    with path.open("r+b") as fh:
        lines = fh.read().decode("utf-8", errors="replace").splitlines(keepends=True)
        kept: list[str] = []
        removed = 0
        previous = False
        for line in lines:
            previous = drop(line, previous)
            if previous:
                removed += 1
            else:
                kept.append(line)
        if removed:
            fh.seek(0)
            fh.write("".join(kept).encode("utf-8"))
            fh.truncate()
    return removed


def _log_files(log_dir: Path | None) -> list[Path]:
    if log_dir is None or not log_dir.is_dir():
        return []
    return sorted(p for p in log_dir.glob("*.log") if p.is_file())


def scrub_logs(log_dir: Path | None, conversation_ids: Iterable[str]) -> int:
    """Remove every log line that names one of these conversations (and the lines that continue
    it, e.g. a traceback). Returns the number of lines removed."""
    ids = sorted({i for i in conversation_ids if i})
    if not ids:
        return 0
    pattern = re.compile(rf"(?<!{_ID_EDGE})(?:{'|'.join(re.escape(i) for i in ids)})(?!{_ID_EDGE})")

    def drop(line: str, previous: bool) -> bool:
        if pattern.search(line):
            return True
        return previous and _LOG_DATE.match(line) is None

    return sum(_rewrite_log(path, drop) for path in _log_files(log_dir))


def purge_logs(log_dir: Path | None, cutoff: dt.date) -> int:
    """Remove log lines dated before ``cutoff`` (and their continuation lines)."""

    def drop(line: str, previous: bool) -> bool:
        m = _LOG_DATE.match(line)
        if m is None:
            return previous
        try:
            return dt.date.fromisoformat(m.group(1)) < cutoff
        except ValueError:
            return False

    return sum(_rewrite_log(path, drop) for path in _log_files(log_dir))


# --- the operations ---------------------------------------------------------------------------


def erase_conversations(
    *,
    tracker_engine: Engine | None,
    app_engine: Engine | None,
    log_dir: Path | None,
    conversation_ids: Iterable[str],
) -> ErasureReport:
    """Delete everything stored about these conversations: tracker events (every session),
    intake records, log lines naming them."""
    ids = set(conversation_ids)
    report = ErasureReport()
    if tracker_engine is not None:
        report.conversations = sum(conversation_exists(tracker_engine, i) for i in ids)
        report.tracker_events = delete_tracker_events(tracker_engine, ids)
    if app_engine is not None:
        _, report.intake_records = delete_intake_records(app_engine, sender_ids=ids)
    report.log_lines = scrub_logs(log_dir, ids)
    return report


def erase_student(
    *,
    tracker_engine: Engine | None,
    app_engine: Engine | None,
    log_dir: Path | None,
    student_id: str,
    institution_id: str | None = None,
) -> ErasureReport:
    """Delete everything stored about a signed-in student: their conversations (found by the
    verified ``student_id`` slot and by their intake records) and their intake records."""
    ids = conversations_of_student(tracker_engine, student_id, institution_id)
    report = ErasureReport()
    if app_engine is not None:
        senders, report.intake_records = delete_intake_records(
            app_engine, sender_ids=ids, student_id=student_id, institution_id=institution_id
        )
        ids |= senders
    return report + erase_conversations(
        tracker_engine=tracker_engine, app_engine=app_engine, log_dir=log_dir, conversation_ids=ids
    )


def purge_expired(
    *,
    tracker_engine: Engine | None,
    app_engine: Engine | None,
    log_dir: Path | None,
    older_than_days: float,
    now: dt.datetime | None = None,
) -> ErasureReport:
    """Delete what is older than the retention period: conversation events Rasa no longer
    replays, intake records created before it, log lines dated before it (and log lines naming
    a conversation that is now gone)."""
    if older_than_days < 0:
        raise ValueError(f"the retention period must not be negative, got {older_than_days}")
    now = now or dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    cutoff = now - dt.timedelta(days=older_than_days)
    report = ErasureReport()
    gone: set[str] = set()
    if tracker_engine is not None:
        gone, report.tracker_events = _expired_tracker_events(tracker_engine, cutoff.timestamp())
        report.conversations = len(gone)
    if app_engine is not None and _has_table(app_engine, INTAKES.name):
        naive_cutoff = cutoff.astimezone(dt.timezone.utc).replace(tzinfo=None)
        with app_engine.begin() as conn:
            report.intake_records = conn.execute(
                delete(INTAKES).where(INTAKES.c.created_at < naive_cutoff)
            ).rowcount
    report.log_lines = purge_logs(log_dir, cutoff.date()) + scrub_logs(log_dir, gone)
    return report


@dataclass(frozen=True)
class Stores:
    """Where this installation keeps personal data (engines are None when nothing is stored)."""

    tracker_engine: Engine | None
    app_engine: Engine | None
    log_dir: Path

    def kwargs(self) -> dict[str, Any]:
        return {
            "tracker_engine": self.tracker_engine,
            "app_engine": self.app_engine,
            "log_dir": self.log_dir,
        }


def _engine_if_exists(url: str) -> Engine | None:
    """An engine for ``url``; None for an SQLite file that does not exist (nothing stored yet,
    and a purge must not create it)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    return make_engine(url)


@contextmanager
def configured_stores(settings: Settings) -> Iterator[Stores]:
    """The tracker store, the operational DB and the log folder this installation uses."""
    tracker = _engine_if_exists(settings.tracker_store_url)
    app = _engine_if_exists(settings.app_database_url)
    try:
        yield Stores(tracker, app, settings.var_dir / "logs")
    finally:
        for engine in (tracker, app):
            if engine is not None:
                engine.dispose()
