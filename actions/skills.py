"""Intake of the learner's current skills (from the spaCy `skill` entities)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import join_labels, latest_entities, slot_list


class ActionConfirmSkills(Action):
    def name(self) -> str:
        return "action_confirm_skills"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        skills = slot_list(tracker, "skills")
        skill_ids = slot_list(tracker, "skill_ids")
        lacking = slot_list(tracker, "lacking_skills")
        new_has, new_lacks = [], []
        for ent in latest_entities(tracker, "skill"):
            label, sid, role = ent.get("value"), ent.get("skill_id"), ent.get("role") or "has"
            if not label:
                continue
            if role == "lacks":
                if label not in lacking:
                    lacking.append(label)
                    new_lacks.append(label)
                if label in skills:
                    i = skills.index(label)
                    skills.pop(i)
                    if i < len(skill_ids):
                        skill_ids.pop(i)
            elif role == "has" and label not in skills:
                skills.append(label)
                skill_ids.append(sid or "")
                new_has.append(label)
        if new_has or new_lacks:
            parts = []
            if new_has:
                parts.append(f"you know {join_labels(new_has)}")
            if new_lacks:
                parts.append(f"you're new to {join_labels(new_lacks)}")
            dispatcher.utter_message(text=f"Got it: {' and '.join(parts)}.")
        else:
            dispatcher.utter_message(
                text="I couldn't pick out specific skills from that, and that's OK. "
                'You can list tools or tasks any time, like "Excel" or "customer service".'
            )
        return [
            SlotSet("skills", skills),
            SlotSet("skill_ids", skill_ids),
            SlotSet("lacking_skills", lacking),
        ]
