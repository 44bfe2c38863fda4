"""The knowledge DB on PostgreSQL: migrations match schema.py, and a build of the real catalog
gives the same counts as the SQLite build and is skipped the second time by fingerprint.

Each test gets a fresh database ``stackwise_test_<random>`` created through the ``postgres``
maintenance database and dropped afterwards. The server is required (CI has one): when it cannot
be reached the tests fail with a clear message, they are never skipped. Set
``STACKWISE_TEST_POSTGRES_URL`` (an admin URL to the maintenance database) to use another server
or role; by default ``root`` and then ``postgres`` at 127.0.0.1:5432 are tried (trust auth).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from knowledge import migrations
from knowledge.build import build_database, counts, read_meta
from knowledge.db import make_engine
from tests.unit.test_migrations import migrated_and_declared

pytestmark = pytest.mark.integration

DEFAULT_ADMIN_URLS = (
    "postgresql+psycopg2://root@127.0.0.1:5432/postgres",
    "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
)


@pytest.fixture(scope="module")
def pg_admin() -> Iterator[Engine]:
    configured = os.environ.get("STACKWISE_TEST_POSTGRES_URL")
    candidates = (configured,) if configured else DEFAULT_ADMIN_URLS
    errors = []
    for url in candidates:
        engine = create_engine(url, future=True, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"{make_url(url).render_as_string(hide_password=True)}: {exc}")
            engine.dispose()
            continue
        yield engine
        engine.dispose()
        return
    pytest.fail(
        "PostgreSQL is required for these tests and could not be reached. Start it (e.g. "
        "`service postgresql start`) or set STACKWISE_TEST_POSTGRES_URL to an admin URL.\n"
        + "\n".join(errors),
        pytrace=False,
    )


@pytest.fixture
def pg_url(pg_admin: Engine) -> Iterator[str]:
    """A fresh, empty database; dropped after the test."""
    name = f"stackwise_test_{secrets.token_hex(6)}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with pg_admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


def test_migrations_match_schema_on_postgres(pg_url):
    migrated, declared, diff = migrated_and_declared(pg_url)
    assert diff == [], f"schema.py and the migrations differ on PostgreSQL: {diff}"
    assert migrated == declared


def test_postgres_build_matches_sqlite_and_skips_when_unchanged(built, settings, pg_url, tmp_path):
    pg_settings = dataclasses.replace(settings, database_url=pg_url, var_dir=tmp_path / "var")
    first = build_database(pg_settings, force=True)
    assert not first.skipped
    assert first.fingerprint == built.fingerprint
    assert first.counts == built.counts
    assert first.counts["credentials"] >= 300

    engine = make_engine(pg_url)
    try:
        assert engine.dialect.name == "postgresql"
        with engine.connect() as conn:
            assert migrations.current(conn) == migrations.head()
        assert read_meta(engine, "fingerprint") == first.fingerprint

        again = build_database(pg_settings)
        assert again.skipped and again.fingerprint == first.fingerprint
        assert again.counts == counts(engine) == first.counts
    finally:
        engine.dispose()
