"""Real stores for the privacy tests: an SQLite file, or a fresh PostgreSQL database (created
through the maintenance database and dropped afterwards; the server is required, never skipped).
``STACKWISE_TEST_POSTGRES_URL`` (an admin URL to the maintenance database) picks another server;
by default ``postgres`` and then ``root`` at 127.0.0.1:5432 are tried (trust auth)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URLS = (
    "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
    "postgresql+psycopg2://root@127.0.0.1:5432/postgres",
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


@contextmanager
def postgres_database(prefix: str = "stackwise_privacy") -> Iterator[str]:
    """A fresh, empty PostgreSQL database; its URL. Dropped afterwards."""
    configured = os.environ.get("STACKWISE_TEST_POSTGRES_URL")
    errors = []
    for url in (configured,) if configured else DEFAULT_ADMIN_URLS:
        admin = create_engine(url, future=True, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"{make_url(url).render_as_string(hide_password=True)}: {exc}")
            admin.dispose()
            continue
        name = f"{prefix}_{secrets.token_hex(6)}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin.url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()
        return
    pytest.fail(
        "PostgreSQL is required for these tests and could not be reached. Start it (e.g. "
        "`service postgresql start`) or set STACKWISE_TEST_POSTGRES_URL to an admin URL.\n"
        + "\n".join(errors),
        pytrace=False,
    )


@contextmanager
def store_urls(backend: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(tracker store URL, operational DB URL) on the given backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}", f"sqlite:///{tmp_path / 'app.db'}"
        return
    with postgres_database() as url:
        yield url, url
