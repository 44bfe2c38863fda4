"""Skill gap ("what am I missing for X?") and occupation facts (pay, education, similar jobs)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import join_labels, latest_entities, services, slot_list
from knowledge.occupations import occupation_facts, skill_gap


def occupation_code(tracker: Tracker) -> tuple[str | None, str | None]:
    """(code, title) named in this message, else the learner's goal."""
    ents = latest_entities(tracker, "goal")
    if ents:
        match = services().occupations.best(str(ents[0]["value"])[:200])
        if match:
            return match.code, match.title
    return tracker.get_slot("goal_code"), tracker.get_slot("goal")


class ActionSkillGap(Action):
    def name(self) -> str:
        return "action_skill_gap"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        code, _ = occupation_code(tracker)
        if not code:
            dispatcher.utter_message(
                text='Which job do you have in mind? For example: "what am I missing for data analyst?"'
            )
            return []
        svc = services()
        gap = skill_gap(svc.engine, code, {s for s in slot_list(tracker, "skill_ids") if s})
        if gap is None or not gap.missing:
            dispatcher.utter_message(text="I don't have skill data for that job.")
            return []
        lines = [
            f"For {gap.title.lower()}, these skills matter most (O*NET), and you haven't mentioned them:"
        ]
        lines += [f"- {m.label}" for m in gap.missing]
        if gap.have:
            lines.append(f"You already have: {join_labels(list(gap.have[:5]))}.")
        names = svc.search.facts(list(gap.suggested))
        if names:
            lines.append(
                "Credentials that teach some of these: "
                + "; ".join(names[c]["name"] for c in gap.suggested if c in names)
                + "."
            )
        dispatcher.utter_message(text="\n".join(lines))
        return []


class ActionOccupationFacts(Action):
    def name(self) -> str:
        return "action_occupation_facts"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        code, _ = occupation_code(tracker)
        facts = occupation_facts(services().engine, code) if code else None
        if facts is None:
            dispatcher.utter_message(
                text='Which job? For example: "how much do medical assistants make?"'
            )
            return []
        lines = [f"{facts.title}:"]
        if facts.median_wage_usd is not None:
            lines.append(f"- Median pay: ${facts.median_wage_usd:,.0f} a year (BLS, May 2024).")
        else:
            lines.append("- Median pay: not recorded.")
        if facts.typical_education:
            # O*NET's category names carry a long explanation after " - ": keep the name.
            education = facts.typical_education.split(" - ")[0]
            lines.append(f"- Most common education: {education} (O*NET).")
        if facts.related:
            lines.append("- Similar jobs: " + ", ".join(t for _, t in facts.related) + ".")
        dispatcher.utter_message(text="\n".join(lines))
        return []
