"""The intake form's questions (Rasa calls `action_ask_<slot>`), with quick-reply buttons.

Kept in code rather than as domain responses so each question can be one small class, and the
texts sit in one file for review (plain language, 8th-grade level).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

REPHRASE = (
    "Sorry, I didn't get that. Could you say it another way? "
    'For example: "I know Excel" or "I want to be a data analyst".'
)

QUESTIONS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "skills_summary": (
        "To start: what do you know how to do today? List your skills or tools, "
        'like "Excel, customer service and a bit of Python".',
        [("I'm just starting out", "I have no experience yet")],
    ),
    "goal": ("What job would you like to have?", []),
    "budget": (
        "What can you spend on a credential?",
        [
            ("Free only", "free only"),
            ("Up to $300", "my budget is $300"),
            ("Up to $1,000", "my budget is $1000"),
            ("No limit", "no budget limit"),
        ],
    ),
    "weekly_hours": (
        "About how many hours a week can you study?",
        [
            ("About 5", "about 5 hours a week"),
            ("About 10", "about 10 hours a week"),
            ("20 or more", "20 hours a week"),
            ("Not sure", "not sure"),
        ],
    ),
    "format": (
        "Do you want to learn online, in person, or either?",
        [("Online", "online"), ("In person", "in person"), ("Either", "either is fine")],
    ),
    "education_level": (
        "Last one: what's the highest level of school you've finished?",
        [
            ("No diploma yet", "I didn't finish high school"),
            ("High school or GED", "high school"),
            ("Some college", "some college"),
            ("Associate degree", "associate degree"),
            ("Bachelor's or higher", "bachelor's degree"),
        ],
    ),
}


class _AskSlot(Action):
    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text, buttons = QUESTIONS[self.slot]
        dispatcher.utter_message(
            text=text, buttons=[{"title": t, "payload": p} for t, p in buttons]
        )
        return []


class ActionAskSkillsSummary(_AskSlot):
    slot = "skills_summary"


class ActionAskGoal(_AskSlot):
    slot = "goal"


class ActionAskBudget(_AskSlot):
    slot = "budget"


class ActionAskWeeklyHours(_AskSlot):
    slot = "weekly_hours"


class ActionAskFormat(_AskSlot):
    slot = "format"


class ActionAskEducationLevel(_AskSlot):
    slot = "education_level"
