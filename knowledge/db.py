"""Engine and sessions. Nothing connects at import time: engines open on first use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from knowledge.config import get_settings

# SQLite from several threads (a pool hands a connection to one at a time); wait for locks.
SQLITE_CONNECT_ARGS = {"check_same_thread": False, "timeout": 30}


def sqlite_pragmas(engine: Engine, *pragmas: str) -> Engine:
    """Run ``PRAGMA <each>`` on every new connection of ``engine``; returns it."""

    @event.listens_for(engine, "connect")
    def _set(dbapi_conn, _record):  # pragma: no cover - trivial
        cur = dbapi_conn.cursor()
        for pragma in pragmas:
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    return engine


def make_engine(url: str) -> Engine:
    """Create a 2.0-style engine (SQLAlchemy 1.4 with ``future=True``).

    SQLite files get a connection pool: SQLAlchemy 1.4's default for them opens (and sets up)
    a new connection for every session, which was ~10% of the action server's CPU per message.
    A pooled connection keeps the file it opened: a process serving from a database that
    `stackwise build` replaces must be restarted, as for the search index it loaded.
    """
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, future=True, poolclass=QueuePool, connect_args=SQLITE_CONNECT_ARGS
        )
        return sqlite_pragmas(engine, "foreign_keys=ON", "journal_mode=WAL")
    return create_engine(url, future=True, pool_pre_ping=True)


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def default_engine() -> Engine:
    return engine_for(get_settings().database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    factory = sessionmaker(bind=engine or default_engine(), future=True, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
