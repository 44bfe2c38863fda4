"""What every action needs: the shared knowledge services (opened lazily, once per process),
tracker helpers, and the plain-language formatting of facts."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker

from actions.references import Candidate, resolve_reference
from knowledge import catalog_links, constraints
from knowledge.recommend import SearchFilters
from knowledge.services import Services, get_services

# Intents that interrupt the intake form rather than answer its question (mirrors the
# `not_intent` lists of the form's slot mappings in bot/domain/session.yml).
INTERRUPTIONS = frozenset(
    {
        "faq",
        "chitchat",
        "bot_challenge",
        "help",
        "human_handoff",
        "delete_my_data",
        "restart",
        "out_of_scope",
        "goodbye",
        "thank",
        "ask_degree_credit",
        "ask_recognition",
        "ask_stack_plan",
        "compare_credentials",
        "ask_credential_details",
        "ask_more",
        "ask_cheaper",
        "ask_shorter",
        "ask_skill_gap",
        "ask_occupation_facts",
        "ask_location",
        "ask_programs_for_credential",
        "ask_financial_aid",
        "inform_place",
        "nlu_fallback",
    }
)


def services() -> Services:
    return get_services()


def latest_entities(tracker: Tracker, entity: str) -> list[dict[str, Any]]:
    return [e for e in tracker.latest_message.get("entities", []) if e.get("entity") == entity]


def slot_list(tracker: Tracker, name: str) -> list[Any]:
    value = tracker.get_slot(name)
    return list(value) if isinstance(value, list) else []


def money(value: float | None, note: str | None = None) -> str:
    """A recorded cost in words; subscriptions say so ("$49 a month")."""
    if value is None:
        return "cost not recorded"
    if value == 0:
        return "free"
    monthly = bool(note and re.search(r"\bmonth|monthly\b", note, re.IGNORECASE))
    return f"${value:,.0f}" + (" a month" if monthly else "")


def hours(value: float | None) -> str:
    return "hours not recorded" if value is None else f"about {value:,.0f} hours"


def join_labels(labels: list[str]) -> str:
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def filters_from_slots(tracker: Tracker) -> SearchFilters:
    """The learner's stated limits as search filters (unknown or 'no limit' -> no filter)."""
    budget = tracker.get_slot("budget")
    max_cost = float(budget) if budget not in (None, constraints.NO_LIMIT) else None
    fmt = tracker.get_slot("format")
    place = tracker.get_slot("place")
    near = (
        (float(place["lat"]), float(place["lon"]))
        if isinstance(place, dict) and place.get("lat") is not None
        else None
    )
    # Programs near the place (default radius) or online; credentials are not bound to a place.
    return SearchFilters(
        max_cost=max_cost,
        format=fmt if fmt in ("online", "in_person", "hybrid") else None,
        near=near,
    )


def candidates(tracker: Tracker) -> list[Candidate]:
    """Credentials the learner has seen, most recent recommendations first."""
    ids = slot_list(tracker, "recommendations")
    ids += [i for i in slot_list(tracker, "shown_credentials") if i not in ids]
    if not ids:
        return []
    facts = services().search.facts(ids)
    by_id = {i: Candidate(i, f["name"], f["provider"]) for i, f in facts.items()}
    return [by_id[i] for i in ids if i in by_id]


def referenced_credential(tracker: Tracker) -> str | None:
    """What "it", "the second one", "the Google one" or a credential's name points to."""
    text = tracker.latest_message.get("text") or ""
    recs = candidates(tracker)
    shown = recs[: len(slot_list(tracker, "recommendations"))] or recs
    chosen = resolve_reference(text, shown, None)
    if chosen:
        return chosen
    named = services().search.find_by_name(text) if text and not text.startswith("/") else None
    return named or tracker.get_slot("focus_credential")


_SOURCE_DATES: dict[str, str | None] = {}


def source_dates() -> dict[str, str | None]:
    """Each catalog source's as-of date (ISO), read once per process: the DB is rebuilt only
    with a restart of the action server."""
    if not _SOURCE_DATES:
        found = catalog_links.source_dates(services().engine)
        _SOURCE_DATES.update({k: v.isoformat() if v else None for k, v in found.items()})
    return _SOURCE_DATES


def goal_is_stated(record_id: str, kind: str, goal_code: str | None) -> bool | None:
    """Whether the record's link to the learner's goal is stated (True) or inferred (False);
    None when it has no link to the goal."""
    if not goal_code:
        return None
    for link in catalog_links.occupation_links(services().engine, record_id, kind):
        if link.code == goal_code:
            return link.stated
    return None


def referenced_facts(tracker: Tracker) -> tuple[str | None, dict[str, Any] | None]:
    """The record the message points to (``referenced_credential``) and its facts, if known."""
    chosen = referenced_credential(tracker)
    facts = services().search.facts([chosen]).get(chosen) if chosen else None
    return chosen, facts
