"""A bounded probe of the running stack (loopback only): every port (web app, Rasa's channels and
HTTP API, the action proxy) with bad bodies, odd methods, traversal, huge headers, malformed and
slow clients, socket.io frames, a non-exempt client for the rate limits and the session rule.

It fails on any 5xx, any malformed request answered slower than 2 s, any internal detail (a
Python repr, a traceback, a file path) in a body, and any user message without a bot reply; it
prints its counts. A Hypothesis property holds the last one over random message sequences."""

from __future__ import annotations

import json
import re
import socket
import time
from collections import Counter

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

pytestmark = pytest.mark.integration

MALFORMED_LIMIT_S = 2.0
# Slow clients are cut off by the header / body timeouts (5 s) plus the timer's granularity.
CUT_OFF_LIMIT_S = 8.0
INTERNAL = re.compile(
    r"Traceback|File \"|site-packages|/work/|/home/|/[\w.-]+/[\w./-]+\.py\b|<function |<class |object at 0x"
    r"|NoneType|KeyError|AttributeError|TypeError"
)
STATS: Counter = Counter()
SLOWEST: dict[str, float | str] = {"s": 0.0, "what": ""}
NON_EXEMPT = {"X-Forwarded-For": "203.0.113.80"}  # a client named by the trusted proxy


def record(what: str, status: int, body: bytes, elapsed: float, malformed: bool = True) -> None:
    STATS["requests"] += 1
    STATS[f"{status // 100}xx"] += 1
    assert status < 500, (what, status, body[:300])
    text = body.decode("utf-8", "replace")
    assert not INTERNAL.search(text), (what, text[:300])
    if malformed:
        if elapsed > SLOWEST["s"]:
            SLOWEST.update(s=elapsed, what=what)
        assert elapsed < MALFORMED_LIMIT_S, (what, elapsed)


def call(client: httpx.Client, method: str, url: str, *, expect=None, malformed=True, **kw):
    started = time.monotonic()
    r = client.request(method, url, **kw)
    record(
        f"{method} {client.base_url}{url}",
        r.status_code,
        r.content,
        time.monotonic() - started,
        malformed,
    )
    if expect is not None:
        assert r.status_code in ((expect,) if isinstance(expect, int) else expect), (
            method,
            url,
            r.status_code,
            r.text[:300],
        )
    if malformed and r.status_code >= 400 and r.content:
        assert "json" in r.headers.get("content-type", ""), (url, r.headers, r.text[:200])
    return r


def raw(
    port: int, data: bytes, *, then: bytes | None = None, wait: float = 10.0
) -> tuple[int, float]:
    """Send raw bytes; the status of the answer (0 if the connection closed without one) and
    how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        chunks = b""
        try:
            while b"\r\n" not in chunks:
                piece = s.recv(4096)
                if not piece:
                    break
                chunks += piece
        except (TimeoutError, ConnectionResetError):
            pass
    elapsed = time.monotonic() - started
    match = re.match(rb"HTTP/1\.[01] (\d{3})", chunks)
    return (int(match.group(1)) if match else 0), elapsed


@pytest.fixture(scope="module")
def ports(stack):
    return {"web": stack.ports.web, "rasa": stack.ports.rasa, "actions": stack.ports.actions}


@pytest.fixture(scope="module")
def clients(ports):
    made = {k: httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=30) for k, p in ports.items()}
    yield made
    for c in made.values():
        c.close()


def new_session(web: httpx.Client) -> dict:
    cfg = call(web, "POST", "/api/widget-config", json={}, expect=200, malformed=False).json()
    assert cfg["session_id"] and cfg["session_secret"]
    return cfg


def say(clients, session: dict, text: str, via: str = "web") -> list[dict]:
    body = {
        "sender": session["session_id"],
        "message": text,
        "session_secret": session["session_secret"],
        "metadata": session["metadata"],
    }
    if via == "web":
        r = call(clients["web"], "POST", "/api/chat", json=body, expect=200, malformed=False)
        replies = r.json()["messages"]
    else:
        path = "/webhooks/rest/webhook"
        r = call(
            clients["rasa"],
            "POST",
            path,
            json=body,
            headers=NON_EXEMPT,
            expect=200,
            malformed=False,
        )
        replies = r.json()
    STATS["user messages"] += 1
    if not any(m.get("text") or m.get("custom") or m.get("buttons") for m in replies):
        STATS["empty replies"] += 1
    return replies


BAD_BODIES = [
    b"",
    b"{not json",
    b"[]",
    b"1",
    b"null",
    b'"x"',
    b'{"x": NaN}',
    b'{"x": Infinity}',
    b"[" * 5000 + b"]" * 5000,
    b"\xff\xfe",
    b'{"sender": 5, "message": "hi"}',
]


def test_web_app_routes(clients):
    web = clients["web"]
    for path in (
        "/static/",
        "/static/.",
        "/static/%00",
        "/static/..%2f..%2fapp.py",
        "/static/../app.py",
        "/static/x%00.css",
        "/console/static/",
        "/console/static/.",
        "/console/static/%00",
        "/nope",
        "/api/nope",
        "/%00",
        "/static//etc/passwd",
    ):
        call(web, "GET", path, expect=(400, 404))
    call(web, "GET", "/static/chat.css", expect=200, malformed=False)
    for method in ("PUT", "DELETE", "PATCH"):
        for path in ("/api/chat", "/api/skills", "/api/widget-config", "/healthz"):
            call(web, method, path, expect=405)
    for path in ("/api/chat", "/api/skills", "/api/widget-config"):
        for body in BAD_BODIES if path != "/api/widget-config" else BAD_BODIES[:-1]:
            r = call(web, "POST", path, content=body, headers={"Content-Type": "application/json"})
            assert 400 <= r.status_code < 500, (path, body[:20], r.status_code)
    for meta in (1, "x", [1], True):
        call(
            web,
            "POST",
            "/api/chat",
            json={"sender": "probe-1234", "message": "hi", "metadata": meta},
            expect=400,
        )
    for q in ("k=x", "k=0", "max_cost=nan", "max_cost=inf", "credit=maybe", "q=" + "a" * 5000):
        call(web, "GET", f"/api/credentials/search?{q}", expect=400)
    call(
        web,
        "GET",
        "/api/credentials/search",
        headers={"X-Big": "a" * 20_000},
        expect=(400, 413, 431),
    )
    call(web, "GET", "/console/record/..%2f..%2fetc", expect=(303, 302, 401, 403, 404))


def test_action_proxy_routes(clients):
    actions = clients["actions"]
    call(actions, "GET", "/webhook", expect=405)
    for path in ("/nope", "/webhook/x", "/%2e%2e/"):
        call(actions, "GET", path, expect=404)
    for body in (b"[]", b"1", b'{"tracker": "x"}', b"{not json", b"", b'{"next_action": 5}'):
        call(
            actions,
            "POST",
            "/webhook",
            content=body,
            headers={"Content-Type": "application/json"},
            expect=(400, 404),  # 404: the SDK names no such action,
        )


def test_rasa_channels_and_http_api(clients):
    rasa = clients["rasa"]
    path = "/webhooks/rest/webhook"
    call(rasa, "GET", path, expect=405)
    for body in BAD_BODIES + [
        b'{"sender": "probe-12345", "message": "hi", "metadata": {"x": NaN}}'
    ]:
        call(
            rasa,
            "POST",
            path,
            content=body,
            headers={"Content-Type": "application/json", **NON_EXEMPT},
            expect=(400, 413),
        )
    for model_body in (b"{not json", b"[]", b'{"text": 5}', b"null", b'{"text": NaN}', b"{}"):
        call(rasa, "POST", "/model/parse", content=model_body, expect=400)
    r = call(
        rasa,
        "POST",
        "/conversations/probe-1/trigger_intent",
        json={"name": "no_such_intent"},
        expect=404,
    )
    assert "function" not in r.text
    for bad in (b"[]", b'{"name": 5}', b"nope"):
        call(rasa, "POST", "/conversations/probe-1/trigger_intent", content=bad, expect=400)
        call(rasa, "POST", "/conversations/probe-1/execute", content=bad, expect=400)
    call(rasa, "POST", "/conversations/probe-1/tracker/events", content=b'[{"x": 1}]', expect=400)
    call(
        rasa,
        "POST",
        "/conversations/probe-1/messages",
        json={"text": 5, "sender": "user"},
        expect=400,
    )


def test_one_session_rule(clients):
    web, rasa = clients["web"], clients["rasa"]
    path = "/webhooks/rest/webhook"
    # A signed-in student's id without its signed blob: refused on every channel.
    student = {"sender": "st-" + "ab" * 20, "message": "hi"}
    call(rasa, "POST", path, json=student, headers=NON_EXEMPT, expect=403)
    call(rasa, "POST", path, json=student, expect=403)  # loopback too
    call(web, "POST", "/api/chat", json=student, expect=403)
    # An anonymous session: its id alone is worth nothing.
    session = new_session(web)
    known = {"sender": session["session_id"], "message": "hi"}
    call(web, "POST", "/api/chat", json=known, expect=403)
    call(web, "POST", "/api/chat", json={**known, "session_secret": "0" * 40}, expect=403)
    call(rasa, "POST", path, json=known, headers=NON_EXEMPT, expect=403)
    other = call(
        web,
        "GET",
        f"/api/widget-config?session_id={session['session_id']}",
        expect=200,
        malformed=False,
    ).json()
    assert other["session_id"] != session["session_id"]  # no socket token for a known id
    assert say(clients, session, "hi")
    assert say(clients, session, "I want to be a nurse", via="rest")


def test_never_an_empty_reply_for_a_repeated_answer(clients):
    session = new_session(clients["web"])
    for _ in range(2):
        assert say(clients, session, "I know Python")


def test_malformed_and_slow_clients_are_cut_off(ports):
    for name in ("web", "rasa"):
        port = ports[name]
        for data in (
            b"\xff\xff\xff\r\n\r\n",
            b"\x00GET / HTTP/1.1\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        ):
            status, elapsed = raw(port, data)
            record(f"raw {name} {data[:6]!r}", status or 400, b"", elapsed)
            assert status == 400, (name, data, status)
        status, elapsed = raw(
            port, b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"
        )
        record(f"{name} Content-Length -1", status, b"", elapsed)
        assert status == 400, (name, status)
        # Incomplete header, then a short body: answered (408) or closed within the timeouts.
        for data in (
            b"GET / HTTP/1.1\r\nHost: x\r\n",
            b'POST /api/skills HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"te',
        ):
            status, elapsed = raw(port, data, wait=CUT_OFF_LIMIT_S + 5)
            STATS["slow clients"] += 1
            assert elapsed < CUT_OFF_LIMIT_S, (name, data[:30], elapsed)
            assert status in (0, 408), (name, status)


def test_socketio_oversize_frame_is_refused_and_the_session_stays_usable(clients, ports):
    web, rasa = clients["web"], clients["rasa"]
    origin = f"http://127.0.0.1:{ports['web']}"
    cfg = call(
        web,
        "POST",
        "/api/widget-config",
        json={},
        headers={"Origin": origin},
        expect=200,
        malformed=False,
    ).json()
    sid_q = f"?EIO=4&transport=polling&stackwise_session={cfg['session_id']}"
    opened = call(
        rasa, "GET", "/socket.io/" + sid_q, headers={"Origin": origin}, expect=200, malformed=False
    ).text
    sid = json.loads(opened[1:])["sid"]
    url = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
    r = call(
        rasa,
        "POST",
        url,
        content=b"4" + b"x" * 70_000,
        headers={"Origin": origin, "Content-Type": "text/plain"},
        expect=413,
    )
    assert "frame" in r.json().get("error", r.json().get("message", ""))
    token = json.dumps({"token": cfg["socket"]["token"]})
    call(
        rasa,
        "POST",
        url,
        content=("40" + token).encode(),
        headers={"Origin": origin, "Content-Type": "text/plain"},
        expect=200,
        malformed=False,
    )
    assert call(
        rasa, "GET", url, headers={"Origin": origin}, expect=200, malformed=False
    ).text.startswith("40")


def test_rate_limit_for_a_non_exempt_client(clients, settings):
    web = clients["web"]
    headers = {"X-Forwarded-For": "203.0.113.81"}
    for _ in range(2 * int(settings.security.ip_per_min) + 1):
        r = call(web, "GET", "/api/credentials/search?k=x", headers=headers, expect=(400, 429))
        if r.status_code == 429:
            assert int(r.headers["Retry-After"]) >= 1
            break
    else:
        pytest.fail("no 429 for a client over its limit")


MESSAGES = [
    "hi",
    "I know Python",
    "I know Python",
    "I want to be a nurse",
    "I know Excel and SQL",
    "what can you do?",
    "asdfgh qwerty",
    "cheaper ones?",
    "thanks",
    "remove Excel",
    "how long does it take?",
    "🙂",
    "no",
    "yes",
    "help",
]


@hsettings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(MESSAGES), min_size=1, max_size=5))
def test_every_user_message_gets_a_bot_message(clients, sequence):
    session = new_session(clients["web"])
    for text in sequence:
        assert say(clients, session, text), (sequence, text)


def test_zz_probe_counts(capsys):
    with capsys.disabled():
        print(
            f"\nprobe: {STATS['requests']} requests, {STATS['4xx']} 4xx, {STATS['5xx']} 5xx, "
            f"slowest malformed-request answer {SLOWEST['s']:.3f} s ({SLOWEST['what']}), "
            f"{STATS['slow clients']} slow clients cut off, {STATS['user messages']} user "
            f"messages, {STATS['empty replies']} empty replies"
        )
    assert STATS["5xx"] == 0 and STATS["empty replies"] == 0 and STATS["requests"] > 100
