"""Follow-ups about training programs: where it is and how far, which programs lead to a
credential (nearby first), and Pell / WIOA for what was shown."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import (
    referenced_credential,
    referenced_facts,
    services,
    slot_list,
    source_dates,
)
from actions.facts_text import (
    TEXAS_ONLY,
    Facts,
    offering_lines,
    pell_answer,
    record_line,
    source_line,
)
from actions.place import in_texas, place_slot
from knowledge.catalog_links import programs_leading_to
from knowledge.documents import tokenize
from knowledge.places import miles_between
from knowledge.recommend import DEFAULT_RADIUS_MILES, InvalidQuery, SearchFilters

ASK_WHICH = "Which program do you mean? You can name it, or pick one from my suggestions."
SHOW_PROGRAMS = 3
_ONLINE = "online_instructor_led"


def offering_miles(f: Facts, place: dict[str, Any] | None) -> list[float | None]:
    """Miles from the learner's place to each offering with a point (None: no place, online)."""
    out: list[float | None] = []
    for o in f.get("offerings") or []:
        if place is None or o.get("lat") is None or o.get("delivery") == _ONLINE:
            out.append(None)
        else:
            out.append(miles_between(place["lat"], place["lon"], o["lat"], o["lon"]))
    return out


def nearest(f: Facts, place: dict[str, Any] | None) -> tuple[float | None, str | None]:
    """(miles, "campus, city") of the program's nearest campus to the place."""
    best: tuple[float | None, str | None] = (None, None)
    for o, m in zip(f.get("offerings") or [], offering_miles(f, place), strict=True):
        if m is not None and (best[0] is None or m < best[0]):
            best = (m, ", ".join(x for x in (o.get("campus"), o.get("city")) if x))
    return best


def is_online(f: Facts) -> bool:
    return any(o.get("delivery") == _ONLINE for o in f.get("offerings") or [])


def location_text(f: Facts, place: dict[str, Any] | None) -> str:
    if f.get("kind") != "program":
        return (
            f"{f['name']} isn't tied to a campus: you study with {f['provider']} "
            "and take the exam online or at a testing center."
        )
    lines = [f"Where {f['name']} ({f['provider']}) is offered:"]
    lines += offering_lines(f.get("offerings") or [], offering_miles(f, place))
    if place is None:
        lines.append("Tell me your ZIP code and I'll say how far each campus is.")
    lines.append(source_line(f))
    return "\n".join(lines)


def rank_programs(
    programs: list[Facts], place: dict[str, Any] | None
) -> list[tuple[Facts, float | None, str | None]]:
    """Nearby (within the default radius) first by distance, then online, then the rest."""
    rows = [(f, *nearest(f, place)) for f in programs]

    def key(row: tuple[Facts, float | None, str | None]) -> tuple[int, float, str]:
        f, miles, _ = row
        if miles is not None and miles <= DEFAULT_RADIUS_MILES:
            return (0, miles, f["id"])
        if is_online(f):
            return (1, 0.0, f["id"])
        return (2, miles if miles is not None else float("inf"), f["id"])

    return sorted(rows, key=key)


# Words of the question itself, never part of a credential's name.
_QUESTION_WORDS = frozenset(
    [
        "which",
        "what",
        "where",
        "who",
        "any",
        "are",
        "is",
        "there",
        "programs",
        "program",
        "schools",
        "school",
        "classes",
        "class",
        "courses",
        "course",
        "training",
        "train",
        "near",
        "me",
        "around",
        "here",
        "prepare",
        "prepares",
        "for",
        "the",
        "a",
        "an",
        "to",
        "that",
        "lead",
        "leads",
        "this",
        "it",
        "certification",
        "certificate",
        "exam",
        "find",
        "can",
        "i",
        "get",
        "take",
        "study",
        "in",
        "of",
    ]
)


def credential_in_text(text: str) -> str | None:
    """The credential (not a program) a message names: the best credential search hit whose
    name shares a distinctive word with the message ("Security+", "CNA", "A+")."""
    words = set(tokenize(text)) - _QUESTION_WORDS
    if not words:
        return None
    search = services().search
    try:
        hits = search.search(text, k=5, filters=SearchFilters(kind="credential"))
    except InvalidQuery:
        return None
    for hit in hits:
        f = search.facts([hit.id]).get(hit.id) or {}
        name_words = set(tokenize(f"{hit.name} {f.get('acronym') or ''}"))
        if words & name_words:
            return hit.id
    return None


def named_credential(tracker: Tracker) -> str | None:
    """The credential a message names; a named program stands for the credential it leads to."""
    search = services().search
    text = tracker.latest_message.get("text") or ""
    found = credential_in_text(text) if text and not text.startswith("/") else None
    if found is None:
        found = referenced_credential(tracker)
    if found is None:
        return None
    f = search.facts([found]).get(found)
    if f is None:
        return None
    return f.get("credential_id") if f.get("kind") == "program" else found


class ActionProgramLocation(Action):
    def name(self) -> str:
        return "action_program_location"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        chosen, f = referenced_facts(tracker)
        if f is None:
            dispatcher.utter_message(text=ASK_WHICH)
            return []
        dispatcher.utter_message(text=location_text(f, place_slot(tracker)))
        return [SlotSet("focus_credential", chosen)]


class ActionProgramsForCredential(Action):
    def name(self) -> str:
        return "action_programs_for_credential"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        search = services().search
        cred = named_credential(tracker)
        cf = search.facts([cred]).get(cred) if cred else None
        if cf is None:
            dispatcher.utter_message(
                text='Which certification do you mean? Name it, like "CompTIA Security+".'
            )
            return []
        place = place_slot(tracker)
        ids = programs_leading_to(search.engine, cred)
        if not ids:
            dispatcher.utter_message(
                text=f"I have no training program on record that says it leads to {cf['name']}. "
                "You can prepare on your own and book the exam: "
                + (cf.get("url") or "see the certifying body's page")
                + "."
            )
            return [SlotSet("focus_credential", cred)]
        facts = search.facts(ids)
        programs = [facts[i] for i in ids if i in facts]
        if place is not None and not in_texas(place):
            # Texas campuses are no use to someone elsewhere; online ones may be.
            programs = [f for f in programs if is_online(f)]
            if not programs:
                dispatcher.utter_message(
                    text=f"I know no online program that leads to {cf['name']}. "
                    + TEXAS_ONLY.split(",")[0]
                    + "."
                )
                return [SlotSet("focus_credential", cred)]
        ranked = rank_programs(programs, place)[:SHOW_PROGRAMS]
        where = f" near {place['name']}" if in_texas(place) else ""
        lines = [f"Programs that prepare you for {cf['name']}{where}:"]
        dates = source_dates()
        for i, (f, miles, label) in enumerate(ranked, 1):
            lines.append(f"{i}. " + record_line(f, miles=miles, place=label, source_dates=dates))
        if place is not None and not in_texas(place):
            lines.append(TEXAS_ONLY.split(",")[0] + ", so these are online.")
        elif place is None:
            lines.append("Tell me your city or ZIP code and I'll put the nearest ones first.")
        dispatcher.utter_message(text="\n".join(lines))
        shown = slot_list(tracker, "shown_credentials")
        shown += [f["id"] for f, _, _ in ranked if f["id"] not in shown]
        return [
            SlotSet("recommendations", [f["id"] for f, _, _ in ranked]),
            SlotSet("shown_credentials", shown),
            SlotSet("focus_credential", ranked[0][0]["id"]),
        ]


GENERAL_AID = (
    "Pell grants pay for programs at colleges and schools that take federal aid; fill in the "
    "FAFSA (studentaid.gov) to find out what you can get. Your local American Job Center may pay "
    "for training with WIOA funds if the program is on your state's Eligible Training Provider "
    "List. Show me a program and I'll tell you what its record says."
)


class ActionFinancialAid(Action):
    def name(self) -> str:
        return "action_financial_aid"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        chosen, f = referenced_facts(tracker)
        if f is None:
            dispatcher.utter_message(text=GENERAL_AID)
            return []
        dispatcher.utter_message(text=pell_answer(f))
        return [SlotSet("focus_credential", chosen)]
