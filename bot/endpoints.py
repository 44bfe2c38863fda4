"""The endpoints file Rasa runs with, built from ``endpoints.yml`` and the settings.

`stackwise serve` writes it to ``var/run/endpoints-<port>.yml``. ``endpoints.yml`` is the
template: what it holds is kept, except the entries set here from ``STACKWISE_*`` settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from knowledge.config import REPO_ROOT, Settings

TRACKER_STORE = "bot.tracker_store.StackwiseTrackerStore"
# Rasa's Redis lock store with renewed leases (Rasa's own can block a conversation for good
# when a replica dies holding its lock): bot/lock_store.py.
LOCK_STORE = "bot.lock_store.StackwiseLockStore"
# Without Redis: lock files shared by the Rasa processes of this machine (bot/lock_store.py).
MACHINE_LOCK_STORE = "bot.lock_store.MachineLockStore"


def runtime_endpoints(
    settings: Settings, actions_url: str, template: Path | None = None
) -> dict[str, Any]:
    """Endpoints for this run: the action server at ``actions_url``; conversations in the
    Stackwise tracker store (SQL, with deletion on request) at ``settings.tracker_store_url``."""
    source = template or REPO_ROOT / "endpoints.yml"
    endpoints: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    endpoints["action_endpoint"] = {**(endpoints.get("action_endpoint") or {}), "url": actions_url}
    endpoints["tracker_store"] = {"type": TRACKER_STORE, "url": settings.tracker_store_url}
    if settings.scaling.lock_store_url:
        endpoints["lock_store"] = {
            **redis_lock_store(settings.scaling.lock_store_url),
            "lease_s": settings.scaling.lock_lifetime_s,
        }
    else:
        endpoints["lock_store"] = {
            "type": MACHINE_LOCK_STORE,
            "directory": str(settings.var_dir / "run" / "locks"),
        }
    return endpoints


def redis_lock_store(url: str) -> dict[str, Any]:
    """Lock store settings (Rasa's RedisLockStore's, for ``StackwiseLockStore``) from
    ``redis[s]://[:password@]host[:port][/db][?key_prefix=name]`` (``STACKWISE_LOCK_STORE_URL``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(
            f"STACKWISE_LOCK_STORE_URL must look like redis://host:6379/0, got {url!r}"
        )
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise ValueError(f"STACKWISE_LOCK_STORE_URL: the database must be a number, got {db!r}")
    store: dict[str, Any] = {
        "type": LOCK_STORE,
        "url": parts.hostname,
        "port": parts.port or 6379,
        "db": int(db),
        "use_ssl": parts.scheme == "rediss",
    }
    if parts.username:
        store["username"] = unquote(parts.username)
    if parts.password:
        store["password"] = unquote(parts.password)
    prefix = parse_qs(parts.query).get("key_prefix")
    if prefix:
        if not prefix[0].isalnum():
            raise ValueError("STACKWISE_LOCK_STORE_URL: key_prefix must be letters and digits")
        store["key_prefix"] = prefix[0]
    return store


def write_runtime_endpoints(settings: Settings, actions_url: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Database and Redis URLs may carry passwords: readable by this user only, from creation on.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(yaml.safe_dump(runtime_endpoints(settings, actions_url), sort_keys=False))
    os.chmod(target, 0o600)  # an older file keeps its mode through O_TRUNC
    return target
