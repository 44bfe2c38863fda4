"""The answer-first conversation's one Rasa action: load the learner's profile from its slot,
read the message and decide the reply with the pure core (knowledge/advise.py), then send the
messages (texts, buttons, the credential cards the widget renders) and save the profile.

A follow-up on what was shown (cost, compare, recognition, credit, where, aid, cheaper) is
answered by the existing action for it, run here on the same tracker with the slots those
actions read mirrored from the profile; the core's own short answer is the fallback.
"""

from __future__ import annotations

import copy
import logging
from types import SimpleNamespace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import services, source_dates
from actions.credentials import ActionCompare, ActionCredentialDetails
from actions.facts_text import record_line
from actions.handoff import hand_off, intake_record
from actions.occupations import ActionOccupationFacts, ActionSkillGap
from actions.programs import ActionFinancialAid, ActionProgramLocation
from actions.recognition import ActionRecognition
from actions.recommend import ActionRefineRecommendations, card
from actions.stacking import ActionDegreeCredit, ActionStackPlan
from knowledge.advise import Readers, Reply, next_reply, understand
from knowledge.intake import upsert_intake
from knowledge.profile import LearnerProfile

log = logging.getLogger(__name__)

PROFILE_SLOT = "profile"
_DELEGATES: dict[str, type[Action]] = {
    "action_credential_details": ActionCredentialDetails,
    "action_compare": ActionCompare,
    "action_recognition": ActionRecognition,
    "action_degree_credit": ActionDegreeCredit,
    "action_program_location": ActionProgramLocation,
    "action_financial_aid": ActionFinancialAid,
    "action_refine_recommendations": ActionRefineRecommendations,
    "action_skill_gap": ActionSkillGap,
    "action_occupation_facts": ActionOccupationFacts,
    "action_stack_plan": ActionStackPlan,
}
_REFINE_INTENT = {"cheaper": "ask_cheaper", "shorter": "ask_shorter"}
_readers: Readers | None = None


def readers() -> Readers:
    """The core's parsers, built once per process. Skills come from the NLU's entities."""
    global _readers
    if _readers is None:
        from knowledge.language import detect_language
        from knowledge.places import find_place

        svc = services()
        _readers = Readers(
            goals=svc.goals,
            skills=None,
            language=detect_language,
            place=find_place,
            find_by_name=svc.search.find_by_name,
        )
    return _readers


def _skills(tracker: Tracker) -> list[Any]:
    return [
        SimpleNamespace(
            label=e["value"],
            skill_id=e.get("skill_id") or "",
            role=e.get("role") or "has",
            start=e.get("start"),
        )
        for e in tracker.latest_message.get("entities") or []
        if e.get("entity") == "skill" and e.get("value")
    ]


def mirrored_slots(p: LearnerProfile) -> dict[str, Any]:
    """The slots the existing actions (follow-ups, hand-off records) read, from the profile."""
    place = (
        {
            "name": p.place.name,
            "kind": p.place.kind,
            "state": p.place.state,
            "lat": p.place.lat,
            "lon": p.place.lon,
        }
        if p.place
        else None
    )
    has = [s for s in p.skills if s.role == "has"]
    return {
        "goal": p.goal.title if p.goal else None,
        "goal_code": p.goal.code if p.goal else None,
        "budget": p.budget,
        "weekly_hours": p.weekly_hours,
        "format": p.format,
        "education_level": p.education,
        "wants_degree": p.wants_degree,
        "place": place,
        "skills": [s.label for s in has],
        "skill_ids": [s.skill_id for s in has],
        "lacking_skills": p.skill_labels("lacks"),
        "wanted_skills": p.skill_labels("wants"),
        "recommendations": [s.id for s in p.shown],
        "shown_credentials": list(p.seen),
        "focus_credential": p.focus,
    }


_SELECTED = {"utter_faq": "faq", "utter_chitchat": "chitchat"}
_RESPONSES = {
    "utter_help": "Here's what I can do: suggest credentials and training for the job you want, "
    "within your budget, time and place; say if employers recognize them and if they count "
    "toward a degree; and show what a job pays. Tell me a job or a field to start.",
    "utter_iamabot": "I'm a bot, not a person. If you want, I can pass your answers to a human "
    'adviser: just say "talk to an adviser".',
    "utter_out_of_scope": "Sorry, I can't help with that. I can suggest short credentials and "
    "training for a job you want, and tell you what they cost, how long they take and where.",
}


class ActionAdvise(Action):
    def name(self) -> str:
        return "action_advise"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        profile = LearnerProfile.from_dict(tracker.get_slot(PROFILE_SLOT))
        text = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        r = readers()
        facts = understand(text, profile, r, intent=intent, skills=_skills(tracker))
        dates = source_dates()
        reply = next_reply(
            profile,
            facts,
            services().search,
            r,
            line=lambda f, miles, place: record_line(
                f, miles=miles, place=place, source_dates=dates
            ),
        )
        mirror = mirrored_slots(reply.profile)
        events: list[dict[str, Any]] = []
        if reply.handoff:
            view = _with_slots(tracker, mirror)
            events += hand_off(dispatcher, view, "requested")
        elif reply.delegate and reply.delegate in _DELEGATES:
            events += self._delegate(dispatcher, tracker, reply, mirror, facts.follow_up)
        else:
            self._emit(dispatcher, tracker, reply)
        if reply.also and reply.also in _DELEGATES:
            events += self._run(dispatcher, tracker, reply.also, mirror)
        if reply.question is not None:
            dispatcher.utter_message(text=reply.question.text, buttons=reply.question.buttons)
        if reply.results:
            self._file_intake(tracker, mirror, reply)
        events = [e for e in events if e.get("name") not in mirror]
        events += [SlotSet(PROFILE_SLOT, reply.profile.to_dict())]
        events += [
            SlotSet(k, v) for k, v in mirror.items() if tracker.get_slot(k) != v and v is not None
        ]
        return events

    def _emit(self, dispatcher: CollectingDispatcher, tracker: Tracker, reply: Reply) -> None:
        facts = services().search.facts([x.id for x in reply.results]) if reply.results else {}
        for m in reply.messages:
            if m.response:
                text = _selected(tracker, m.response) or _RESPONSES.get(m.response)
                dispatcher.utter_message(text=text or _RESPONSES["utter_help"])
                continue
            dispatcher.utter_message(text=m.text, buttons=m.buttons or None)
            if m.results:
                dispatcher.utter_message(
                    json_message={
                        "type": "credential_cards",
                        "cards": [card(x, facts.get(x.id)) for x in m.results],
                    }
                )

    def _delegate(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        reply: Reply,
        mirror: dict[str, Any],
        follow_up: str | None,
    ) -> list[dict[str, Any]]:
        view = _with_slots(tracker, mirror)
        if follow_up in _REFINE_INTENT:
            view.latest_message = {
                **view.latest_message,
                "intent": {"name": _REFINE_INTENT[follow_up], "confidence": 1.0},
            }
        inner, events = self._inner(view, reply.delegate)  # type: ignore[arg-type]
        if not inner.messages:
            self._emit(dispatcher, tracker, reply)
            return []
        if reply.lead:
            dispatcher.utter_message(text=reply.lead)
        dispatcher.messages.extend(inner.messages)
        return events

    def _run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        action: str,
        mirror: dict[str, Any],
    ) -> list[dict[str, Any]]:
        inner, events = self._inner(_with_slots(tracker, mirror), action)
        dispatcher.messages.extend(inner.messages)
        return events

    @staticmethod
    def _inner(view: Tracker, action: str) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
        """Run an existing action on the profile's mirrored slots. The goal is the profile's:
        the NLU's own goal entity would be matched again by the old matcher."""
        view.latest_message = {
            **view.latest_message,
            "entities": [
                e for e in view.latest_message.get("entities") or [] if e.get("entity") != "goal"
            ],
        }
        inner = CollectingDispatcher()
        try:
            events = _DELEGATES[action]().run(inner, view, {})
        except Exception:  # the core's own answer stands in
            log.exception("follow-up action %s failed", action)
            return CollectingDispatcher(), []
        return inner, [e for e in events if isinstance(e, dict)]

    @staticmethod
    def _file_intake(tracker: Tracker, mirror: dict[str, Any], reply: Reply) -> None:
        """Recommendations shown: the adviser queue has this learner (updated, not duplicated)."""
        try:
            view = _with_slots(tracker, mirror)
            record = intake_record(
                view, "completed_intake", [{"id": x.id, "name": x.name} for x in reply.results]
            )
            upsert_intake(services().app_engine, record)
        except Exception:
            log.exception("could not file the intake record")


def _selected(tracker: Tracker, response: str) -> str | None:
    """The FAQ / chitchat answer Rasa's response selector chose for this message."""
    key = _SELECTED.get(response)
    selector = tracker.latest_message.get("response_selector") or {}
    try:
        return selector[key]["response"]["responses"][0]["text"] if key else None
    except (KeyError, IndexError, TypeError):
        return None


def _with_slots(tracker: Tracker, slots: dict[str, Any]) -> Tracker:
    view = copy.copy(tracker)
    view.slots = {**tracker.slots, **slots}
    view.latest_message = dict(tracker.latest_message)
    return view
