"""A stock Rasa client (botfront's rasa-webchat 1.0.1 from npm, pinned in package-lock.json) on a
college page of its own origin, talking to the stack's Rasa socket.io channel with no Stackwise
token: the tenant opened that origin with ``STACKWISE_TENANT_<ID>_STOCK_CLIENT_ORIGINS``.

The host pages are served here from two more local origins: one the tenant opened, one it did
not. The switch is set in the environment at import, before the session's stack starts (pytest
collects every module before it runs any fixture), so the stack's Rasa process reads it.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser.conftest import REPO, TENANT, screenshot

WEBCHAT = REPO / "node_modules" / "rasa-webchat" / "lib" / "index.js"
STOCK_ENV = (
    "STACKWISE_TENANT_" + re.sub(r"[^A-Z0-9]", "_", TENANT.upper()) + "_STOCK_CLIENT_ORIGINS"
)

# What a college puts on its page (docs/deployment.md, "Point rasa-webchat at Stackwise").
HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>College page with rasa-webchat</title></head>
<body>
<h1>Example College</h1>
<div id="webchat"></div>
<script src="/rasa-webchat.js"></script>
<script>
  const q = new URLSearchParams(location.search);
  WebChat.default({
    socketUrl: q.get("socket"),
    socketPath: "/socket.io/",
    initPayload: "hi",
    customData: {language: "en", tenant: "%(tenant)s"},
    title: "Example College advising",
    embedded: true,
    params: {storage: "session"},
  }, document.getElementById("webchat"));
</script>
</body></html>"""


class _Host(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        path = urlsplit(self.path).path
        if path == "/rasa-webchat.js":
            body, kind = WEBCHAT.read_bytes(), "text/javascript"
        elif path == "/":
            body, kind = (HOST_PAGE % {"tenant": TENANT}).encode(), "text/html; charset=utf-8"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def _bind() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Host)
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# Bound now (the port is the origin the switch names); served once the tests run.
_OPENED, OPENED = _bind()
_REFUSED, REFUSED = _bind()
os.environ[STOCK_ENV] = OPENED


@pytest.fixture(scope="module")
def host_sites():
    if not WEBCHAT.exists():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "node_modules/rasa-webchat missing: run 'npm ci'"
        )
    for server in (_OPENED, _REFUSED):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield
    for server in (_OPENED, _REFUSED):
        server.shutdown()


@pytest.fixture(scope="module")
def rasa(web_stack) -> str:
    return f"http://127.0.0.1:{web_stack.ports.rasa}"


def bot_texts(page) -> list[str]:
    # An empty one is the typing indicator of a reply still on its way.
    return [t for t in page.locator(".rw-response").all_inner_texts() if t.strip()]


def wait_for_reply(page, before: int, timeout_s: float = 60) -> list[str]:
    """The bot messages once at least one more than `before` is shown and the bot has stopped
    adding more for a moment (rasa-webchat shows replies one after another, each after a delay
    of up to 3 s)."""
    deadline = time.monotonic() + timeout_s
    seen, steady = bot_texts(page), 0.0
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = bot_texts(page)
        steady = steady + 0.5 if now == seen else 0.0
        seen = now
        if len(seen) > before and steady >= 4:
            return seen
    raise AssertionError(f"no bot reply within {timeout_s} s (had {before}: {seen[-3:]})")


# The learner's side in the answer-first design (issue #16): naming the goal gets
# recommendations in that turn; the rest are answers to the bot's optional questions, sent only
# if the cards have not come yet. The test checks that every message is answered.
SCRIPT = [
    "I've done Excel for years and a bit of SQL",
    "I want to become a data analyst",
    "my budget is $500",
    "show me options",
]


def shown_cards(rasa: str, session_id: str) -> list[dict]:
    tracker = httpx.get(f"{rasa}/conversations/{session_id}/tracker", timeout=30).json()
    cards: list[dict] = []
    for event in tracker.get("events", []):
        custom = (event.get("data") or {}).get("custom") if event.get("event") == "bot" else None
        if isinstance(custom, dict) and custom.get("type") == "credential_cards":
            cards = custom["cards"]
    return cards


def test_rasa_webchat_holds_a_conversation_with_recommendations(
    host_sites, rasa, context, web_stack
):
    page = context.new_page()
    page.goto(f"{OPENED}/?socket={rasa}")
    texts = wait_for_reply(page, 0)  # the answer to the init payload "hi"
    session = json.loads(page.evaluate("sessionStorage.getItem('chat_session')"))
    session_id = session["session_id"]
    cards: list[dict] = []
    for message in SCRIPT:
        before = len(texts)
        page.locator(".rw-new-message").fill(message)
        page.locator(".rw-send").click()
        texts = wait_for_reply(page, before)
        cards = shown_cards(rasa, session_id)
        if cards:
            break
    screenshot(page, "stock-client-rasa-webchat.png")
    assert cards, f"no recommendations after {len(SCRIPT)} messages: {texts[-4:]}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(c["name"] in "\n".join(texts) for c in cards):
        time.sleep(0.5)
        texts = bot_texts(page)
    shown = "\n".join(texts)
    for card in cards:
        # Readable as text: the card's name, with its cost (or that it is not recorded) nearby.
        assert card["name"] in shown, (card["name"], texts[-4:])
        line = next(t for t in texts if card["name"] in t)
        assert re.search(r"\$\d|free|[Cc]ost not recorded|[Nn]o (recorded )?cost", line), line
    # The custom payload itself was not handed to the client (rasa-webchat would drop it).
    assert "credential_cards" not in page.content()
    # The conversation is the tenant's: its origin-checked tenant reached the conversation.
    slots = httpx.get(f"{rasa}/conversations/{session_id}/tracker", timeout=30).json()["slots"]
    assert slots.get("tenant") == TENANT


def test_an_origin_not_opened_gets_no_handshake_and_no_reply(host_sites, rasa, context):
    # Engine.IO's handshake answers CORS for the opened origin only, without credentials.
    opened = httpx.get(
        f"{rasa}/socket.io/?EIO=4&transport=polling", headers={"Origin": OPENED}, timeout=10
    )
    assert opened.headers.get("access-control-allow-origin") == OPENED
    assert "access-control-allow-credentials" not in opened.headers
    refused = httpx.get(
        f"{rasa}/socket.io/?EIO=4&transport=polling", headers={"Origin": REFUSED}, timeout=10
    )
    assert "access-control-allow-origin" not in refused.headers

    page = context.new_page()
    tried: list[str] = []  # socket.io requests the page made (the browser blocks their answers)
    page.on("requestfailed", lambda r: tried.append(r.url) if "/socket.io/" in r.url else None)
    page.on("response", lambda r: tried.append(r.url) if "/socket.io/" in r.url else None)
    page.goto(f"{REFUSED}/?socket={rasa}")
    deadline = time.monotonic() + 30
    while not tried and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert tried, "rasa-webchat did not try to connect"
    page.wait_for_timeout(8000)  # socket.io-client retries; none of it may get through
    assert bot_texts(page) == []
    stored = page.evaluate("sessionStorage.getItem('chat_session')")
    assert stored is None or json.loads(stored).get("session_id") is None, stored
