"""The learner's current skills, from the spaCy `skill` entities (roles has / lacks / wants)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import INTERRUPTIONS, join_labels, latest_entities, slot_list

_NOTHING = re.compile(
    r"\b(nothing|none|no (experience|skills)|not much|just starting|starting out|"
    r"no experience yet|i don'?t (really )?know anything|beginner|new to (this|everything))\b",
    re.IGNORECASE,
)


@dataclass
class SkillState:
    """The skill slots as one value object; `apply` folds in one message's entities."""

    has: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    lacks: list[str] = field(default_factory=list)
    wants: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    new_lacks: list[str] = field(default_factory=list)

    @classmethod
    def from_tracker(cls, tracker: Tracker) -> SkillState:
        has, ids = slot_list(tracker, "skills"), slot_list(tracker, "skill_ids")
        ids = (ids + [""] * len(has))[: len(has)]
        return cls(
            has, ids, slot_list(tracker, "lacking_skills"), slot_list(tracker, "wanted_skills")
        )

    def _drop(self, label: str) -> None:
        if label in self.has:
            i = self.has.index(label)
            self.has.pop(i)
            self.ids.pop(i)
            self.removed.append(label)

    def apply(self, entities: list[dict[str, Any]], *, removing: bool) -> None:
        for ent in entities:
            label, sid, role = ent.get("value"), ent.get("skill_id") or "", ent.get("role") or "has"
            if not label:
                continue
            if removing:
                self._drop(label)
            elif role == "lacks":
                self._drop(label)
                if label not in self.lacks:
                    self.lacks.append(label)
                    self.new_lacks.append(label)
            elif role == "wants":
                if label not in self.wants:
                    self.wants.append(label)
            elif label not in self.has:
                self.has.append(label)
                self.ids.append(sid)
                self.added.append(label)
                if label in self.lacks:
                    self.lacks.remove(label)

    def events(self, tracker: Tracker | None = None) -> list[dict[str, Any]]:
        """SlotSet events for the slots whose value in ``tracker`` differs (all without one):
        extraction runs on every message, and unchanged slots would only grow the record."""
        return [
            SlotSet(name, value)
            for name, value in self.slots().items()
            # An unset list slot reads as an empty list everywhere (slot_list): not a change.
            if tracker is None or (tracker.get_slot(name) or []) != value
        ]

    def slots(self) -> dict[str, list[str]]:
        return {
            "skills": self.has,
            "skill_ids": self.ids,
            "lacking_skills": self.lacks,
            "wanted_skills": self.wants,
        }

    def summary(self) -> str:
        return ", ".join(self.has) if self.has else "none"

    def confirmation(self) -> str | None:
        parts = []
        if self.added:
            parts.append(f"you know {join_labels(self.added)}")
        if self.new_lacks:
            parts.append(f"you're new to {join_labels(self.new_lacks)}")
        if self.removed:
            parts.append(f"I removed {join_labels(self.removed)}")
        return f"Got it: {' and '.join(parts)}." if parts else None


class ActionExtractSkills(Action):
    """Slot-mapping action: runs on every user message (see the `skills` slot in the domain)."""

    def name(self) -> str:
        return "action_extract_skills"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        state = SkillState.from_tracker(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        state.apply(latest_entities(tracker, "skill"), removing=intent == "remove_skill")
        events = state.events(tracker)
        asked = tracker.get_slot("requested_slot") == "skills_summary"
        text = tracker.latest_message.get("text") or ""
        if state.added or state.new_lacks or state.removed:
            events.append(SlotSet("skills_summary", state.summary()))
        elif asked and (_NOTHING.search(text) or intent not in INTERRUPTIONS):
            # An answer with no skill we know is still an answer: never ask the same thing twice.
            events.append(SlotSet("skills_summary", "none"))
        return events


class ActionConfirmSkills(Action):
    """Says what changed in the skill list (the extraction already happened)."""

    def name(self) -> str:
        return "action_confirm_skills"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        skills = slot_list(tracker, "skills")
        lacking = slot_list(tracker, "lacking_skills")
        mentioned = [e.get("value") for e in latest_entities(tracker, "skill") if e.get("value")]
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if not mentioned:
            dispatcher.utter_message(
                text='I couldn\'t pick out a specific skill there. Try naming a tool or task, like "Excel" or "customer service".'
            )
            return []
        if intent == "remove_skill":
            gone = [m for m in mentioned if m not in skills]
            dispatcher.utter_message(text=f"OK, I removed {join_labels(gone)}." if gone else "OK.")
        else:
            known = [m for m in mentioned if m in skills]
            new_to = [m for m in mentioned if m in lacking]
            parts = []
            if known:
                parts.append(f"you know {join_labels(known)}")
            if new_to:
                parts.append(f"you're new to {join_labels(new_to)}")
            dispatcher.utter_message(text=f"Got it: {' and '.join(parts)}." if parts else "Noted.")
        summary = join_labels(skills) if skills else "nothing yet"
        dispatcher.utter_message(
            text=f"Your skills so far: {summary}.",
            buttons=[{"title": "Update my recommendations", "payload": "/request_recommendations"}],
        )
        return []
