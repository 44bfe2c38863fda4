"""Full advising conversations over the REST channel against the running stack (issue 6),
in the answer-first design (issue #16): a message naming a goal gets recommendations in that
same turn, then at most one skippable question; constraints given later narrow the list.

Each asserts what a learner must see; `chat.dump()` prints the transcript on failure."""

from __future__ import annotations

import re

import pytest

from knowledge.db import make_engine
from knowledge.intake import list_intakes
from tests.integration.chat import Chat

pytestmark = pytest.mark.integration

# The heading of a list of recommendations: "Here are 3 options for X:" or, for words that
# could mean several jobs, "Options for X:" (followed by those jobs as buttons).
LIST = re.compile(r"(Here are \d options|Options|Ways to start in|More like) ")
# The old intake form's questions, asked before any recommendation: gone.
FORM_QUESTIONS = ("hours a week can you", "highest level of school", "online, in person")


@pytest.fixture
def chat(stack) -> Chat:
    return Chat(f"http://127.0.0.1:{stack.ports.rasa}")


def recommended(chat: Chat, reply: str) -> list[dict]:
    """The cards of this turn, checked to come with a list heading and no form question."""
    cards = chat.cards()
    assert cards and LIST.search(reply), chat.dump()
    assert not any(q in reply for q in FORM_QUESTIONS), chat.dump()
    questions = [m for m in chat.last if m.get("text", "").rstrip().endswith("?")]
    assert len(questions) <= 1, chat.dump()
    return cards


def test_data_analyst_switcher(chat):
    chat.say("hi")
    chat.say("I've done Excel for years and a bit of SQL")
    assert len(recommended(chat, chat.say("I want to become a data analyst"))) == 3
    budget = chat.say("my budget is $500")
    assert "up to $500" in budget, chat.dump()
    assert all((c["cost_usd"] or 0) <= 500 for c in recommended(chat, budget)), chat.dump()
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
    cards = recommended(chat, chat.say("I want to be a phlebotomist"))
    assert any("Phlebotomy" in c["name"] for c in cards), chat.dump()
    free = chat.say("free only")
    assert "free only" in free or "fit all of that" in free, chat.dump()
    # The goal stays phlebotomy; what is shown is free or not priced.
    assert "hlebotom" in free, chat.dump()
    assert all(not c["cost_usd"] for c in chat.cards()), chat.dump()


def test_it_support_with_a_degree_goal(chat, stack):
    chat.say("hi")
    chat.say("I fix computers for family and I know some networking")
    cards = recommended(chat, chat.say("I'd like to get into IT support"))
    # IT support training: the certifications (CompTIA, Google IT Support) or Texas programs.
    it = re.compile(r"\bIT\b|help desk|CompTIA|\bA\+|network|computer", re.I)
    assert all(
        c["id"].startswith(("comptia-", "google-it")) or it.search(c["name"]) for c in cards
    ), chat.dump()
    chat.say("I have some college, I'd like to finish a degree eventually")
    plan = chat.say("what's the path from here to a bachelor's degree?")
    assert "path into" in plan and "Source: http" in plan, chat.dump()
    assert chat.tracker()["slots"]["wants_degree"] is True


def test_everything_up_front_is_not_asked_again(chat):
    reply = chat.say("I know Python and SQL and want to be a data analyst under $300")
    recommended(chat, reply)  # answered at once, with what was said
    assert "up to $300" in reply and "Python" in reply, chat.dump()
    assert "How much can you spend" not in reply, chat.dump()
    slots = chat.tracker()["slots"]
    assert slots["budget"] == "300" and slots["goal_code"]
    assert "Python" in slots["skills"]


def test_faq_mid_conversation_then_the_open_question_returns(chat):
    # Was: a FAQ in the middle of the intake form, then the form resumes. Now: the FAQ is
    # answered, then the one open question (the goal) is asked again, once, briefly.
    chat.say("hi")
    reply = chat.say("wait, what is a micro-credential exactly?")
    assert "micro-credential" in reply.lower() and "what job would you like" in reply.lower(), (
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
    recommended(chat, chat.say("I want to become a web developer"))
    recommended(chat, chat.say("I know HTML"))  # a new skill re-ranks the list
    first = [c["id"] for c in chat.cards()]
    assert len(first) == 3, chat.dump()
    more = chat.say("show me more options")
    assert not set(first) & {c["id"] for c in chat.cards()} or "don't have" in more, chat.dump()
    online = chat.say("online only please")
    assert "online" in online, chat.dump()
    cheaper = chat.say("anything cheaper?")
    assert "cheaper" in cheaper, chat.dump()


def test_compare_and_details(chat):
    recommended(chat, chat.say("I want to work in cybersecurity"))
    cards = recommended(chat, chat.say("I know some networking"))
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
