"""Stacking toward degrees: credit recommendations, articulations and a stack plan, from stored
data only. Example institutions appear only for their own tenant, and say so."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import hours, money, referenced_credential, services, slot_list
from actions.facts_text import ladder_text
from knowledge.catalog_links import ladder_targets
from knowledge.pathways import DegreeCredit, StackPlan, degree_credit, stack_plan

ASK_WHICH = "Which credential do you mean? Tell me the job you want first and I'll suggest some."


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
            lines.append(f"- {a['institution']}, {a['program']}: {credits} (example agreement).")
    if not lines:
        return (
            f"I have no credit recommendation or college agreement on record for {dc.credential_name}. "
            "That doesn't mean no college will give credit: ask the registrar about credit for prior learning."
        )
    head = f"Yes, {dc.credential_name} can count toward a degree:"
    note = "\nColleges decide how credit applies to your program, so check with the one you pick."
    return head + "\n" + "\n".join(lines) + note


def describe_plan(plan: StackPlan) -> str:
    if not plan.credentials:
        return "I need a goal first. What job would you like to have?"
    if plan.program is None:
        names = ", ".join(c["name"] for c in plan.credentials)
        return (
            f"I don't have a recorded college agreement that turns {names} into degree credit yet. "
            "Ask a college about credit for prior learning; a credit recommendation from ACE or NCCRS helps."
        )
    p = plan.program
    where = f"{p['name']} at {p['institution']}" + (" (example program)" if p["example"] else "")
    lines = [f"Here's a path into {where}:"]
    for i, c in enumerate(plan.credentials, 1):
        lines.append(
            f"{i}. {c['name']}: {money(c['cost_usd'], c['cost_note'])}, {hours(c['hours'])}."
        )
    lines.append(f"{len(plan.credentials) + 1}. {p['name']}.")
    total = p["total_credits"]
    if plan.credits_awarded:
        covered = f"Your credentials count for {plan.credits_awarded:g} credits"
        if plan.credits_unknown:
            covered += f" (plus credit not recorded for {', '.join(plan.credits_unknown)})"
        lines.append(covered + ".")
    elif plan.credits_unknown:
        lines.append(
            f"They count toward the program, but the credit amount isn't recorded for {', '.join(plan.credits_unknown)}."
        )
    if total is not None:
        left = plan.remaining_credits
        lines.append(
            f"The degree is {total:g} credits; that leaves about {left:g}, instead of all {total:g} from scratch."
        )
    else:
        lines.append("The program's total credits aren't recorded.")
    costs = []
    if plan.known_cost_usd:
        costs.append(f"known credential costs add up to {money(plan.known_cost_usd)}")
    if plan.cost_unknown:
        costs.append(f"cost not recorded for {', '.join(plan.cost_unknown)}")
    if plan.cost_monthly:
        costs.append(
            f"{', '.join(plan.cost_monthly)} charge by the month, so the total depends on your pace"
        )
    cost = "Costs: " + ("; ".join(costs) if costs else "none recorded")
    lines.append(cost + ".")
    lines.append(f"Source: {p['source']}")
    return "\n".join(lines)


class ActionDegreeCredit(Action):
    def name(self) -> str:
        return "action_degree_credit"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        chosen = referenced_credential(tracker)
        if not chosen:
            dispatcher.utter_message(text=ASK_WHICH)
            return []
        svc = services()
        f = svc.search.facts([chosen]).get(chosen)
        if f is not None and f.get("kind") == "program":
            # A program's way into a degree is its ladder at the same provider (from the data).
            targets = [t for t, _ in ladder_targets(svc.engine, chosen)]
            found = svc.search.facts(targets)
            dispatcher.utter_message(text=ladder_text(f, [found[t] for t in targets if t in found]))
            return [SlotSet("focus_credential", chosen)]
        dc = degree_credit(
            svc.engine, chosen, institution=tracker.get_slot("tenant"), facts_for=svc.search.facts
        )
        if dc is None:
            dispatcher.utter_message(
                text="I can't find that credential any more. Could you ask again?"
            )
            return [SlotSet("focus_credential", None)]
        dispatcher.utter_message(
            text=describe_credit(dc),
            buttons=[{"title": "Plan a path to a degree", "payload": "/ask_stack_plan"}],
        )
        return [SlotSet("focus_credential", chosen)]


class ActionStackPlan(Action):
    def name(self) -> str:
        return "action_stack_plan"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        recs = slot_list(tracker, "recommendations")
        focus = referenced_credential(tracker)
        cands = ([focus] if focus else []) + [r for r in recs if r != focus]
        if not cands:
            dispatcher.utter_message(text=ASK_WHICH)
            return []
        svc = services()
        plan = stack_plan(
            svc.engine,
            cands,
            tracker.get_slot("goal_code"),
            tracker.get_slot("tenant"),
            facts_for=svc.search.facts,
        )
        dispatcher.utter_message(text=describe_plan(plan))
        return []
