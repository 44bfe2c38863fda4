"""Stacking toward degrees: credit recommendations and articulations, from stored data only."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.context import services, slot_list
from actions.references import Candidate, resolve_reference
from knowledge import schema
from knowledge.pathways import DegreeCredit, degree_credit


def describe_credit(dc: DegreeCredit) -> str:
    lines = []
    for c in dc.credit_recommendations:
        amount = (
            f"{c['semester_hours']:g} semester hours"
            if c["semester_hours"] is not None
            else "college credit (the number of hours is not recorded here)"
        )
        level = f", {c['level'].replace('_', ' ')}" if c.get("level") else ""
        lines.append(f"- {c['issuer']} recommends {amount}{level}. Source: {c['source']}")
    for a in dc.real_articulations:
        credits = (
            f"{a['credits']:g} credits"
            if a["credits"] is not None
            else "credit (amount not recorded)"
        )
        lines.append(f"- {a['institution']}, {a['program']}: {credits}. Source: {a['source']}")
    for a in dc.articulations:
        if a["example"]:
            credits = f"{a['credits']:g} credits" if a["credits"] is not None else "credit"
            lines.append(
                f"- {a['institution']}, {a['program']}: {credits} (your college's agreement)."
            )
    if not lines:
        return (
            f"I have no credit recommendation or college agreement on record for {dc.credential_name}. "
            "That doesn't mean no college will give credit: ask the registrar about credit for prior learning."
        )
    head = f"Yes, {dc.credential_name} can count toward a degree:"
    note = "\nColleges decide how credit applies to your program, so check with the one you pick."
    return head + "\n" + "\n".join(lines) + note


class ActionDegreeCredit(Action):
    def name(self) -> str:
        return "action_degree_credit"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        svc = services()
        rec_ids = slot_list(tracker, "recommendations")
        candidates: list[Candidate] = []
        if rec_ids:
            with svc.engine.connect() as conn:
                rows = conn.execute(
                    select(schema.Credential.id, schema.Credential.name, schema.Provider.name)
                    .join(schema.Provider)
                    .where(schema.Credential.id.in_(rec_ids))
                ).all()
            by_id = {r[0]: Candidate(r[0], r[1], r[2]) for r in rows}
            candidates = [by_id[i] for i in rec_ids if i in by_id]
        text = tracker.latest_message.get("text") or ""
        chosen = resolve_reference(text, candidates, tracker.get_slot("focus_credential"))
        if not chosen:
            dispatcher.utter_message(
                text="Which credential do you mean? Tell me the job you want first and I'll suggest some."
            )
            return []
        dc = degree_credit(svc.engine, chosen)
        if dc is None:
            dispatcher.utter_message(
                text="I can't find that credential any more. Could you ask again?"
            )
            return [SlotSet("focus_credential", None)]
        dispatcher.utter_message(text=describe_credit(dc))
        return [SlotSet("focus_credential", chosen)]
