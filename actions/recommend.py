"""Recommend credentials for the learner's goal, through the same search the web API uses."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import hours, latest_entities, money, services, slot_list
from knowledge.recommend import InvalidQuery, SearchResult


def reason(r: SearchResult) -> str:
    """One short line: why this credential, from the ranker's `why` facts."""
    why = r.why
    bits = []
    if why.get("gaps_closed"):
        bits.append("teaches " + ", ".join(why["gaps_closed"][:2]))
    elif why.get("matched_skills"):
        bits.append("builds on your " + ", ".join(why["matched_skills"][:2]))
    if why.get("prepares_for_goal"):
        bits.append("prepares you for this job")
    if why.get("credit"):
        bits.append("has a college credit recommendation")
    if why.get("recognition"):
        bits.append("recognized by " + why["recognition"][0]["by"])
    return "; ".join(bits[:3])


def card(r: SearchResult) -> dict[str, Any]:
    credit_hours = [
        c["semester_hours"] for c in r.why.get("credit", []) if c["semester_hours"] is not None
    ]
    return {
        "id": r.id,
        "name": r.name,
        "provider": r.provider,
        "cost_usd": r.cost_usd,
        "hours": r.hours,
        "credits": max(credit_hours) if credit_hours else None,
        "credit_recommended": bool(r.why.get("credit")),
        "recognized": bool(r.why.get("recognition")),
        "url": r.url,
    }


class ActionRecommend(Action):
    def name(self) -> str:
        return "action_recommend"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        svc = services()
        goal_entities = latest_entities(tracker, "goal")
        goal_text = (
            goal_entities[0]["value"]
            if goal_entities
            else (tracker.latest_message.get("text") or "")
        )
        goal_text = goal_text.strip()[:300]
        match = svc.occupations.best(goal_text)
        query = f"{match.title}: {goal_text}" if match else goal_text
        try:
            results = svc.search.search(
                query or "entry level career credential",
                k=3,
                user_skill_ids=[s for s in slot_list(tracker, "skill_ids") if s],
                target_occupation=match.code if match else None,
            )
        except InvalidQuery:
            results = []
        if not results:
            dispatcher.utter_message(
                text="I couldn't find a credential for that yet. Could you name the job another way?"
            )
            return [SlotSet("goal", goal_text or None)]
        head = (
            f"For {match.title.lower()} roles, here are 3 options:"
            if match
            else "I'm not sure which job title that is, but these match what you said:"
        )
        lines = [head]
        for i, r in enumerate(results, 1):
            why = reason(r)
            lines.append(
                f"{i}. {r.name} ({r.provider}): {money(r.cost_usd)}, {hours(r.hours)}"
                + (f". {why}." if why else ".")
            )
        dispatcher.utter_message(
            text="\n".join(lines),
            buttons=[
                {
                    "title": "Does the first one count toward a degree?",
                    "payload": "/ask_degree_credit",
                },
            ],
        )
        dispatcher.utter_message(
            json_message={"type": "credential_cards", "cards": [card(r) for r in results]}
        )
        return [
            SlotSet("goal", match.title if match else goal_text),
            SlotSet("goal_code", match.code if match else None),
            SlotSet("recommendations", [r.id for r in results]),
            SlotSet("focus_credential", results[0].id),
        ]
