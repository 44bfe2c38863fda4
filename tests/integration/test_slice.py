"""The thin slice end to end over HTTP, against the real servers (no mocks), answer first
(issue #16): greet -> skills, recognized and named back -> goal -> 3 recommendations found
through FAISS in that same turn, then at most one skippable question -> "does it count toward
a degree?" answered from stored data -> the question's answer narrows the list."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from knowledge import tenants
from tests.integration.chat import Chat

pytestmark = pytest.mark.integration


def questions(messages: list[dict]) -> list[str]:
    """The texts in one reply that ask the learner something."""
    return [m["text"] for m in messages if m.get("text", "").rstrip().endswith("?")]


def test_slice_over_rest(stack):
    chat = Chat(f"http://127.0.0.1:{stack.ports.rasa}")
    hello = chat.say("hello")
    assert "Stackwise" in hello and "what job would you like" in hello.lower(), chat.dump()

    skills = chat.say("I know Excel and a bit of Python")
    assert "Microsoft Excel" in skills and "Python" in skills, chat.dump()

    # Answer first: the goal alone gets recommendations, then one question at most.
    text = chat.say("I want to become a data analyst")
    cards = chat.cards()
    assert len(cards) == 3, chat.dump()
    assert re.search(r"(Here are 3 options|Options) for ", text), chat.dump()
    for i, card in enumerate(cards, 1):
        assert f"{i}. {card['name']}" in text, chat.dump()
    assert len(questions(chat.last)) <= 1, chat.dump()

    credit = chat.say("does the first one count toward a degree?")
    assert cards[0]["name"] in credit, chat.dump()
    assert "Source: http" in credit or "no credit recommendation" in credit, chat.dump()

    # A constraint given later narrows the list and says so.
    online = chat.say("online only please")
    assert "Assuming" in online and "online" in online, chat.dump()
    assert len(chat.cards()) == 3, chat.dump()

    tr = chat.tracker()
    assert tr["slots"]["skills"] == ["Microsoft Excel", "Python"]
    assert tr["slots"]["recommendations"] == [c["id"] for c in chat.cards()]
    assert not tr.get("active_loop", {}).get("name"), "no intake form any more"


def test_parse_returns_skill_entities_with_roles(stack):
    r = httpx.post(
        f"http://127.0.0.1:{stack.ports.rasa}/model/parse",
        json={"text": "I know Excel but I don't know SQL, and I want to learn AWS"},
        timeout=30,
    ).json()
    skills = {(e["value"], e["role"]) for e in r["entities"] if e["entity"] == "skill"}
    assert ("Microsoft Excel", "has") in skills
    assert ("SQL", "lacks") in skills
    assert ("Amazon Web Services", "wants") in skills
    assert all(e.get("skill_id") for e in r["entities"] if e["entity"] == "skill")


def test_slice_through_the_web_app(stack):
    base = f"http://127.0.0.1:{stack.ports.web}"
    page = httpx.get(base + "/", timeout=10)
    assert page.status_code == 200 and "Stackwise" in page.text
    assert "Content-Security-Policy" in page.headers
    sender = f"web-{uuid.uuid4().hex[:8]}"

    def chat(message: str) -> list[dict]:
        r = httpx.post(
            base + "/api/chat",
            json={
                "sender": sender,
                "message": message,
                "session_secret": tenants.session_secret(sender),
            },
            timeout=60,
        )
        assert r.status_code == 200, r.text
        return r.json()["messages"]

    def text(messages: list[dict]) -> str:
        return "\n".join(m.get("text", "") for m in messages)

    assert "Stackwise" in text(chat("hi"))
    assert "Python" in text(chat("I've been doing Excel and a bit of python"))
    recs = chat("I'd like to be a pharmacy technician")  # recommendations in this turn
    cards = next((m["custom"]["cards"] for m in recs if "custom" in m), [])
    assert any("Pharmacy" in c["name"] for c in cards), cards
    assert cards[0]["name"] in text(chat("does it count toward a degree?"))


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"sender": "s1", "message": ""}, "non-empty"),
        ({"sender": "s1", "message": "x" * 5000}, "too long"),
        ({"sender": "s1", "message": 42}, "non-empty string"),
        ({"sender": "<script>", "message": "hi"}, "sender"),
        ({"message": "hi"}, "sender"),
    ],
)
def test_web_chat_rejects_bad_input_clearly(stack, body, needle):
    r = httpx.post(f"http://127.0.0.1:{stack.ports.web}/api/chat", json=body, timeout=10)
    assert r.status_code == 400
    assert needle in r.json()["error"]


def test_web_chat_rejects_malformed_json(stack):
    r = httpx.post(
        f"http://127.0.0.1:{stack.ports.web}/api/chat",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 400 and "valid JSON" in r.json()["error"]


def test_hostile_and_foreign_text_is_answered_as_text(stack):
    chat = Chat(f"http://127.0.0.1:{stack.ports.rasa}")
    for text in (
        "<script>alert('x')</script> I know <b>SQL</b>",
        "Hola, quiero ser analista de datos",
        "🙂🙂🙂",
    ):
        reply = chat.say(text)
        assert reply, chat.dump()
        assert "<script>" not in reply and "<b>" not in reply
