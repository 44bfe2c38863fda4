"""Full advising conversations over the REST channel against the running stack (issue 6).

Each asserts what a learner must see; `chat.dump()` prints the transcript on failure."""

from __future__ import annotations

import re

import pytest

from knowledge.db import make_engine
from knowledge.intake import list_intakes
from tests.integration.chat import Chat

pytestmark = pytest.mark.integration

INTAKE_TAIL = ("no budget limit", "about 10 hours a week", "either is fine", "high school")


@pytest.fixture
def chat(stack) -> Chat:
    return Chat(f"http://127.0.0.1:{stack.ports.rasa}")


def finish_intake(chat: Chat, answers=INTAKE_TAIL) -> str:
    reply = ""
    for answer in answers:
        reply = chat.say(answer)
    return reply


def test_data_analyst_switcher(chat):
    chat.say("hi")
    chat.say("I've done Excel for years and a bit of SQL")
    chat.say("I want to become a data analyst")
    recs = finish_intake(
        chat, ("my budget is $500", "about 5 hours a week", "online", "bachelor's degree")
    )
    assert re.search(r"Here are 3 (online |in-person |hybrid )?options", recs), chat.dump()
    recognition = chat.say("will employers recognize the first one?")
    assert "Source: http" in recognition or "no recorded employer recognition" in recognition, (
        chat.dump()
    )
    credit = chat.say("does it count toward a degree?")
    assert "degree" in credit, chat.dump()
    plan = chat.say("how would I stack these into a degree?")
    assert "path into" in plan or "college agreement" in plan, chat.dump()


def test_healthcare_entry(chat):
    chat.say("hello")
    chat.say("I worked as a cashier and I'm good with customers")
    chat.say("I want to be a phlebotomist")
    recs = finish_intake(chat, ("free only", "not sure", "in person", "I have a GED"))
    cards = chat.cards()
    assert cards, chat.dump()
    assert any("Phlebotomy" in c["name"] for c in cards) or "fits all of that" in recs, chat.dump()


def test_it_support_with_a_degree_goal(chat, stack):
    chat.say("hi")
    chat.say("I fix computers for family and I know some networking")
    chat.say("I'd like to get into IT support")
    finish_intake(
        chat,
        (
            "no budget limit",
            "10 hours a week",
            "online",
            "some college, I'd like to finish a degree eventually",
        ),
    )
    assert any(c["id"].startswith(("comptia-", "google-it")) for c in chat.cards()), chat.dump()
    plan = chat.say("what's the path from here to a bachelor's degree?")
    assert "path into" in plan and "Source: http" in plan, chat.dump()
    assert chat.tracker()["slots"]["wants_degree"] is True


def test_everything_up_front_is_not_asked_again(chat):
    reply = chat.say("I know Python and SQL and want to be a data analyst under $300")
    assert "hours a week" in reply, chat.dump()
    slots = chat.tracker()["slots"]
    assert slots["budget"] == "300" and slots["goal_code"]
    assert "Python" in slots["skills"]


def test_faq_mid_form_then_the_form_resumes(chat):
    chat.say("hi")
    reply = chat.say("wait, what is a micro-credential exactly?")
    assert "micro-credential" in reply.lower() and "what do you know how to do" in reply.lower(), (
        chat.dump()
    )


def test_handoff_on_request_stores_an_intake_record(chat, settings):
    chat.say("hi")
    chat.say("I know Excel")
    reply = chat.say("can I talk to a real person please")
    assert "reference" in reply, chat.dump()
    records = list_intakes(make_engine(settings.app_database_url), sender_id=chat.sender)
    assert records and records[0].reason == "requested"
    assert records[0].id[:8].upper() in reply
    assert {"label": "Microsoft Excel", "role": "has"}.items() <= records[0].skills[0].items()


def test_refinements_never_break_the_limits(chat):
    chat.say("I want to become a web developer")
    finish_intake(chat, ("I know HTML", "no budget limit", "not sure", "either", "high school"))
    first = [c["id"] for c in chat.cards()]
    assert len(first) == 3, chat.dump()
    more = chat.say("show me more options")
    assert not set(first) & {c["id"] for c in chat.cards()} or "don't have" in more, chat.dump()
    online = chat.say("online only please")
    assert "online" in online, chat.dump()
    cheaper = chat.say("anything cheaper?")
    assert "cheaper" in cheaper, chat.dump()


def test_compare_and_details(chat):
    chat.say("I want to work in cybersecurity")
    chat.say("I know some networking")
    finish_intake(chat)
    cards = chat.cards()
    assert len(cards) == 3, chat.dump()
    comparison = chat.say("compare the first and the second one")
    assert f"{cards[0]['name']} vs {cards[1]['name']}" in comparison, chat.dump()
    details = chat.say("tell me more about the third one")
    assert cards[2]["name"] in details and "- Cost:" in details, chat.dump()


def test_skill_gap_and_occupation_facts(chat):
    chat.say("I know Excel and customer service")
    gap = chat.say("what skills am I missing to be a web developer?")
    assert "Web Developers".lower() in gap.lower() and "- " in gap, chat.dump()
    pay = chat.say("how much do web developers make?")
    assert "BLS, May 2024" in pay, chat.dump()


def test_restart_chitchat_and_out_of_scope(chat):
    assert "bot" in chat.say("are you a real person?").lower(), chat.dump()
    assert "can't help with that" in chat.say("can you order me a pizza?"), chat.dump()
    chat.say("I want to become a nurse aide")
    chat.say("start over")
    assert not chat.tracker()["slots"].get("goal"), chat.dump()
    assert "Stackwise" in chat.say("hello"), chat.dump()


def test_goodbye_mid_intake_closes_politely(chat):
    chat.say("hi")
    assert "Good luck" in chat.say("never mind, bye"), chat.dump()
    assert chat.tracker()["active_loop"] in ({}, None) or not chat.tracker()["active_loop"].get(
        "name"
    )
