"""The learner's place, from any message ("welding near San Antonio", "I live in 78501",
"Harris County"), merged like skills on every message (the `place` slot's custom mapping), and
the acknowledgement when a message is only about the place."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.facts_text import TEXAS_ONLY, UNKNOWN_PLACE
from knowledge.places import Ambiguous, Place, find_place
from knowledge.recommend import DEFAULT_RADIUS_MILES

MAX_CHOICES = 3


def place_value(p: Place) -> dict[str, Any]:
    """The `place` slot's value: what the search and the replies need, nothing more."""
    return {"name": p.name, "kind": p.kind, "state": p.state, "lat": p.lat, "lon": p.lon}


def place_slot(tracker: Tracker) -> dict[str, Any] | None:
    value = tracker.get_slot("place")
    ok = isinstance(value, dict) and {"lat", "lon", "name", "state"} <= set(value)
    return value if ok else None


def in_texas(place: dict[str, Any] | None) -> bool:
    return place is not None and place.get("state") == "TX"


def place_note(place: dict[str, Any] | None) -> str | None:
    """The one line a place outside Texas gets with its recommendations."""
    return TEXAS_ONLY if place is not None and not in_texas(place) else None


def choice_buttons(amb: Ambiguous) -> list[dict[str, str]]:
    # Texts, not intent payloads: the NLU reads "I live in Springfield, IL" as inform_place.
    return [
        {"title": c.name, "payload": f"I live in {c.name}"} for c in amb.candidates[:MAX_CHOICES]
    ]


class ActionExtractPlace(Action):
    """Slot-mapping action: runs on every user message (see the `place` slot in the domain).
    An unknown or ambiguous place is said here, once; the rest of the turn is still answered."""

    def name(self) -> str:
        return "action_extract_place"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        if not text or text.startswith("/"):
            return []
        mention = find_place(text)
        if mention is None:
            return []
        if isinstance(mention.place, Place):
            value = place_value(mention.place)
            return [] if tracker.get_slot("place") == value else [SlotSet("place", value)]
        if isinstance(mention.place, Ambiguous):
            dispatcher.utter_message(
                text=f"Which {mention.text} do you mean?", buttons=choice_buttons(mention.place)
            )
            return []
        dispatcher.utter_message(text=UNKNOWN_PLACE)
        return []


class ActionPlaceAck(Action):
    """A message that only gives a place: say what changes, and search again if a list was shown."""

    def name(self) -> str:
        return "action_place_ack"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        place = place_slot(tracker)
        if place is None:  # unknown or ambiguous: action_extract_place already asked
            return []
        lines = [
            f"Got it: I'll look near {place['name']} (within {DEFAULT_RADIUS_MILES:g} miles; "
            "online programs count too)."
        ]
        again = tracker.get_slot("recommendations") and not tracker.active_loop.get("name")
        note = place_note(place)
        if note and not again:  # the new list says it once
            lines.append(note)
        if again:
            from actions.recommend import recommend_again

            dispatcher.utter_message(text=" ".join(lines))
            return recommend_again(dispatcher, tracker)
        buttons = (
            []
            if tracker.active_loop.get("name")
            else [{"title": "Find a credential", "payload": "/request_recommendations"}]
        )
        dispatcher.utter_message(text=" ".join(lines), buttons=buttons)
        return []
