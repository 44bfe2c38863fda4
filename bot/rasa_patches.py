"""Changes to Rasa 3.6's behaviour when the conversation database fails, applied by
``bot/rasa_run.py`` before Rasa starts.

Rasa wraps every tracker store in ``FailSafeTrackerStore``: when reading a conversation fails it
logs the error and carries on with an empty tracker, and when saving fails it keeps the turn in
the process's memory. The learner then gets the greeting of a new conversation in the middle of
theirs, the turn exists only in one replica's memory, and a later save can write a fresh session
into the stored one. With ``strict_tracker_store`` the error is raised instead; the channels
(``bot/channels.py``) answer the learner that the message could not be taken in, and nothing is
stored for that turn.

A plain SQL tracker store's engine is also made to test pooled connections before use
(``pool_pre_ping``), so the first message after the database comes back does not fail on a
connection the outage closed (``StackwiseTrackerStore`` builds its engine that way itself).
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def _raise(error: Exception) -> None:
    raise error


def strict_tracker_store() -> None:
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore

    from bot.tracker_store import StackwiseTrackerStore

    if getattr(Agent, "_stackwise_strict", False):
        return
    create = Agent._create_tracker_store

    def create_strict(store, domain):
        failsafe = create(store, domain)
        if isinstance(failsafe, FailSafeTrackerStore):
            failsafe._on_tracker_store_error = _raise  # instead of "log and fall back"
        # StackwiseTrackerStore makes its own engine, pre-ping included.
        if isinstance(store, SQLTrackerStore) and not isinstance(store, StackwiseTrackerStore):
            ping_before_use(store)
        return failsafe

    Agent._create_tracker_store = staticmethod(create_strict)
    Agent._stackwise_strict = True


def ping_before_use(store) -> None:
    """Recreate the store's engine with ``pool_pre_ping`` (Rasa passes no such option)."""
    from bot.tracker_store import pinged_engine, replace_engine

    replace_engine(store, pinged_engine(store.engine.url.render_as_string(hide_password=False)))
