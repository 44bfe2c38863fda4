"""HTML and script in messages are text everywhere, in Chromium: the widget (what the learner
types, what the bot sends: text, links, cards, buttons), the chat page, the adviser console
(summary, transcript, notes) and its CSV/JSON exports. Refused messages say why and give the
text back."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from knowledge.intake import IntakeRecord, save_intake
from tests.browser.conftest import TENANT
from tests.browser.test_console import add_user, login
from tests.browser.test_widget import W, wait_for_new_bot
from tests.integration.chat import Chat

pytestmark = pytest.mark.integration

# Each payload bumps window.__xss if it ever runs.
IMG = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'
SCRIPT = "<script>window.__xss=(window.__xss||0)+1</script>"
SVG = '<svg onload="window.__xss=(window.__xss||0)+1"></svg>'
JS_URL = "javascript:window.__xss=(window.__xss||0)+1"


def assert_nothing_ran(page) -> None:
    page.wait_for_timeout(300)  # an onerror of a broken <img> fires asynchronously
    assert page.evaluate("window.__xss") is None


def hostile_bot_messages() -> list[dict]:
    return [
        {"recipient_id": "x", "text": f"Here: {IMG} and {SCRIPT} [click]({JS_URL}) {SVG}"},
        {
            "recipient_id": "x",
            "custom": {
                "type": "credential_cards",
                "cards": [
                    {
                        "name": f"Card {IMG}",
                        "provider": f"<b>bold</b> {SCRIPT}",
                        "url": JS_URL,
                        "cost_usd": "<i>1</i>",
                        "hours": SVG,
                    }
                ],
            },
        },
        {
            "recipient_id": "x",
            "text": "Pick one",
            "buttons": [{"title": f"Button {IMG}", "payload": "/greet"}],
        },
    ]


def test_widget_shows_what_the_learner_types_as_text_over_socketio(page, hosts):
    allowed, _ = hosts
    page.goto(allowed.url(title="Hostile input"))
    page.wait_for_function("window.StackwiseWidget && StackwiseWidget.sessionId")
    page.locator(f"{W} .launcher").click()
    wait_for_new_bot(page, 0)
    page.wait_for_function("StackwiseWidget.transport === 'socket'", timeout=30_000)
    for text in (f"{IMG} I know SQL", f"{SCRIPT} '; DROP TABLE users; --", f"{SVG} 我想 🙂"):
        before = page.locator(f"{W} .msg.bot").count()
        page.locator(f"{W} input").fill(text)
        page.keyboard.press("Enter")
        wait_for_new_bot(page, before)
        assert page.locator(f"{W} .msg.user").last.inner_text().endswith(text)
    assert_nothing_ran(page)
    root = "document.querySelector('stackwise-chat').shadowRoot"
    assert page.evaluate(f"{root}.querySelectorAll('.log img, .log script, .log svg').length") == 0

    # Over the cap (maxlength bypassed by a script): the server refuses over socket.io, the
    # widget says why and gives the text back to the composer.
    long = "x" * 2500
    page.evaluate(f"(t) => {{ const i = {root}.querySelector('input'); i.value = t; }}", long)
    page.keyboard.press("Enter")
    note = page.locator(f"{W} .msg.note").last
    note.wait_for(timeout=30_000)
    assert "too long" in note.inner_text() and "2000" in note.inner_text()
    assert page.locator(f"{W} input").input_value() == long


def test_widget_renders_hostile_bot_messages_as_text(page, hosts):
    """Whatever reaches the widget as a bot message (text, links, cards, buttons) is text."""
    allowed, _ = hosts
    page.add_init_script("window.WebSocket = undefined;")  # REST, so the reply can be staged
    page.goto(allowed.url(title="Hostile bot"))
    page.wait_for_function("window.StackwiseWidget && StackwiseWidget.sessionId")
    page.locator(f"{W} .launcher").click()
    wait_for_new_bot(page, 0)

    def hostile_reply(route) -> None:
        route.fulfill(
            status=200,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": allowed.origin},
            body=json.dumps({"messages": hostile_bot_messages()}),
        )

    page.route("**/api/chat*", hostile_reply)
    before = page.locator(f"{W} .msg.bot").count()
    page.locator(f"{W} input").fill("show me")
    page.keyboard.press("Enter")
    wait_for_new_bot(page, before)
    assert_nothing_ran(page)
    bot = " ".join(page.locator(f"{W} .msg.bot").all_inner_texts())
    assert IMG in bot and SCRIPT in bot and "[click](javascript:" in bot
    card = page.locator(f"{W} .card").last
    assert IMG in card.inner_text() and "<b>bold</b>" in card.inner_text()
    assert card.locator("a").count() == 0  # a javascript: URL never becomes a link
    assert page.locator(f"{W} .replies button").last.inner_text() == f"Button {IMG}"
    root = "document.querySelector('stackwise-chat').shadowRoot"
    assert page.evaluate(f"{root}.querySelectorAll('.log img, .log script, .log b').length") == 0
    assert page.evaluate(f"{root}.querySelectorAll('a[href^=\"javascript\"]').length") == 0

    # Reload: the stored conversation is rendered as text again.
    page.unroute("**/api/chat*")
    page.reload()
    page.wait_for_function("window.StackwiseWidget && StackwiseWidget.sessionId")
    page.evaluate("StackwiseWidget.open()")  # it may reopen by itself: it remembers
    page.locator(f"{W} .card").last.wait_for()
    assert_nothing_ran(page)
    assert IMG in page.locator(f"{W} .card").last.inner_text()


def test_widget_says_why_a_message_was_refused_and_keeps_it(page, hosts):
    allowed, _ = hosts
    page.add_init_script("window.WebSocket = undefined;")
    page.goto(allowed.url(title="Refused"))
    page.wait_for_function("window.StackwiseWidget && StackwiseWidget.sessionId")
    page.locator(f"{W} .launcher").click()
    wait_for_new_bot(page, 0)
    error = "you are sending messages faster than the advisor can answer; please wait 7 s"
    page.route(
        "**/api/chat*",
        lambda route: route.fulfill(
            status=429,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": allowed.origin, "Retry-After": "7"},
            body=json.dumps({"error": error, "retry_after_s": 7}),
        ),
    )
    page.locator(f"{W} input").fill("I know Excel")
    page.keyboard.press("Enter")
    note = page.locator(f"{W} .msg.note").last
    note.wait_for()
    assert note.inner_text() == error
    assert page.locator(f"{W} input").input_value() == "I know Excel"


def test_chat_page_shows_hostile_text_as_text(page, web):
    page.goto(web + "/")
    page.locator("#log .msg.bot").first.wait_for(timeout=60_000)
    page.locator("#message").fill(f"{IMG} {SCRIPT}")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('#log .msg.bot').length >= 2", timeout=60_000)
    assert f"{IMG} {SCRIPT}" in page.locator("#log .msg.user").last.inner_text()
    page.route(
        "**/api/chat",
        lambda route: route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps({"messages": hostile_bot_messages()}),
        ),
    )
    page.locator("#message").fill("more")
    page.keyboard.press("Enter")
    page.locator("#log .card").first.wait_for()
    assert_nothing_ran(page)
    assert IMG in page.locator("#log").inner_text()
    assert page.evaluate("document.querySelectorAll('#log img, #log script, #log b').length") == 0
    assert page.evaluate("document.querySelectorAll('#log a[href^=\"javascript\"]').length") == 0
    # A refusal is shown and the typed text comes back.
    page.unroute("**/api/chat")
    page.locator("#message").evaluate("(i, t) => { i.value = t; }", "y" * 2500)
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#log .msg.error') !== null")
    assert "too long" in page.locator("#log .msg.error").last.inner_text()
    assert page.locator("#message").input_value() == "y" * 2500


@pytest.fixture(scope="module")
def hostile_record(web_stack, app_engine):
    chat = Chat(f"http://127.0.0.1:{web_stack.ports.rasa}")
    chat.say("hi")
    chat.say(f"{IMG} I know Excel {SCRIPT}")
    marker = uuid.uuid4().hex[:6]
    record = IntakeRecord(
        sender_id=chat.sender,
        reason="requested",
        skills=[{"label": f"Excel {SVG}", "skill_id": None, "role": "has"}],
        goal=f"{IMG} analyst {marker}",
        constraints={"budget": SCRIPT, "format": "online"},
        recommendations=[{"id": "c1", "name": f"Course {IMG}", "reason": SCRIPT}],
        institution_id=TENANT,
    )
    save_intake(app_engine, record)
    add_user("hostile-adviser@example.edu", "adviser", TENANT)
    return record, marker


def test_console_and_exports_show_hostile_text_as_text(page, context, web, hostile_record):
    record, marker = hostile_record
    login(page, web, "hostile-adviser@example.edu")
    page.goto(f"{web}/console/?q={marker}")
    assert IMG in page.locator("tbody").inner_text()
    page.get_by_role("link", name=record.id[:8].upper()).click()
    main = page.inner_text("main")
    for text in (IMG, SCRIPT, SVG, f"Course {IMG}"):
        assert text in main
    assert f"{IMG} I know Excel {SCRIPT}" in page.locator("ol.transcript").inner_text()
    page.get_by_label("Adviser notes").fill(f"note {IMG}")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_label("Adviser notes").input_value() == f"note {IMG}"
    assert_nothing_ran(page)
    assert page.evaluate("document.querySelectorAll('main img, main script, main svg').length") == 0

    page.goto(f"{web}/console/?q={marker}")
    with page.expect_download() as dl:
        page.get_by_role("link", name="Export CSV").click()
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    assert IMG.replace('"', '""') in text and f"note {IMG}".replace('"', '""') in text
    with page.expect_download() as dl:
        page.get_by_role("link", name="Export JSON").click()
    data = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
    assert data["records"][0]["goal"] == f"{IMG} analyst {marker}"

    # The exports are downloads, never documents a browser would render.
    cookie = next(c for c in context.cookies() if c["name"] == "sw_session")
    for path, kind in (("export.json", "application/json"), ("export.csv", "text/csv")):
        r = httpx.get(
            f"{web}/console/{path}?q={marker}", headers={"Cookie": f"sw_session={cookie['value']}"}
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
        assert r.headers["content-disposition"].startswith("attachment;")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"].startswith("default-src 'none'")
