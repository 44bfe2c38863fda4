"""The endpoints file Rasa runs with, built from ``endpoints.yml`` and the settings.

`stackwise serve` writes it to ``var/run/endpoints-<port>.yml``. ``endpoints.yml`` is the
template: what it holds is kept, except the entries set here from ``STACKWISE_*`` settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from knowledge.config import REPO_ROOT, Settings

TRACKER_STORE = "bot.tracker_store.StackwiseTrackerStore"


def runtime_endpoints(
    settings: Settings, actions_url: str, template: Path | None = None
) -> dict[str, Any]:
    """Endpoints for this run: the action server at ``actions_url``; conversations in the
    Stackwise tracker store (SQL, with deletion on request) at ``settings.tracker_store_url``."""
    source = template or REPO_ROOT / "endpoints.yml"
    endpoints: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    endpoints["action_endpoint"] = {**(endpoints.get("action_endpoint") or {}), "url": actions_url}
    endpoints["tracker_store"] = {"type": TRACKER_STORE, "url": settings.tracker_store_url}
    return endpoints


def write_runtime_endpoints(settings: Settings, actions_url: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        yaml.safe_dump(runtime_endpoints(settings, actions_url), sort_keys=False),
        encoding="utf-8",
    )
    return target
