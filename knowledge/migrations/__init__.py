"""Alembic environment for the knowledge DB (no alembic.ini: the configuration is built here).

``stackwise build`` creates the schema by running these migrations to ``head`` and stamps the
version in ``alembic_version``. To add a migration after changing ``knowledge/schema.py``,
autogenerate it against a database at head (e.g. the one ``stackwise build`` made), then review::

    .venv/bin/python -c "from knowledge.migrations import revision; \
        revision('add x', 'sqlite:///var/stackwise.db')"
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic config with ``script_location`` set in code; no ini file is read."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(connection: Connection, target: str = "head") -> None:
    """Run the migrations on ``connection``, inside the caller's transaction."""
    command.upgrade(alembic_config(connection=connection), target)


def current(connection: Connection) -> str | None:
    """The revision stamped in the database, or None when it has none."""
    from alembic.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    from alembic.script import ScriptDirectory

    rev = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert rev is not None
    return rev


def revision(message: str, url: str, rev_id: str | None = None) -> None:
    """Autogenerate a new migration by comparing ``url`` (at head) with ``schema.py``."""
    command.revision(alembic_config(url), message=message, autogenerate=True, rev_id=rev_id)
