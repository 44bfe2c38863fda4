"""Details of one credential, and two side by side."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import (
    candidates,
    hours,
    money,
    referenced_facts,
    services,
    source_dates,
)
from actions.facts_text import (
    cost_text,
    duration_text,
    occupation_text,
    pell_text,
    source_line,
    unknown_text,
    where_text,
)
from actions.place import place_slot
from actions.programs import nearest
from actions.references import resolve_pair
from knowledge.catalog_links import occupation_links

_DELIVERY = {
    "online_self_paced": "online, self-paced",
    "online_instructor_led": "online with an instructor",
    "in_person": "in person",
    "hybrid": "hybrid",
    "testing_center": "exam at a testing center",
    "online_proctored": "online proctored exam",
}


def _formats(f: dict[str, Any]) -> str:
    return ", ".join(_DELIVERY.get(d, d) for d in f["delivery"]) or "format not recorded"


def _credit(f: dict[str, Any]) -> str:
    if f["credit"]:
        return "yes (" + ", ".join(c["issuer"] for c in f["credit"]) + ")"
    real = [a for a in f["articulations"] if not a["example"]]
    return "yes (college agreements)" if real else "none recorded"


class ActionCredentialDetails(Action):
    def name(self) -> str:
        return "action_credential_details"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        chosen, f = referenced_facts(tracker)
        if f is None:
            dispatcher.utter_message(
                text="Which credential do you mean? You can name it, or pick one from my suggestions."
            )
            return []
        jobs = occupation_text(occupation_links(services().engine, chosen, f.get("kind", "")))
        if f.get("kind") == "program":
            miles, label = nearest(f, place_slot(tracker))
            lines = [
                f"{f['name']} — {where_text(f['provider'], label, miles)}",
                f"- Cost: {cost_text(f) or 'not listed'}",
                f"- Time: {duration_text(f) or 'not listed'}",
            ]
            if pell_text(f):
                lines.append(f"- Pell grant: {pell_text(f)}")
            unknown = unknown_text(f)
            if unknown:
                lines.append(unknown)
            if jobs:
                lines.append(jobs)
            if f.get("credential_name"):
                lines.append(f"- Leads to: {f['credential_name']}")
            if f.get("prerequisites"):
                lines.append(f"- Before you start: {f['prerequisites']}")
            lines.append(f"- More: {f['url']}")
            lines.append(source_line(f, source_dates()))
            dispatcher.utter_message(text="\n".join(lines))
            return [SlotSet("focus_credential", chosen)]
        weeks = f" over about {f['weeks']:g} weeks" if f["weeks"] is not None else ""
        lines = [
            f"{f['name']} ({f['provider']})",
            f"- Cost: {money(f['cost_usd'], f['cost_note'])}"
            + (f" ({f['cost_note']})" if f["cost_note"] else ""),
            f"- Time: {hours(f['hours'])}{weeks}",
            f"- Format: {_formats(f)}",
            f"- Level: {f['level'] or 'not recorded'}",
            f"- College credit: {_credit(f)}",
            f"- More: {f['url']}",
        ]
        if jobs:
            lines.insert(1, jobs)
        lines.append(source_line(f, source_dates()))
        dispatcher.utter_message(text="\n".join(lines))
        return [SlotSet("focus_credential", chosen)]


class ActionCompare(Action):
    def name(self) -> str:
        return "action_compare"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        pair = resolve_pair(tracker.latest_message.get("text") or "", candidates(tracker))
        facts = services().search.facts(pair)
        if len(facts) < 2:
            dispatcher.utter_message(
                text="I need two credentials to compare. Ask me for recommendations first."
            )
            return []
        a, b = facts[pair[0]], facts[pair[1]]
        rows = [
            ("Provider", a["provider"], b["provider"]),
            ("Cost", money(a["cost_usd"], a["cost_note"]), money(b["cost_usd"], b["cost_note"])),
            ("Time", hours(a["hours"]), hours(b["hours"])),
            ("Format", _formats(a), _formats(b)),
            ("Level", a["level"] or "not recorded", b["level"] or "not recorded"),
            (
                "Employer recognition",
                "recorded" if a["recognition"] else "none recorded",
                "recorded" if b["recognition"] else "none recorded",
            ),
            ("College credit", _credit(a), _credit(b)),
        ]
        lines = [f"{a['name']} vs {b['name']}:"]
        lines += [f"- {label}: {x} | {y}" for label, x, y in rows]
        dispatcher.utter_message(text="\n".join(lines))
        return []
