"""Real stores for the privacy tests: an SQLite file, or a fresh PostgreSQL database (created
through the maintenance database and dropped afterwards; the server is required, never skipped).
Which server and role: see ``tests/postgres.py``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.postgres import admin_engine, fresh_database

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


@contextmanager
def postgres_database(prefix: str = "stackwise_privacy") -> Iterator[str]:
    """A fresh, empty PostgreSQL database; its URL. Dropped afterwards."""
    with admin_engine() as admin, fresh_database(admin, prefix) as url:
        yield url


@contextmanager
def store_urls(backend: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(tracker store URL, operational DB URL) on the given backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}", f"sqlite:///{tmp_path / 'app.db'}"
        return
    with postgres_database() as url:
        yield url, url
