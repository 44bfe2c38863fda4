"""Employer recognition for a chosen credential: recorded evidence with sources, or honest silence."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import referenced_credential, services


class ActionRecognition(Action):
    def name(self) -> str:
        return "action_recognition"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        chosen = referenced_credential(tracker)
        facts = services().search.facts([chosen]).get(chosen) if chosen else None
        if facts is None:
            dispatcher.utter_message(
                text="Which credential do you mean? You can name it, or pick one from my suggestions."
            )
            return []
        recs = facts["recognition"]
        if not recs:
            dispatcher.utter_message(
                text=f"I have no recorded employer recognition for {facts['name']}. That doesn't mean employers "
                "ignore it: search job ads for its name to see how often it's asked for."
            )
        else:
            lines = [f"Who recognizes {facts['name']}:"]
            for r in recs[:4]:
                lines.append(f"- {r['by']}: {r['evidence']} Source: {r['source']}")
            dispatcher.utter_message(text="\n".join(lines))
        return [SlotSet("focus_credential", chosen)]
