"""The intake form: validates and normalizes each answer; asks again, kindly, when unclear."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import join_labels, services, slot_list
from actions.domain_file import domain_or_file
from knowledge import constraints
from knowledge.places import find_place

_MAX_GOAL_CHARS = 200

# The intake questions whose answers have a strict parser (knowledge/constraints.py): the form's
# validators use them, and so does action_fallback for a low-confidence answer (actions/handoff.py).
ANSWER_PARSERS = {
    "budget": constraints.parse_budget,
    "weekly_hours": constraints.parse_hours,
    "format": constraints.parse_format,
    "education_level": constraints.parse_education,
}


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def _entity_or_text(slot_value: Any, tracker: Tracker) -> str:
    """The raw value to parse: the slot candidate, or the whole message if it came from text."""
    return str(slot_value) if slot_value is not None else _text(tracker)


_PLACE_CUE = re.compile(r"\b(?:near|in|around|close to|by|from|at)\s*$", re.IGNORECASE)


def without_place(text: str) -> str:
    """The goal without its place ("welding near San Antonio" -> "welding"): the place goes
    to the `place` slot (actions/place.py), and would only confuse the occupation match."""
    mention = find_place(text)
    if mention is None:
        return text
    before = _PLACE_CUE.sub("", text[: mention.start]).rstrip(" ,")
    rest = (before + " " + text[mention.end :].lstrip(" ,")).strip()
    return rest or text


class ValidateIntakeForm(FormValidationAction):
    def name(self) -> str:
        return "validate_intake_form"

    def domain_slots(self, domain: DomainDict) -> list[str]:
        # The form's slots from the domain files: Rasa does not send its domain with each call.
        return super().domain_slots(domain_or_file(domain))

    def validate_skills_summary(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        skills = slot_list(tracker, "skills")
        lacking = slot_list(tracker, "lacking_skills")
        # Confirm when the skills were just asked for or just given, not each time the form
        # re-validates what it already has (e.g. when a later message re-opens it).
        just_given = any(
            e.get("entity") == "skill" for e in tracker.latest_message.get("entities") or []
        )
        if tracker.get_slot("requested_slot") != "skills_summary" and not just_given:
            return {"skills_summary": slot_value}
        if skills:
            msg = f"Got it: you know {join_labels(skills)}"
            msg += f", and you're new to {join_labels(lacking)}." if lacking else "."
            dispatcher.utter_message(text=msg)
        elif slot_value == "none":
            dispatcher.utter_message(
                text="That's OK, everyone starts somewhere. I'll suggest beginner-friendly options, "
                'and you can add skills any time, like "I also know Excel".',
            )
        return {"skills_summary": slot_value}

    def validate_goal(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        text = without_place(str(slot_value or "")).strip()[:_MAX_GOAL_CHARS]
        match = services().occupations.best(text) if text else None
        if match is None:
            dispatcher.utter_message(
                text='I\'m not sure which job that is. Could you name it another way, like "medical assistant" or "IT support"?'
            )
            return {"goal": None, "goal_code": None}
        return {"goal": match.title, "goal_code": match.code}

    @staticmethod
    def _parsed(
        slot: str,
        retry: str,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> dict[str, Any]:
        """Parse the slot candidate (an entity value or the answer's text), else the whole
        message; when neither says, ask again with an example."""
        parse = ANSWER_PARSERS[slot]
        value = parse(_entity_or_text(slot_value, tracker).replace("_", " ")) or parse(
            _text(tracker)
        )
        if value is None:
            dispatcher.utter_message(text=retry)
        return {slot: value}

    def validate_budget(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        retry = 'Please give me a dollar amount, like "$300", or say "no limit".'
        return self._parsed("budget", retry, slot_value, dispatcher, tracker)

    def validate_weekly_hours(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        retry = 'How many hours a week, roughly? A number like 5 or 10 is fine, or say "not sure".'
        return self._parsed("weekly_hours", retry, slot_value, dispatcher, tracker)

    def validate_format(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        retry = "Online, in person, or either?"
        return self._parsed("format", retry, slot_value, dispatcher, tracker)

    def validate_education_level(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        raw = _entity_or_text(slot_value, tracker)
        parse = ANSWER_PARSERS["education_level"]
        value = raw if raw in constraints.EDUCATION_LEVELS else parse(raw)
        if value is None:
            value = parse(_text(tracker))
        if value is None:
            dispatcher.utter_message(
                text="For example: high school, some college, an associate degree, or a bachelor's."
            )
            return {"education_level": None}
        events: dict[str, Any] = {"education_level": value}
        degree = constraints.wants_degree(_text(tracker))
        if degree is not None:
            events["wants_degree"] = degree
        return events
