"""Recommend credentials for the learner's goal and limits, and refine them ("more", "cheaper",
"shorter", "online only", "in person"), through the same search the web API uses."""

from __future__ import annotations

import dataclasses
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import (
    filters_from_slots,
    goal_is_stated,
    money,
    services,
    slot_list,
    source_dates,
)
from actions.facts_text import record_line
from actions.handoff import intake_record
from actions.place import place_note, place_slot
from knowledge.intake import upsert_intake
from knowledge.recommend import MAX_K, InvalidQuery, SearchFilters, SearchResult

FOLLOW_UPS = [
    {"title": "Will employers recognize it?", "payload": "/ask_recognition"},
    {"title": "Does it count toward a degree?", "payload": "/ask_degree_credit"},
    {"title": "Cheaper options", "payload": "/ask_cheaper"},
    {"title": "More options", "payload": "/ask_more"},
]


def reason(r: SearchResult, goal_stated: bool | None = True) -> str:
    """One short line: why this credential, from the ranker's `why` facts. A link to the goal
    that we inferred (``goal_stated`` False) is "related to", never "prepares you for"."""
    why = r.why
    bits = []
    if why.get("gaps_closed"):
        bits.append("teaches " + ", ".join(why["gaps_closed"][:2]))
    elif why.get("matched_skills"):
        bits.append("builds on your " + ", ".join(why["matched_skills"][:2]))
    if why.get("prepares_for_goal"):
        bits.append("prepares you for this job" if goal_stated else "related to this job")
    if why.get("credit"):
        bits.append("has a college credit recommendation")
    if why.get("recognition"):
        bits.append("recognized by " + why["recognition"][0]["by"])
    return "; ".join(bits[:3])


def card(r: SearchResult, f: dict[str, Any] | None = None) -> dict[str, Any]:
    credit_hours = [
        c["semester_hours"] for c in r.why.get("credit", []) if c["semester_hours"] is not None
    ]
    return {
        "id": r.id,
        "name": r.name,
        "provider": r.provider,
        "cost_usd": r.cost_usd,
        # Subscriptions have no total price: the widget says "a month".
        "cost_period": "month" if money(r.cost_usd, r.cost_note).endswith("a month") else None,
        "hours": r.hours,
        "credits": max(credit_hours) if credit_hours else None,
        "credit_recommended": bool(r.why.get("credit")),
        "recognized": bool(r.why.get("recognition")),
        "url": r.url,
        # Catalog facts (the widget reads the fields above and ignores these until it shows them).
        "kind": r.kind,
        "miles": r.miles,
        "place": r.place,
        "source": (f or {}).get("source"),
        "as_of": (f or {}).get("as_of"),
        "verified": bool((f or {}).get("verified")),
        "weeks": (f or {}).get("weeks"),
        "pell_eligible": (f or {}).get("pell_eligible"),
    }


def goal_query(tracker: Tracker) -> str:
    goal = tracker.get_slot("goal") or ""
    wanted = slot_list(tracker, "wanted_skills")
    query = goal or "entry level job credential"
    if wanted:
        query += ". Wants to learn " + ", ".join(wanted)
    return query


def run_search(
    tracker: Tracker,
    filters: SearchFilters,
    *,
    exclude: list[str] | None = None,
    k: int = 3,
    allow_unknown_cost: bool = True,
) -> tuple[list[SearchResult], bool]:
    """Search with the learner's limits; returns (results, some_costs_unknown).

    With a budget, results are ranked by relevance first and then kept if their cost is known to
    fit, or (unless `allow_unknown_cost` is off) not recorded, so a cheap but unrelated credential
    never outranks a relevant one whose price isn't published. A credential known to cost more
    is never shown."""
    search = services().search
    kwargs = dict(
        user_skill_ids=[s for s in slot_list(tracker, "skill_ids") if s],
        target_occupation=tracker.get_slot("goal_code"),
        exclude=exclude or [],
    )
    query = goal_query(tracker)
    try:
        if filters.max_cost is None or not allow_unknown_cost:
            results = search.search(query, k=k, filters=filters, **kwargs)
            return results, any(r.cost_usd is None for r in results)
        relaxed = dataclasses.replace(filters, max_cost=None)
        pool = search.search(query, k=min(MAX_K, k * 10), filters=relaxed, **kwargs)
        results = [r for r in pool if r.cost_usd is None or r.cost_usd <= filters.max_cost][:k]
        if len(results) < k:
            have = {r.id for r in results}
            strict = search.search(query, k=k, filters=filters, **kwargs)
            results += [r for r in strict if r.id not in have][: k - len(results)]
    except InvalidQuery:
        return [], False
    return results, any(r.cost_usd is None for r in results)


def present(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    results: list[SearchResult],
    head: str,
    filled: bool,
) -> list[dict[str, Any]]:
    facts = services().search.facts([r.id for r in results])
    dates = source_dates()
    goal_code = tracker.get_slot("goal_code")
    lines = [head]
    for i, r in enumerate(results, 1):
        f = facts[r.id]
        why = reason(r, goal_is_stated(r.id, r.kind, goal_code) if goal_code else True)
        line = record_line(f, miles=r.miles, place=r.place, source_dates=dates)
        lines.append(f"{i}. {line}" + (f" Why: {why}." if why else ""))
    if filled and filters_from_slots(tracker).max_cost is not None:
        lines.append("Some costs are not recorded: check the price before you enroll.")
    place = place_slot(tracker)
    note = place_note(place)
    if note:
        lines.append(note)
    elif place is None and any(r.kind == "program" for r in results):
        lines.append("Tell me your city or ZIP code and I'll show the programs near you first.")
    dispatcher.utter_message(text="\n".join(lines), buttons=FOLLOW_UPS)
    dispatcher.utter_message(
        json_message={
            "type": "credential_cards",
            "cards": [card(r, facts.get(r.id)) for r in results],
        }
    )
    shown = slot_list(tracker, "shown_credentials")
    shown += [r.id for r in results if r.id not in shown]
    return [
        SlotSet("recommendations", [r.id for r in results]),
        SlotSet("shown_credentials", shown),
        SlotSet("focus_credential", results[0].id),
    ]


def recommend_head(tracker: Tracker, results: list[SearchResult]) -> str:
    goal = tracker.get_slot("goal")
    # Say which delivery format the list is limited to (it may have just changed).
    kind = {"online": "online ", "in_person": "in-person ", "hybrid": "hybrid "}.get(
        filters_from_slots(tracker).format or "", ""
    )
    place = place_slot(tracker)
    near = f" near {place['name']}" if place and place.get("state") == "TX" else ""
    return (
        f"Here are {len(results)} {kind}options for your goal ({goal}){near}:"
        if goal
        else f"Here are some {kind}options{near}:"
    )


def recommend_again(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """The same question again with the learner's current limits and place (after a new place)."""
    results, filled = run_search(tracker, filters_from_slots(tracker))
    if not results:
        dispatcher.utter_message(text="I couldn't find options that fit all of that there.")
        return []
    return present(dispatcher, tracker, results, recommend_head(tracker, results), filled)


class ActionRecommend(Action):
    def name(self) -> str:
        return "action_recommend"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        results, filled = run_search(tracker, filters_from_slots(tracker))
        if not results:
            dispatcher.utter_message(
                text='I couldn\'t find a credential that fits all of that. Try a bigger budget, or say "either" for the format.'
            )
            return []
        events = present(dispatcher, tracker, results, recommend_head(tracker, results), filled)
        # A completed intake goes to the adviser queue (updated, not duplicated, on re-runs).
        record = intake_record(
            tracker, "completed_intake", [{"id": r.id, "name": r.name} for r in results]
        )
        upsert_intake(services().app_engine, record)
        return events


class ActionRefineRecommendations(Action):
    def name(self) -> str:
        return "action_refine_recommendations"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        filters = filters_from_slots(tracker)
        current = slot_list(tracker, "recommendations")
        facts = services().search.facts(current) if current else {}
        exclude = slot_list(tracker, "shown_credentials") if intent == "ask_more" else current
        events: list[dict[str, Any]] = []
        note = ""
        if intent == "ask_cheaper":
            # Cheaper than the priciest option shown (with a recorded cost), or the budget.
            costs = [f["cost_usd"] for f in facts.values() if f["cost_usd"] is not None]
            ceiling = max(costs) if costs else filters.max_cost
            if ceiling is not None and ceiling <= 0:
                if costs and len(costs) == len(facts):
                    text = 'These are already free. Want more free options? Say "more".'
                else:  # only free or unpriced ones were shown: never call an unknown price free
                    why = (
                        "the ones with a recorded price are free, and the others don't publish "
                        "their prices"
                        if costs
                        else "none of these has a recorded price"
                    )
                    text = (
                        f"I can't find anything cheaper: {why}. Check the price before you "
                        'enroll, or say "more" for other options.'
                    )
                dispatcher.utter_message(text=text)
                return []
            filters = dataclasses.replace(
                filters, max_cost=(ceiling - 1) if ceiling is not None else 1_000_000
            )
            note = "cheaper options (with a recorded cost)"
        elif intent == "ask_shorter":
            known = [f["hours"] for f in facts.values() if f["hours"] is not None]
            filters = dataclasses.replace(filters, max_hours=(min(known) - 1) if known else 100_000)
            note = "shorter options (with recorded hours)"
        else:
            note = "more options"
        # "cheaper" and "shorter" compare recorded numbers: unknown costs can't be cheaper.
        results, filled = run_search(
            tracker, filters, exclude=exclude, allow_unknown_cost=intent != "ask_cheaper"
        )
        if not results:
            dispatcher.utter_message(
                text=f"I don't have {note} on record for this goal. "
                "Many providers don't publish hours or prices, so I can't compare those."
            )
            return events
        head = f"Here are {len(results)} {note}:"
        return events + present(dispatcher, tracker, results, head, filled)
