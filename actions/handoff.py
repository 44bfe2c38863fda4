"""Hand-off to a human adviser: store an intake record, tell the learner what happens next."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import services, slot_list
from actions.intake import ANSWER_PARSERS
from knowledge.intake import IntakeRecord, save_intake
from knowledge.tenants import get_tenant

MAX_FAILED_ATTEMPTS = 2

REPHRASE = (
    "Sorry, I didn't get that. Could you say it another way? "
    'For example: "I know Excel" or "I want to be a data analyst".'
)


def intake_record(
    tracker: Tracker, reason: str, recommendations: list[dict[str, Any]] | None = None
) -> IntakeRecord:
    skills = [
        {"label": label, "skill_id": sid, "role": "has"}
        for label, sid in zip(
            slot_list(tracker, "skills"), slot_list(tracker, "skill_ids") + [""] * 50, strict=False
        )
    ]
    skills += [
        {"label": label, "skill_id": None, "role": "lacks"}
        for label in slot_list(tracker, "lacking_skills")
    ]
    skills += [
        {"label": label, "skill_id": None, "role": "wants"}
        for label in slot_list(tracker, "wanted_skills")
    ]
    if recommendations is None:
        recommendations = [{"id": i, "name": None} for i in slot_list(tracker, "recommendations")]
    return IntakeRecord(
        sender_id=tracker.sender_id,
        reason=reason,
        skills=skills,
        goal=tracker.get_slot("goal"),
        goal_code=tracker.get_slot("goal_code"),
        constraints={
            k: tracker.get_slot(k)
            for k in (
                "budget",
                "weekly_hours",
                "timeline",
                "format",
                "education_level",
                "wants_degree",
            )
        },
        recommendations=recommendations,
        institution_id=tracker.get_slot("tenant"),
        student_id=tracker.get_slot("student_id"),
    )


def _handoff_contact(tenant: str | None) -> str | None:
    """The tenant's adviser contact (console overrides win over the institution file)."""
    svc = services()
    found = get_tenant(svc.engine, tenant, svc.app_engine)
    return found.handoff_contact if found else None


def hand_off(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str
) -> list[dict[str, Any]]:
    record_id = save_intake(services().app_engine, intake_record(tracker, reason))
    ref = record_id[:8].upper()
    lead = (
        "I'm having trouble understanding, so I'll bring in a person."
        if reason == "failed_attempts"
        else "Sure, I'll connect you with an adviser."
    )
    contact = _handoff_contact(tracker.get_slot("tenant"))
    next_step = (
        f"You can also reach them directly: {contact}."
        if contact
        else ("An adviser will read them and get in touch.")
    )
    dispatcher.utter_message(
        text=f"{lead} I saved your answers for them (reference {ref}). {next_step} "
        "You can keep chatting with me in the meantime."
    )
    return [SlotSet("handoff_id", record_id), SlotSet("failed_attempts", 0.0)]


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return hand_off(dispatcher, tracker, "requested")


class ActionFallback(Action):
    """Low NLU confidence: ask to rephrase; after two misses in a row, hand off to a person."""

    def name(self) -> str:
        return "action_fallback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        answer = _answer_to_intake_question(tracker)
        if answer is not None:
            # A short answer ("either", "10") can look like nothing in particular to the intent
            # classifier; if it answers the question just asked, take it and let the form go on.
            return [SlotSet(*answer)]
        failed = (tracker.get_slot("failed_attempts") or 0.0) + 1
        if failed >= MAX_FAILED_ATTEMPTS:
            return hand_off(dispatcher, tracker, "failed_attempts")
        dispatcher.utter_message(text=REPHRASE)
        return [SlotSet("failed_attempts", failed)]


def _answer_to_intake_question(tracker: Tracker) -> tuple[str, str] | None:
    """(slot, value) when the intake form is asking and the low-confidence message parses as
    an answer to that question; otherwise None."""
    if (tracker.active_loop or {}).get("name") != "intake_form":
        return None
    slot = tracker.get_slot("requested_slot")
    parse = ANSWER_PARSERS.get(slot)
    text = (tracker.latest_message or {}).get("text") or ""
    value = parse(text) if parse and text.strip() else None
    return (slot, value) if value is not None else None
