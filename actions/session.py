"""Session start: carry slots over (as Rasa's default does) and copy the verified tenant and
student id from the message metadata into the slots `tenant` and `student_id`.

Only a blob signed by the web app (knowledge.tenants.sign_metadata, bound to this conversation's
id) counts; anything else a client puts into metadata is ignored.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.domain_file import domain_or_file
from knowledge.tenants import METADATA_KEY, InvalidToken, verify_metadata

logger = logging.getLogger(__name__)
SKIP_SLOTS = {"session_started_metadata", "requested_slot"}


def verified_claims(tracker: Tracker) -> dict[str, Any] | None:
    metadata = tracker.get_slot("session_started_metadata") or {}
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        return None
    try:
        return verify_metadata(metadata[METADATA_KEY], tracker.sender_id)
    except InvalidToken as exc:
        logger.warning("ignoring session metadata for %s: %s", tracker.sender_id, exc)
        return None


def session_slots(tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
    carry = (domain.get("session_config") or {}).get("carry_over_slots_to_new_session", True)
    known = set((domain.get("slots") or {}).keys())
    events: list[dict[str, Any]] = []
    if carry:
        events += [
            SlotSet(name, value)
            for name, value in tracker.current_slot_values().items()
            if name not in SKIP_SLOTS and value is not None
        ]
    claims = verified_claims(tracker)
    if claims:
        if claims.get("tenant"):
            events.append(SlotSet("tenant", claims["tenant"]))
        if claims.get("student_id") and (not known or "student_id" in known):
            events.append(SlotSet("student_id", claims["student_id"]))
    return events


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        slots = session_slots(tracker, domain_or_file(domain))
        return [SessionStarted(), *slots, ActionExecuted("action_listen")]
