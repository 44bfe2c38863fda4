"""The embedded widget in a hostile host page, in Chromium: a full advising conversation over
socket.io, credential cards, restore after reload, keyboard only, axe-core, 320 px, REST fallback,
a refused origin."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from tests.browser.conftest import TENANT, run_axe, screenshot

pytestmark = pytest.mark.integration

W = "stackwise-chat"  # Playwright's CSS engine pierces the open shadow root

# The answer-first design (issue #16): the bot asks for the goal (or says what it can do), a
# message naming the goal gets cards at once; the other questions are skippable extras.
GOAL = "I want to become a data analyst"
ANSWERS = [
    (re.compile(r"job|goal|become|work as|career", re.I), GOAL),
    (re.compile(r"skill|know how|experience|good at|tools", re.I), "I know Excel"),
    (re.compile(r"budget|spend|cost|afford|\$", re.I), "about $500"),
    (re.compile(r"where do you live|city|ZIP", re.I), "Houston"),
    (re.compile(r"when can you|classes", re.I), "evenings"),
]


def bot_texts(page) -> list[str]:
    return page.locator(f"{W} .msg.bot").all_inner_texts()


def wait_for_new_bot(page, before: int, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if page.locator(f"{W} .msg.bot").count() > before or page.locator(f"{W} .card").count():
            page.wait_for_timeout(700)  # the rest of a multi-message answer
            return
        page.wait_for_timeout(200)
    raise AssertionError(
        "no answer from the bot; last messages: " + " | ".join(bot_texts(page)[-3:])
    )


def say(page, text: str) -> None:
    """Type into the focused composer and press Enter (keyboard only)."""
    before = page.locator(f"{W} .msg.bot").count()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    wait_for_new_bot(page, before)


def tab_to(page, predicate_js: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(predicate_js):
            return
    raise AssertionError(f"Tab never reached: {predicate_js}")


FOCUS_IN_WIDGET = "(sel) => { const r = document.querySelector('stackwise-chat').shadowRoot; const a = r.activeElement; return !!a && a.matches(sel); }"


def focused(page, selector: str) -> bool:
    return page.evaluate(FOCUS_IN_WIDGET, selector)


def test_full_conversation_by_keyboard_with_cards_reload_and_axe(page, hosts):
    allowed, _ = hosts
    page.goto(allowed.url(title="Hostile host page"))
    page.wait_for_function("window.StackwiseWidget && StackwiseWidget.sessionId")
    # The host page is untouched: its own button is still where it was, hidden by its own CSS.
    assert page.locator("#host-title").is_visible()

    # Keyboard only: Tab to the launcher, open with Enter; focus lands in the composer.
    tab_to(
        page,
        "() => document.activeElement && document.activeElement.tagName === 'STACKWISE-CHAT' && document.querySelector('stackwise-chat').shadowRoot.activeElement.classList.contains('launcher')",
    )
    launcher = page.locator(f"{W} .launcher")
    assert launcher.get_attribute("aria-expanded") == "false"
    page.keyboard.press("Enter")
    assert launcher.get_attribute("aria-expanded") == "true"
    panel = page.locator(f"{W} .panel")
    assert panel.is_visible()
    box = panel.bounding_box()
    assert box["width"] > 300 and box["height"] > 300  # hostile CSS did not collapse it
    assert focused(page, "input")
    wait_for_new_bot(page, 0)  # the greeting starts the intake
    page.wait_for_function("StackwiseWidget.transport === 'socket'", timeout=30_000)

    sent: list[str] = []
    for _ in range(4):
        if page.locator(f"{W} .card").count():
            break
        last = bot_texts(page)[-1]
        answer = next((a for rx, a in ANSWERS if rx.search(last)), GOAL)
        if not focused(page, "input"):
            page.locator(f"{W} input").focus()
        say(page, answer)
        sent.append(answer)
    cards = page.locator(f"{W} .card")
    assert cards.count() >= 1, "no credential cards; transcript: " + " | ".join(bot_texts(page))
    assert sent[-1] == GOAL, f"cards came only after {sent}: the goal alone must get them"
    first = cards.first.inner_text()
    assert re.search(r"\$|free|cost not recorded", first) and re.search(r"hours", first)
    assert cards.first.locator("a").get_attribute("rel") == "noopener noreferrer"
    page.wait_for_timeout(500)
    screenshot(page, "widget-cards.png")

    # A quick reply by keyboard: Tab from the composer backwards to the last reply button.
    replies = page.locator(f"{W} .replies button:not([disabled])")
    if replies.count():
        replies.last.focus()
        before = page.locator(f"{W} .msg.bot").count()
        page.keyboard.press("Enter")
        wait_for_new_bot(page, before)
        assert focused(page, "input")

    # Accessibility: zero serious or critical axe-core violations inside the widget.
    violations = run_axe(page, W)
    assert violations == [], json.dumps(violations, indent=1)

    # Escape closes the panel and returns focus to the launcher.
    page.locator(f"{W} input").focus()
    page.keyboard.press("Escape")
    assert not panel.is_visible() and focused(page, ".launcher")

    # Reload: the same conversation is restored (from localStorage, same session id).
    sid = page.evaluate("StackwiseWidget.sessionId")
    n_cards = cards.count()
    page.reload()
    page.wait_for_function("window.StackwiseWidget && StackwiseWidget.sessionId")
    assert page.evaluate("StackwiseWidget.sessionId") == sid
    page.locator(f"{W} .launcher").click()
    assert page.locator(f"{W} .card").count() == n_cards
    assert "data analyst" in " ".join(page.locator(f"{W} .msg.user").all_inner_texts()).lower()

    # Text is never HTML: markup typed by the user shows as text.
    page.locator(f"{W} input").focus()
    say(page, "<img src=x onerror=alert(1)> hello")
    assert page.locator(f"{W} img[src='x']").count() == 0
    assert "<img src=x" in page.locator(f"{W} .msg.user").last.inner_text()


def test_narrow_screen_and_reduced_motion(browser, hosts):
    allowed, _ = hosts
    ctx = browser.new_context(viewport={"width": 320, "height": 640}, reduced_motion="reduce")
    ctx.set_default_timeout(60_000)
    try:
        page = ctx.new_page()
        page.goto(allowed.url())
        page.wait_for_function("window.StackwiseWidget && StackwiseWidget.sessionId")
        page.locator(f"{W} .launcher").click()
        wait_for_new_bot(page, 0)
        panel = page.locator(f"{W} .panel").bounding_box()
        assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 320
        assert panel["y"] >= 0
        send = page.locator(f"{W} .composer button").bounding_box()
        assert send["x"] + send["width"] <= 320
        anim = page.evaluate(
            "getComputedStyle(document.querySelector('stackwise-chat').shadowRoot.querySelector('.panel')).animationName"
        )
        assert anim == "none"
        page.wait_for_timeout(300)
        screenshot(page, "widget-320px.png")
        assert run_axe(page, W) == []
    finally:
        ctx.close()


def test_rest_fallback_when_websockets_fail(page, hosts):
    allowed, _ = hosts
    page.add_init_script("window.WebSocket = undefined;")
    page.goto(allowed.url())
    page.wait_for_function("window.StackwiseWidget && StackwiseWidget.sessionId")
    page.locator(f"{W} .launcher").click()
    wait_for_new_bot(page, 0)
    assert page.evaluate("StackwiseWidget.transport") == "rest"
    page.locator(f"{W} input").focus()
    say(page, "I want to become a registered nurse")
    assert len(bot_texts(page)) >= 2


def test_disallowed_origin_is_refused(page, hosts, web_stack):
    allowed, refused = hosts
    page.goto(refused.url(title="Not allowed"))
    page.wait_for_selector(f"{W}[data-state='unavailable']", state="attached")
    page.locator(f"{W} .launcher").click()
    assert "isn't available" in page.locator(f"{W} .msg.note").inner_text()
    assert page.locator(f"{W} input").is_disabled()
    screenshot(page, "widget-refused.png")

    web = allowed.web
    cfg = f"{web}/api/widget-config?tenant={TENANT}"
    r = httpx.get(cfg, headers={"Origin": refused.origin})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    r = httpx.post(
        f"{web}/api/chat?tenant={TENANT}",
        json={"sender": "abcdefgh1234", "message": "hi"},
        headers={"Origin": refused.origin},
    )
    assert r.status_code == 403
    # No tenant at all: only the web app's own origin may chat.
    r = httpx.post(
        f"{web}/api/chat",
        json={"sender": "abcdefgh1234", "message": "hi"},
        headers={"Origin": refused.origin},
    )
    assert r.status_code == 403
    ok = httpx.get(cfg, headers={"Origin": allowed.origin})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == allowed.origin

    # The socket.io handshake: a token issued to the allowed origin is refused from another one.
    token = ok.json()["socket"]["token"]
    assert socket_handshake(web_stack.ports.rasa, allowed.origin, token).startswith("40")
    assert socket_handshake(web_stack.ports.rasa, refused.origin, token).startswith("44")
    assert socket_handshake(web_stack.ports.rasa, allowed.origin, "forged").startswith("44")


def socket_handshake(port: int, origin: str, token: str) -> str:
    import asyncio

    import websockets

    async def go() -> str:
        url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
        async with websockets.connect(url, origin=origin) as ws:
            opened = await asyncio.wait_for(ws.recv(), 10)
            assert opened.startswith("0")
            await ws.send("40" + json.dumps({"token": token}))
            return await asyncio.wait_for(ws.recv(), 10)

    # Playwright's sync API owns this thread's event loop: run the client in another thread.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result(30)


def test_portal_sign_in_reaches_signed_metadata(page, hosts):
    """A portal JWT yields a per-student session id and signed tenant/student metadata."""
    import os

    import jwt

    from knowledge import tenants

    allowed, _ = hosts
    secret = os.environ[tenants.portal_secret_env(TENANT)]
    token = jwt.encode({"sub": "student-42", "exp": int(time.time()) + 600}, secret, "HS256")
    r = httpx.post(
        f"{allowed.web}/api/widget-config?tenant={TENANT}",
        json={"token": token},
        headers={"Origin": allowed.origin},
    )
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["session_id"] == tenants.student_session_id(TENANT, "student-42")
    claims = tenants.verify_metadata(data["metadata"]["stackwise"], data["session_id"])
    assert claims["tenant"] == TENANT and claims["student_id"] == "student-42"
    bad = jwt.encode({"sub": "student-42", "exp": int(time.time()) + 600}, "x" * 32, "HS256")
    r = httpx.post(
        f"{allowed.web}/api/widget-config?tenant={TENANT}",
        json={"token": bad},
        headers={"Origin": allowed.origin},
    )
    assert r.status_code == 401
    # Someone else cannot chat in that student's session without its signed metadata.
    r = httpx.post(
        f"{allowed.web}/api/chat?tenant={TENANT}",
        json={"sender": data["session_id"], "message": "hi"},
        headers={"Origin": allowed.origin},
    )
    assert r.status_code == 403

    page.goto(allowed.url(token=token))
    page.wait_for_function("window.StackwiseWidget && StackwiseWidget.sessionId")
    assert page.evaluate("StackwiseWidget.sessionId") == data["session_id"]
    page.locator(f"{W} .launcher").click()
    wait_for_new_bot(page, 0)


def test_deleting_the_conversation_also_clears_the_browsers_copy(page, hosts):
    """After the learner has the bot delete their data, the widget keeps no transcript: nothing
    in localStorage, nothing but the confirmation on screen, nothing after a reload."""
    allowed, _ = hosts
    page.goto(allowed.url(title="Deletion"))
    page.wait_for_function("window.StackwiseWidget && StackwiseWidget.sessionId")
    sid = page.evaluate("StackwiseWidget.sessionId")
    page.locator(f"{W} .launcher").click()
    wait_for_new_bot(page, 0)
    page.locator(f"{W} input").focus()
    say(page, "I know Excel and customer service")
    key = f"stackwise.{TENANT}.log.{sid}"
    stored = page.evaluate("(k) => localStorage.getItem(k)", key)
    assert stored and "Excel" in stored  # the widget keeps the transcript in the browser

    say(page, "please delete my data")
    assert re.search(r"delete", bot_texts(page)[-1], re.I), bot_texts(page)
    page.keyboard.type("yes")
    page.keyboard.press("Enter")  # the log is cleared, so wait for the text, not for a count
    page.locator(f"{W} .msg.bot", has_text="I deleted this conversation").wait_for(timeout=90_000)
    page.wait_for_timeout(700)
    assert page.evaluate("(k) => localStorage.getItem(k)", key) is None
    assert page.locator(f"{W} .msg.user").count() == 0
    assert page.locator(f"{W} .msg.bot").count() == 1  # the confirmation only
    assert "I know Excel and customer service" not in page.locator(f"{W} .log").inner_text()

    page.reload()
    page.wait_for_function("window.StackwiseWidget && StackwiseWidget.sessionId")
    page.locator(f"{W} .launcher").click()
    page.wait_for_timeout(1500)
    # Nothing restored: no message of the learner's, no confirmation (a fresh greeting may come;
    # its examples can name Excel, so the check is on the learner's own words).
    assert page.locator(f"{W} .msg.user").count() == 0
    shown = page.locator(f"{W} .log").inner_text()
    assert "I know Excel and customer service" not in shown
    assert "I deleted this conversation" not in shown
