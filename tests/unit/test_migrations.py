"""The Alembic migrations create exactly the tables of knowledge/schema.py, and builds are stamped.

``schema_snapshot`` is shared with tests/integration/test_postgres.py (same check on PostgreSQL).
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from knowledge import migrations, schema
from knowledge.db import make_engine


def schema_snapshot(engine: Engine) -> dict[str, Any]:
    """Tables, columns (type, nullable, primary key), indexes, unique and foreign keys."""
    insp = inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        if table == migrations.VERSION_TABLE:
            continue
        pk = set(insp.get_pk_constraint(table)["constrained_columns"])
        out[table] = {
            "columns": {
                c["name"]: (str(c["type"]), c["nullable"], c["name"] in pk)
                for c in insp.get_columns(table)
            },
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(table)
            ),
            "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in insp.get_foreign_keys(table)
            ),
        }
    return out


def migrated_and_declared(url: str) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """Upgrade an empty DB to head and snapshot it; then the same from ``create_all``.

    Returns (migrated, declared, autogenerate diff of the migrated DB against schema.py).
    """
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            migrations.upgrade(conn)
        with engine.connect() as conn:
            assert migrations.current(conn) == migrations.head()
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), schema.Base.metadata
            )
        migrated = schema_snapshot(engine)
        with engine.begin() as conn:
            schema.Base.metadata.drop_all(conn)
            conn.exec_driver_sql(f"DROP TABLE {migrations.VERSION_TABLE}")
        assert schema_snapshot(engine) == {}
        schema.Base.metadata.create_all(engine)
        declared = schema_snapshot(engine)
    finally:
        engine.dispose()
    return migrated, declared, diff


def test_migrations_match_schema_on_sqlite(tmp_path):
    migrated, declared, diff = migrated_and_declared(f"sqlite:///{tmp_path / 'm.db'}")
    assert diff == [], f"schema.py and the migrations differ: {diff}"
    assert set(migrated) == {t.name for t in schema.Base.metadata.sorted_tables}
    assert migrated == declared


def test_migration_chain_is_linear_and_downgrades(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'd.db'}"
    command.upgrade(migrations.alembic_config(url), "head")
    command.downgrade(migrations.alembic_config(url), "base")
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) <= {migrations.VERSION_TABLE}
    finally:
        engine.dispose()


def test_build_is_stamped_at_head(built, settings):
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            assert migrations.current(conn) == migrations.head()
    finally:
        engine.dispose()
