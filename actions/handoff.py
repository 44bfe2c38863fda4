"""Hand-off to a human adviser: store an intake record with its notifications to the college's
advisers, ask (with consent) how an adviser may reach the learner, tell them what happens next.

A learner signed in through the portal is not asked: the college has their record. Without a
contact the learner gets the college's own contact, never a promise of a call-back.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import services, slot_list
from actions.domain_file import domain_or_file
from actions.intake import ANSWER_PARSERS
from knowledge import notifications as nt
from knowledge.intake import IntakeRecord
from knowledge.tenants import Tenant, get_tenant

log = logging.getLogger(__name__)

MAX_FAILED_ATTEMPTS = 2
CONTACT_FORM = "handoff_contact_form"
CONTACT_SLOT = "learner_contact"
TRIES_SLOT = "handoff_contact_tries"
DECLINED = "declined"
MAX_CONTACT_TRIES = 2
ASK_CONTACT = (
    "May an adviser contact you? If so, type your e-mail address or a US phone number; only "
    "the college's advisers will see it. Or say \"no\" and I'll give you the college's own "
    "contact."
)
NOT_A_CONTACT = (
    "That doesn't look like an e-mail address or a US phone number. Type one "
    '(for example jane@example.com or (512) 555-0199), or say "no" to skip.'
)

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


def _tenant(tenant: str | None) -> Tenant | None:
    """The tenant (console overrides win over the institution file)."""
    svc = services()
    return get_tenant(svc.engine, tenant, svc.app_engine)


def _channels(tenant: str | None) -> list[str]:
    """The channels this tenant's advisers are notified on. A malformed setting is logged and
    the rows are still written: the worker records the error on them, and nothing is lost."""
    try:
        return nt.channels_for(services().app_engine, tenant, nt.NotifyConfig.from_env())
    except nt.ConfigError as exc:
        log.error("hand-off notification settings: %s", exc)
        env = os.environ
        return [
            channel
            for channel, var in (
                ("email", "STACKWISE_SMTP_URL"),
                ("webhook", nt.tenant_env(tenant or "", "WEBHOOK_URL")),
            )
            if tenant and env.get(var)
        ]


def college_contact(tenant: Tenant | None) -> str:
    """What to tell a learner who left no contact: the college's own, never a call-back."""
    if tenant and tenant.handoff_contact:
        return f"You can reach {tenant.name}'s advisers directly: {tenant.handoff_contact}."
    if tenant and tenant.url:
        return f"You can reach {tenant.name}'s advising office through {tenant.url}"
    return "You can reach your college's advising office through its website or front desk."


def hand_off(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str
) -> list[dict[str, Any]]:
    tenant_id = tracker.get_slot("tenant")
    signed_in = bool(tracker.get_slot("student_id"))
    record = intake_record(tracker, reason)
    # A learner who is asked for a contact has a few minutes to answer before the advisers are
    # told without it; a signed-in student's record is complete at once.
    nt.save_handoff(
        services().app_engine,
        record,
        _channels(tenant_id),
        hold_s=0 if signed_in else nt.CONTACT_WAIT_S,
    )
    ref = record.id[:8].upper()
    lead = (
        "I'm having trouble understanding, so I'll bring in a person."
        if reason == "failed_attempts"
        else "Sure, I'll connect you with an adviser."
    )
    events: list[dict[str, Any]] = [
        SlotSet("handoff_id", record.id),
        SlotSet("failed_attempts", 0.0),
    ]
    if signed_in:
        dispatcher.utter_message(
            text=f"{lead} I saved your answers for them (reference {ref}). You're signed in, "
            "so an adviser can reach you through your college record. "
            "You can keep chatting with me in the meantime."
        )
        return events
    dispatcher.utter_message(text=f"{lead} I saved your answers for them (reference {ref}).")
    return events + [
        SlotSet(CONTACT_SLOT, None),
        SlotSet(TRIES_SLOT, 0.0),
        FollowupAction(CONTACT_FORM),
    ]


class ActionAskLearnerContact(Action):
    """The form's question (Rasa runs ``action_ask_<slot>`` when the domain lists it)."""

    def name(self) -> str:
        return "action_ask_learner_contact"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(
            text=ASK_CONTACT, buttons=[{"title": "No, thanks", "payload": "/deny"}]
        )
        return []


class ValidateHandoffContactForm(FormValidationAction):
    """The answer to "how may an adviser reach you?": an e-mail address, a US phone number, or
    "no". After two answers that are neither, the form stops asking (taken as "no")."""

    def name(self) -> str:
        return "validate_handoff_contact_form"

    def domain_slots(self, domain: DomainDict) -> list[str]:
        return super().domain_slots(domain_or_file(domain))

    def validate_learner_contact(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if slot_value is None:
            # Nothing was answered yet: at the form's activation the candidates are the slots
            # the hand-off just cleared, and the message that started the hand-off is no answer.
            return {CONTACT_SLOT: None}
        text = slot_value if isinstance(slot_value, str) else ""
        if text == DECLINED or nt.is_decline(text) or text.strip() == "/deny":
            return {CONTACT_SLOT: DECLINED}
        contact = nt.parse_contact(text)
        if contact is not None:
            return {CONTACT_SLOT: contact.stored()}
        tries = (tracker.get_slot(TRIES_SLOT) or 0.0) + 1
        if tries >= MAX_CONTACT_TRIES:
            return {CONTACT_SLOT: DECLINED, TRIES_SLOT: 0.0}
        dispatcher.utter_message(text=NOT_A_CONTACT)
        return {CONTACT_SLOT: None, TRIES_SLOT: tries}


class ActionHandoffContact(Action):
    """After the contact question: store the answer on the intake record, release the
    advisers' notifications, and say what happens next."""

    def name(self) -> str:
        return "action_handoff_contact"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        contact = nt.Contact.from_stored(tracker.get_slot(CONTACT_SLOT))
        record_id = tracker.get_slot("handoff_id")
        stored = bool(record_id) and nt.set_contact(services().app_engine, record_id, contact)
        if contact is not None and stored:
            how = "e-mail you at" if contact.kind == "email" else "call or text you at"
            text = (
                f"Thanks. An adviser will {how} {contact.display()}; it is saved with your "
                "answers for the college's advisers only. "
                "You can keep chatting with me in the meantime."
            )
        else:
            text = (
                "OK, I won't pass on any contact. "
                + college_contact(_tenant(tracker.get_slot("tenant")))
                + " You can keep chatting with me in the meantime."
            )
        dispatcher.utter_message(text=text)
        # The slot is cleared: the contact lives on the intake record, which deletion removes.
        return [SlotSet(CONTACT_SLOT, None), SlotSet(TRIES_SLOT, 0.0)]


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
        if (tracker.active_loop or {}).get("name") == CONTACT_FORM:
            # An e-mail address or a phone number often looks like nothing to the intent
            # classifier: while the contact question is open, it is the answer.
            text = (tracker.latest_message or {}).get("text") or ""
            return [
                SlotSet(k, v)
                for k, v in ValidateHandoffContactForm()
                .validate_learner_contact(text, dispatcher, tracker, domain)
                .items()
            ]
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
