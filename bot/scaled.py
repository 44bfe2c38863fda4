"""`stackwise serve --scaled`: what must hold before several Rasa replicas and action servers
can share the work, and getting there.

With more than one Rasa process, conversations must live in a shared tracker store
(PostgreSQL) and each conversation must be locked across processes (Redis lock store); the
action servers share the knowledge DB and the operational DB (PostgreSQL) and each holds its own
copy of the FAISS index. ``prepare`` checks the settings say so, that PostgreSQL and Redis
answer, creates missing databases, and builds the knowledge DB into PostgreSQL when its inputs
changed (``stackwise build`` does the same with ``STACKWISE_DATABASE_URL`` set). See
docs/deployment.md.
"""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from knowledge.config import Settings


class ScaledConfigError(RuntimeError):
    """The settings or the services do not allow a scaled start; the message says what to do."""


def _is_postgres(url: str) -> bool:
    return url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def check_settings(settings: Settings) -> None:
    needs = {
        "STACKWISE_TRACKER_STORE_URL": settings.tracker_store_url,
        "STACKWISE_DATABASE_URL": settings.database_url,
        "STACKWISE_APP_DATABASE_URL": settings.app_database_url,
    }
    wrong = [name for name, url in needs.items() if not _is_postgres(url)]
    if wrong:
        raise ScaledConfigError(
            "--scaled runs several processes on shared databases: set "
            + ", ".join(wrong)
            + " to PostgreSQL URLs (postgresql+psycopg2://user@host:5432/db; `make run-scaled` "
            "sets them for the local server)"
        )
    if not settings.scaling.lock_store_url:
        raise ScaledConfigError(
            "--scaled needs a lock store shared by the Rasa replicas: set "
            "STACKWISE_LOCK_STORE_URL=redis://host:6379/0"
        )


def ensure_database(url: str, timeout: int = 5) -> bool:
    """Create the PostgreSQL database of ``url`` if it does not exist; True if created."""
    target = make_url(url)
    engine = create_engine(
        target.set(database="postgres"),
        future=True,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": timeout},
    )
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            ).first()
            if exists:
                return False
            quoted = engine.dialect.identifier_preparer.quote(target.database)
            conn.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    except SQLAlchemyError as exc:
        raise ScaledConfigError(
            f"PostgreSQL at {_safe(url)} is not usable: {str(exc.orig or exc).strip()}"
        ) from exc
    finally:
        engine.dispose()


def check_redis(url: str, timeout: float = 5.0) -> None:
    import redis

    plain = url.split("?", 1)[0]  # key_prefix is Rasa's, not a redis-py option
    try:
        redis.Redis.from_url(plain, socket_timeout=timeout, socket_connect_timeout=timeout).ping()
    except redis.RedisError as exc:
        raise ScaledConfigError(f"Redis at {url.split('@')[-1]} is not usable: {exc}") from exc


def prepare(settings: Settings, log=print) -> None:
    """Check the settings and services; create missing databases; build the knowledge DB into
    PostgreSQL if its inputs changed; check the index matches it."""
    from knowledge.build import build_database
    from knowledge.index import IndexError_, read_meta

    check_settings(settings)
    assert settings.scaling.lock_store_url is not None
    check_redis(settings.scaling.lock_store_url)
    for url in {settings.tracker_store_url, settings.database_url, settings.app_database_url}:
        if ensure_database(url):
            log(f"created database {_safe(url)}")
    result = build_database(settings)
    if not result.skipped:
        log(f"knowledge DB built into {_safe(settings.database_url)} in {result.seconds:.1f}s")
    meta = read_meta(settings.index_dir)
    if meta is None or meta.fingerprint != result.fingerprint:
        raise IndexError_(
            f"the search index in {settings.index_dir} was not built for this catalog "
            f"({meta.fingerprint if meta else 'no index'} vs {result.fingerprint}); run "
            "'stackwise build'"
        )
