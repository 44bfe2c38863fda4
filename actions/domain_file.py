"""What actions read of the bot's domain (form slots, slot names, session settings), loaded once
from bot/domain/*.yml, the files Rasa trains on.

Rasa would otherwise send its whole domain (~13 KB of JSON) with each call of such an action:
every intake turn (``validate_intake_form``) and every new conversation
(``action_session_start``). ``endpoints.yml`` turns that off (``enable_selective_domain``);
``tests/unit/test_actions.py`` checks these parts equal Rasa's own view of the domain.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DOMAIN_DIR = Path(__file__).resolve().parents[1] / "bot" / "domain"
_KEYS = ("forms", "slots", "session_config")


@lru_cache(maxsize=1)
def bot_domain() -> dict[str, Any]:
    merged: dict[str, Any] = {key: {} for key in _KEYS}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        part = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in _KEYS:
            merged[key].update(part.get(key) or {})
    return merged


def domain_or_file(domain: dict[str, Any] | None) -> dict[str, Any]:
    """The domain Rasa sent, or (selective domain: it sent none) the one from the files."""
    return domain if domain else bot_domain()
