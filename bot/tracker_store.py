"""Rasa's SQL tracker store, plus deletion on request.

`stackwise serve` configures Rasa with this store (bot/endpoints.py): an SQLite file under
``var/`` by default, PostgreSQL when ``STACKWISE_TRACKER_STORE_URL`` says so.

Rasa saves a tracker at the end of every turn by appending the events it has not stored yet
(``SQLTrackerStore._additional_events``: the tracker's events after as many as the store holds
for the latest session). So deleting rows from inside an action is not enough: the end-of-turn
save would write the whole conversation back. Instead ``action_delete_my_data`` sets the slot
``data_deleted`` (knowledge.privacy.ERASURE_SLOT) once it has deleted the learner's intake
records, and this store, seeing that event among the new ones, deletes every stored event of
the conversation (all sessions) and saves nothing of the turn. The next message starts a new
conversation.
"""

from __future__ import annotations

import logging

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from knowledge.privacy import ERASURE_SLOT, delete_tracker_events

logger = logging.getLogger(__name__)


def erasure_requested(events: list[Event]) -> bool:
    return any(isinstance(e, SlotSet) and e.key == ERASURE_SLOT and e.value for e in events)


class StackwiseTrackerStore(SQLTrackerStore):
    """``type: bot.tracker_store.StackwiseTrackerStore`` with ``url:`` a database URL."""

    async def save(self, tracker: DialogueStateTracker) -> None:
        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))
        if erasure_requested(new_events):
            deleted = delete_tracker_events(self.engine, [tracker.sender_id])
            # Counts only: no conversation id in the logs.
            logger.info("conversation deleted on request (%d stored events)", deleted)
            return
        await super().save(tracker)
