"""Employer recognition for a chosen credential: recorded evidence with sources, or honest silence."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import referenced_facts, services
from actions.facts_text import source_line


class ActionRecognition(Action):
    def name(self) -> str:
        return "action_recognition"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        chosen, facts = referenced_facts(tracker)
        if facts is None:
            dispatcher.utter_message(
                text="Which credential do you mean? You can name it, or pick one from my suggestions."
            )
            return []
        lead = ""
        if facts.get("kind") == "program":
            # A program is recognized through the credential it leads to.
            cred_id = facts.get("credential_id")
            cred = services().search.facts([cred_id]).get(cred_id) if cred_id else None
            if cred is None:
                named = facts.get("credential_name")
                dispatcher.utter_message(
                    text=f"{facts['name']} ({facts['provider']}) is a training program"
                    + (f" that says it leads to {named}" if named else "")
                    + ". I have no employer recognition on record for it. "
                    + source_line(facts)
                )
                return [SlotSet("focus_credential", chosen)]
            lead = f"{facts['name']} prepares you for {cred['name']}. "
            facts = cred
        recs = facts["recognition"]
        if not recs:
            dispatcher.utter_message(
                text=lead
                + f"I have no recorded employer recognition for {facts['name']}. That doesn't mean employers "
                "ignore it: search job ads for its name to see how often it's asked for."
            )
        else:
            lines = [lead + f"Who recognizes {facts['name']}:"]
            for r in recs[:4]:
                lines.append(f"- {r['by']}: {r['evidence']} Source: {r['source']}")
            dispatcher.utter_message(text="\n".join(lines))
        return [SlotSet("focus_credential", chosen)]
