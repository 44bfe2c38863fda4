"""A learner deletes their data: after they confirm (rules in data/rules/privacy.yml),
`action_delete_my_data` deletes their intake records and the log lines naming the conversation,
then sets the slot `data_deleted`, on which the tracker store (bot/tracker_store.py) deletes
every stored event of the conversation instead of saving the turn. A custom message
``{"type": "conversation_deleted"}`` tells the web widget to delete the transcript it keeps in the
browser (bot/web/static/widget.js)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import services
from knowledge.config import get_settings
from knowledge.privacy import ERASURE_SLOT, delete_intake_records, scrub_logs

DELETED_SIGNAL = "conversation_deleted"


def deleted_message(intake_records: int) -> str:
    saved = (
        f"the {intake_records} record{'s' if intake_records != 1 else ''} I saved for advisers"
        if intake_records
        else "there were no records saved for advisers"
    )
    return (
        "Done. I deleted this conversation: everything you typed and what I learned from it "
        f"(your skills, goal, budget and other answers). Also deleted: {saved}. Nothing of it "
        "is kept. If you write again, we start from scratch."
    )


class ActionDeleteMyData(Action):
    def name(self) -> str:
        return "action_delete_my_data"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        # A signed-in student's records are theirs at this institution, in any conversation.
        student_id = tracker.get_slot("student_id")
        _, deleted = delete_intake_records(
            services().app_engine,
            sender_ids=[tracker.sender_id],
            student_id=student_id or None,
            institution_id=tracker.get_slot("tenant") if student_id else None,
        )
        scrub_logs(get_settings().var_dir / "logs", [tracker.sender_id])
        dispatcher.utter_message(text=deleted_message(deleted))
        # Tells the web widget to drop its own copy of the transcript (kept in the browser).
        dispatcher.utter_message(json_message={"type": DELETED_SIGNAL})
        return [SlotSet(ERASURE_SLOT, True)]
