"""Action tests built from tracker fixtures (as in Rasa's financial-demo), on the real knowledge DB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.credentials import ActionCompare, ActionCredentialDetails
from actions.handoff import ActionFallback, ActionHandoff
from actions.intake import ValidateIntakeForm
from actions.occupations import ActionOccupationFacts, ActionSkillGap
from actions.recognition import ActionRecognition
from actions.recommend import ActionRecommend, ActionRefineRecommendations
from actions.skills import ActionConfirmSkills, ActionExtractSkills
from actions.stacking import ActionDegreeCredit, ActionStackPlan
from knowledge.intake import list_intakes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "trackers"


def tracker(
    name: str, text: str | None = None, intent: str | None = None, entities=None, **slots
) -> Tracker:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    data["slots"].update(slots)
    if text is not None:
        data["latest_message"]["text"] = text
    if intent is not None:
        data["latest_message"]["intent"] = {"name": intent, "confidence": 0.9}
    if entities is not None:
        data["latest_message"]["entities"] = entities
    return Tracker.from_dict(data)


def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, t, {})
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return dispatcher.messages, slots


def text_of(messages) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


# -- skills ------------------------------------------------------------------------------------


def test_extract_skills_keeps_roles_apart():
    _, slots = run(ActionExtractSkills(), tracker("skills_given"))
    assert slots["skills"] == ["Microsoft Excel", "Python"]
    assert slots["skill_ids"] == ["microsoft-excel", "python"]
    assert slots["lacking_skills"] == ["SQL"]
    assert slots["skills_summary"] == "Microsoft Excel, Python"


def test_extract_skills_remove_intent_drops_the_skill():
    t = tracker(
        "skills_given",
        intent="remove_skill",
        entities=[{"entity": "skill", "value": "Python", "role": "has", "skill_id": "python"}],
        skills=["Microsoft Excel", "Python"],
        skill_ids=["microsoft-excel", "python"],
    )
    _, slots = run(ActionExtractSkills(), t)
    assert slots["skills"] == ["Microsoft Excel"] and slots["skill_ids"] == ["microsoft-excel"]


def test_extract_skills_sets_only_the_slots_that_changed():
    known = {
        "skills": ["Microsoft Excel"],
        "skill_ids": ["microsoft-excel"],
        "lacking_skills": [],
        "wanted_skills": [],
    }
    nothing_new = tracker("skills_given", text="what next?", intent="help", entities=[], **known)
    _, slots = run(ActionExtractSkills(), nothing_new)
    assert slots == {}  # runs on every message: no event when nothing changed
    one_more = tracker(
        "skills_given",
        text="also SQL",
        intent="inform_skills",
        entities=[{"entity": "skill", "value": "SQL", "role": "has", "skill_id": "sql"}],
        **known,
    )
    _, slots = run(ActionExtractSkills(), one_more)
    assert slots == {
        "skills": ["Microsoft Excel", "SQL"],
        "skill_ids": ["microsoft-excel", "sql"],
        "skills_summary": "Microsoft Excel, SQL",
    }


def test_extract_skills_accepts_no_experience_only_when_asked():
    asked = tracker(
        "skills_given",
        text="nothing really, I'm just starting out",
        entities=[],
        requested_slot="skills_summary",
    )
    _, slots = run(ActionExtractSkills(), asked)
    assert slots["skills_summary"] == "none"
    not_asked = tracker("skills_given", text="nothing really, I'm just starting out", entities=[])
    _, slots = run(ActionExtractSkills(), not_asked)
    assert "skills_summary" not in slots


def test_confirm_skills_lists_what_changed():
    t = tracker("skills_given", skills=["Microsoft Excel", "Python"], lacking_skills=["SQL"])
    messages, _ = run(ActionConfirmSkills(), t)
    assert "you know Microsoft Excel and Python" in text_of(messages)
    assert "new to SQL" in text_of(messages)


# -- intake form validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slot", "value", "expected"),
    [
        ("budget", "my budget is $300", "300"),
        ("budget", "free only", "0"),
        ("budget", "no budget limit", "none"),
        ("budget", "banana", None),
        ("weekly_hours", "about 10 hours a week", "10"),
        ("weekly_hours", "not sure", "unknown"),
        ("format", "in person", "in_person"),
        ("format", "either is fine", "any"),
        ("education_level", "I have a GED", "high_school"),
        ("education_level", "bachelor", "bachelor"),
    ],
)
def test_form_validation_normalizes_answers(slot, value, expected):
    form = ValidateIntakeForm()
    dispatcher = CollectingDispatcher()
    t = tracker("skills_given", text=value)
    result = getattr(form, f"validate_{slot}")(value, dispatcher, t, {})
    assert result[slot] == expected
    if expected is None:
        assert dispatcher.messages, "an unclear answer is asked again with an example"


@pytest.mark.parametrize(
    ("slot", "stored"),
    [
        ("budget", "300"),
        ("budget", "none"),
        ("budget", "0"),
        ("weekly_hours", "10"),
        ("weekly_hours", "unknown"),
        ("format", "in_person"),
        ("format", "any"),
        ("education_level", "some_college"),
    ],
)
def test_stored_answers_survive_revalidation(slot, stored):
    """A later message ("online only") re-opens the form, which re-validates every stored
    answer against that message: each stored value must validate to itself, silently."""
    form = ValidateIntakeForm()
    dispatcher = CollectingDispatcher()
    t = tracker("after_recommendations", text="online only", intent="inform_format")
    assert getattr(form, f"validate_{slot}")(stored, dispatcher, t, {})[slot] == stored
    assert dispatcher.messages == []


def test_skills_are_confirmed_only_when_asked_or_given():
    form = ValidateIntakeForm()
    revalidated = CollectingDispatcher()
    t = tracker("after_recommendations", text="online only", intent="inform_format", entities=[])
    form.validate_skills_summary("Microsoft Excel, Python", revalidated, t, {})
    assert revalidated.messages == []
    asked = CollectingDispatcher()
    t = tracker("skills_given", requested_slot="skills_summary", skills=["Microsoft Excel"])
    form.validate_skills_summary("Microsoft Excel, Python", asked, t, {})
    assert "you know" in text_of(asked.messages)


def test_goal_is_matched_to_onet(services):
    form = ValidateIntakeForm()
    result = form.validate_goal(
        "pharmacy tech", CollectingDispatcher(), tracker("skills_given"), {}
    )
    assert result["goal_code"] == "29-2052.00"
    dispatcher = CollectingDispatcher()
    assert form.validate_goal("zzzz qqqq", dispatcher, tracker("skills_given"), {})["goal"] is None
    assert "not sure which job" in text_of(dispatcher.messages)


# -- recommendations ---------------------------------------------------------------------------


def test_recommend_gives_three_with_facts_and_files_an_intake(services):
    messages, slots = run(ActionRecommend(), tracker("goal_data_analyst"))
    assert len(slots["recommendations"]) == 3
    text = messages[0]["text"]
    cards = messages[1]["custom"]["cards"]
    assert [c["id"] for c in cards] == slots["recommendations"]
    for i, c in enumerate(cards, 1):
        # a program reads "Name — where: $X required (...)", a credential "Name (provider): $X"
        program = c["kind"] == "program"
        head = f"{i}. {c['name']} — " if program else f"{i}. {c['name']} ({c['provider']})"
        assert head in text
        if c["cost_usd"] is None:  # said once, with where to look
            assert "cost" in text and "not listed" in text
        else:
            cost = "free" if c["cost_usd"] == 0 else f"${c['cost_usd']:,.0f}"
            assert (f": {cost} required" if program else f"{head}: {cost}") in text
        assert c["source"] and c["as_of"] and c["kind"] in ("program", "credential")
    records = list_intakes(services.app_engine, sender_id="fixture-goal")
    assert len(records) == 1 and records[0].reason == "completed_intake"
    run(ActionRecommend(), tracker("goal_data_analyst"))
    assert len(list_intakes(services.app_engine, sender_id="fixture-goal")) == 1, (
        "updated, not duplicated"
    )


def test_budget_is_respected_and_unknown_costs_are_marked(services):
    messages, slots = run(ActionRecommend(), tracker("goal_data_analyst", budget="50"))
    facts = services.search.facts(slots["recommendations"])
    for cid in slots["recommendations"]:
        cost = facts[cid]["cost_usd"]
        assert cost is None or cost <= 50
    if any(facts[c]["cost_usd"] is None for c in slots["recommendations"]):
        assert "check the price" in messages[0]["text"]


def test_cheaper_only_returns_cheaper_known_costs(services):
    t = tracker(
        "after_recommendations",
        text="cheaper please",
        intent="ask_cheaper",
        recommendations=["aws-solutions-architect-associate"],
        shown_credentials=["aws-solutions-architect-associate"],
    )
    messages, slots = run(ActionRefineRecommendations(), t)
    base = services.search.facts(["aws-solutions-architect-associate"])[
        "aws-solutions-architect-associate"
    ]["cost_usd"]
    facts = services.search.facts(slots.get("recommendations", []))
    assert facts, text_of(messages)
    assert all(f["cost_usd"] is not None and f["cost_usd"] < base for f in facts.values())


def test_cheaper_never_calls_an_unrecorded_price_free(services):
    """A "free only" learner shown credentials whose prices are not recorded asks for cheaper
    ones: the bot must not say they are free."""
    unknown = [
        cid
        for cid, f in services.search.facts([d.id for d in services.search.docs]).items()
        if f["cost_usd"] is None
    ][:2]
    free = [
        cid
        for cid, f in services.search.facts([d.id for d in services.search.docs]).items()
        if f["cost_usd"] == 0
    ][:1]
    assert unknown and free
    for shown in (unknown, unknown + free):
        t = tracker(
            "after_recommendations",
            text="cheaper options",
            intent="ask_cheaper",
            budget="0",
            recommendations=shown,
            shown_credentials=shown,
        )
        messages, _ = run(ActionRefineRecommendations(), t)
        reply = text_of(messages)
        assert "already free" not in reply and "can't find anything cheaper" in reply, reply
    t = tracker(
        "after_recommendations",
        text="cheaper options",
        intent="ask_cheaper",
        budget="0",
        recommendations=free,
        shown_credentials=free,
    )
    assert "already free" in text_of(run(ActionRefineRecommendations(), t)[0])


def test_more_excludes_everything_already_shown(services):
    t = tracker("after_recommendations", text="more", intent="ask_more")
    _, slots = run(ActionRefineRecommendations(), t)
    assert not set(slots["recommendations"]) & {
        "comptia-a-plus",
        "google-it-support",
        "comptia-network-plus",
    }


# -- recognition, credit, stacking -------------------------------------------------------------


def test_degree_credit_resolves_the_second_one(services):
    messages, slots = run(ActionDegreeCredit(), tracker("after_recommendations"))
    assert slots["focus_credential"] == "google-it-support"
    text = text_of(messages)
    assert "Google IT Support" in text and "Source: http" in text
    assert "Example Community College" not in text, "example data is never presented as real"


def test_degree_credit_without_context_asks_which(services):
    t = tracker(
        "after_recommendations",
        text="does it count?",
        recommendations=None,
        shown_credentials=None,
        focus_credential=None,
    )
    messages, _ = run(ActionDegreeCredit(), t)
    assert "Which credential" in text_of(messages)


def test_recognition_for_the_named_one(services):
    t = tracker(
        "after_recommendations",
        text="do employers recognize the Google one?",
        intent="ask_recognition",
    )
    messages, slots = run(ActionRecognition(), t)
    assert slots["focus_credential"] == "google-it-support"
    assert "Source: http" in text_of(messages) or "no recorded employer recognition" in text_of(
        messages
    )


def test_stack_plan_totals_only_known_numbers(services):
    t = tracker(
        "after_recommendations", text="how do I stack these into a degree", intent="ask_stack_plan"
    )
    messages, _ = run(ActionStackPlan(), t)
    text = text_of(messages)
    assert "path into" in text and "Source: http" in text
    assert "example program" not in text


def test_stack_plan_uses_example_programs_only_for_their_tenant(services):
    t = tracker(
        "after_recommendations",
        text="how do I stack these into a degree",
        intent="ask_stack_plan",
        tenant="example-community-college",
    )
    text = text_of(run(ActionStackPlan(), t)[0])
    assert "Example Community College" in text and "example program" in text


# -- occupations -------------------------------------------------------------------------------


def test_skill_gap_for_the_goal(services):
    t = tracker("after_recommendations", text="what am I missing?", intent="ask_skill_gap")
    text = text_of(run(ActionSkillGap(), t)[0])
    assert "computer user support specialists" in text.lower()
    assert "- " in text


def test_occupation_facts_come_from_bls_and_onet(services):
    t = tracker(
        "after_recommendations",
        text="how much do welders make",
        intent="ask_occupation_facts",
        entities=[{"entity": "goal", "value": "welders"}],
    )
    text = text_of(run(ActionOccupationFacts(), t)[0])
    assert "Welders" in text and "(BLS, May 2024)" in text and "Similar jobs" in text


# -- details and comparison --------------------------------------------------------------------


def test_compare_first_and_third(services):
    t = tracker(
        "after_recommendations",
        text="compare the first and the third",
        intent="compare_credentials",
    )
    text = text_of(run(ActionCompare(), t)[0])
    assert text.startswith("CompTIA A+") and " vs CompTIA Network+" in text
    assert "- Cost:" in text and "- College credit:" in text


def test_details_say_unknown_is_unknown(services):
    t = tracker(
        "after_recommendations",
        text="tell me more about the first one",
        intent="ask_credential_details",
    )
    text = text_of(run(ActionCredentialDetails(), t)[0])
    facts = services.search.facts(["comptia-a-plus"])["comptia-a-plus"]
    assert ("not recorded" in text) == (
        facts["cost_usd"] is None or facts["hours"] is None or not facts["level"]
    )


# -- hand-off ----------------------------------------------------------------------------------


def test_handoff_stores_an_intake_record(services):
    messages, slots = run(
        ActionHandoff(),
        tracker("after_recommendations", text="I want a person", intent="human_handoff"),
    )
    (record,) = [
        r
        for r in list_intakes(services.app_engine, sender_id="fixture-after-recs")
        if r.reason == "requested"
    ]
    assert record.id == slots["handoff_id"]
    assert record.goal_code == "15-1232.00"
    assert {
        "label": "Technical support",
        "skill_id": "technical-support",
        "role": "has",
    } in record.skills
    assert record.recommendations[0]["id"] == "comptia-a-plus"
    assert record.id[:8].upper() in text_of(messages)


def test_two_failed_attempts_hand_off(services):
    first, slots = run(ActionFallback(), tracker("after_recommendations", text="asdf"))
    assert "say it another way" in text_of(first) and slots["failed_attempts"] == 1
    second, slots = run(
        ActionFallback(), tracker("after_recommendations", text="qwer", failed_attempts=1)
    )
    assert "bring in a person" in text_of(second) and slots["failed_attempts"] == 0


def _asking(slot: str, text: str) -> Tracker:
    data = json.loads((FIXTURES / "skills_given.json").read_text())
    data["slots"]["requested_slot"] = slot
    data["active_loop"] = {"name": "intake_form"}
    data["latest_message"]["text"] = text
    data["latest_message"]["intent"] = {"name": "nlu_fallback", "confidence": 0.25}
    return Tracker.from_dict(data)


@pytest.mark.parametrize(
    ("slot", "text", "expected"),
    [("format", "either", "any"), ("weekly_hours", "10", "10"), ("budget", "no limit", "none")],
)
def test_low_confidence_answer_to_the_question_asked_is_taken(slot, text, expected):
    dispatcher = CollectingDispatcher()
    events = ActionFallback().run(dispatcher, _asking(slot, text), {})
    assert events == [{"event": "slot", "timestamp": None, "name": slot, "value": expected}]
    assert dispatcher.messages == []


def test_low_confidence_non_answer_asks_to_rephrase():
    dispatcher = CollectingDispatcher()
    events = ActionFallback().run(dispatcher, _asking("format", "high school"), {})
    assert dispatcher.messages, "asked to rephrase"
    assert {e["name"]: e["value"] for e in events if e.get("event") == "slot"} == {
        "failed_attempts": 1.0
    }


def test_domain_parts_actions_read_equal_rasas_domain():
    """Rasa sends no domain with action calls (selective domain); the actions read these parts
    from the same files, and they must say what Rasa's own domain says."""
    from rasa.shared.core.domain import Domain

    from actions.domain_file import DOMAIN_DIR, bot_domain
    from actions.handoff import ValidateHandoffContactForm

    rasa_domain = Domain.load(str(DOMAIN_DIR)).as_dict()
    ours = bot_domain()
    # The one form left (the hand-off's contact question; the intake form gave way to
    # answer-first advising): its slots as the action reads them equal Rasa's.
    form = ValidateHandoffContactForm()
    assert form.domain_slots({}) == form.domain_slots(rasa_domain) == ["learner_contact"]
    from rasa.shared.core.constants import DEFAULT_SLOT_NAMES

    assert set(ours["slots"]) == set(rasa_domain["slots"]) - set(DEFAULT_SLOT_NAMES)
    assert (
        ours["session_config"]["carry_over_slots_to_new_session"]
        == rasa_domain["session_config"]["carry_over_slots_to_new_session"]
    )


@pytest.mark.parametrize(
    ("text", "intent", "requested"),
    [
        ("what is a micro-credential?", "faq", None),
        ("I want to become a data analyst", "inform_goal", "goal"),
        ("under $500", "inform_budget", "budget"),
        ("remove it", "remove_skill", None),
        ("nothing really", "inform_skills", None),
        ("thanks, bye", "goodbye", "format"),
    ],
)
def test_extract_skills_does_nothing_when_rasa_skips_it(text, intent, requested):
    """bot/rasa_speedups.py skips the HTTP call of action_extract_skills when the message names
    no skill and the skills question is not being asked; the action must do nothing then."""
    from bot.rasa_speedups import SLOT_ACTION_TRIGGERS

    entities, asked = SLOT_ACTION_TRIGGERS["action_extract_skills"]
    assert requested not in asked
    t = tracker("skills_given", text=text, intent=intent, entities=[], requested_slot=requested)
    messages, slots = run(ActionExtractSkills(), t)
    assert (messages, slots) == ([], {})
    with_skill = [{"entity": next(iter(entities)), "value": "SQL", "role": "has"}]
    t = tracker("skills_given", text=text, intent="inform_skills", entities=with_skill)
    assert run(ActionExtractSkills(), t)[1]  # a skill named: it acts
