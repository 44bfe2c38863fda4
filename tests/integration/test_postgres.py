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
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from knowledge import migrations
from knowledge.build import build_database, counts, read_meta
from knowledge.db import make_engine
from tests.postgres import admin_engine, fresh_database
from tests.unit.test_migrations import migrated_and_declared

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg_admin() -> Iterator[Engine]:
    with admin_engine() as engine:
        yield engine


@pytest.fixture
def pg_url(pg_admin: Engine) -> Iterator[str]:
    """A fresh, empty database; dropped after the test."""
    with fresh_database(pg_admin, "stackwise_test") as url:
        yield url


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
