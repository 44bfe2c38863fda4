"""The local PostgreSQL server for tests: an admin connection and throwaway databases.

``STACKWISE_TEST_POSTGRES_URL`` names an admin URL; otherwise the usual local roles are tried.
PostgreSQL is required (CI runs it): when it cannot be reached the test fails and says why.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

DEFAULT_ADMIN_URLS = (
    "postgresql+psycopg2://root@127.0.0.1:5432/postgres",
    "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
)


@contextmanager
def admin_engine() -> Iterator[Engine]:
    """An autocommit engine on the first admin URL that answers."""
    configured = os.environ.get("STACKWISE_TEST_POSTGRES_URL")
    errors = []
    for url in (configured,) if configured else DEFAULT_ADMIN_URLS:
        engine = create_engine(url, future=True, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"{make_url(url).render_as_string(hide_password=True)}: {exc}")
            engine.dispose()
            continue
        try:
            yield engine
        finally:
            engine.dispose()
        return
    pytest.fail(
        "PostgreSQL is required for these tests and could not be reached. Start it (e.g. "
        "`service postgresql start`) or set STACKWISE_TEST_POSTGRES_URL to an admin URL.\n"
        + "\n".join(errors),
        pytrace=False,
    )


@contextmanager
def fresh_database(admin: Engine, prefix: str) -> Iterator[str]:
    """A new, empty database (its URL), dropped afterwards with any connections left to it."""
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
