"""Fuzzing the real stack (action server, Rasa, web app on free ports) with Hypothesis: Rasa's
REST channel, the socket.io channel and the web API get malformed JSON, wrong types, oversize
and empty messages, control characters, unicode edge cases, HTML/script payloads and SQL-looking
text. Never a 5xx; a refusal is a 4xx with a readable ``error``; an accepted message is stored in
the conversation exactly as sent (after trimming); the bot still holds a normal conversation.

Derandomized (fixed examples, no example database) and small: about a minute on two cores.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import asdict

import httpx
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from knowledge import tenants
from knowledge.db import make_engine
from knowledge.intake import list_intakes
from tests.integration.chat import Chat

pytestmark = pytest.mark.integration

FUZZ = hsettings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def fuzz(examples: int) -> hsettings:
    return hsettings(FUZZ, max_examples=examples)


HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(document.cookie)>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    "[click](javascript:alert(1))",
    "'; DROP TABLE intake_records; --",
    "1' OR '1'='1",
    "Robert'); DELETE FROM users WHERE ('a'='a",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "../../etc/passwd",
    "Hola, quiero ser analista de datos",
    "我想成为数据分析师，我会Excel",
    "أريد أن أصبح ممرضة",
    "🙂👩🏽‍💻🏳️‍🌈",
    "e\u0301\u0301\u0301 zero\u200bwidth \u202eRTL override\u202c \ufeffBOM",
    "\U0001f600" * 300,
    "line one\nline two\ttabbed",
    "/restart",
    '/greet{"skill": "<b>x</b>"}',
    "%00%0d%0a",
    "\\u0000 \\x00 literally",
]
BAD_TEXT = [
    "",
    "   ",
    "\n\t",
    "nul\x00byte",
    "bell\x07",
    "\x1b[2Jclear screen",
    "del\x7f",
    "c1 \x9b in the middle",
    "x" * 2001,
    "🙂" * 2001,
]
SENDERS = [f"fuzz-{i}" for i in range(4)]

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# Text that can be sent as JSON (no lone surrogates: those get their own raw-JSON test).
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
messages = st.sampled_from(HOSTILE) | st.sampled_from(BAD_TEXT) | any_text | json_values
senders = st.sampled_from(SENDERS) | st.text(max_size=70) | json_values


def expected_text(sender, message) -> str | None:
    """What an accepted message is stored as, or None when it must be refused."""
    if not isinstance(sender, str) or sender not in SENDERS:
        return None
    if not isinstance(message, str) or not message.strip() or len(message.strip()) > 2000:
        return None
    text = message.strip()
    if any((ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F for c in text):
        return None
    return text


def assert_clear_refusal(r: httpx.Response) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    error = r.json()["error"]
    assert isinstance(error, str) and 5 < len(error) < 300


@pytest.fixture(scope="module")
def rasa(stack):
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.ports.rasa}", timeout=90) as client:
        yield client


@pytest.fixture(scope="module")
def web(stack):
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.ports.web}", timeout=90) as client:
        yield client


@pytest.fixture(scope="module")
def accepted() -> dict[str, list[str]]:
    """Messages each fuzz sender had accepted, in order (checked against the stored tracker)."""
    return {}


def user_texts(rasa: httpx.Client, sender: str) -> list[str]:
    r = rasa.get(f"/conversations/{sender}/tracker", params={"include_events": "ALL"})
    assert r.status_code == 200, r.text[:300]
    tracker = json.loads(r.text)  # valid JSON
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


@fuzz(90)
# Always-run examples (Hypothesis' explicit phase): accepted messages for the fuzz senders, so
# "stored intact" below is checked on hostile, SQL-looking and non-English text in every run.
@example(body=json.dumps({"sender": "fuzz-1", "message": "<script>alert(1)</script>"}).encode())
@example(body=json.dumps({"sender": "fuzz-1", "message": "'; DROP TABLE events; --"}).encode())
@example(body=json.dumps({"sender": "fuzz-2", "message": "¿Qué certificado? 看护 🚀"}).encode())
@example(body=json.dumps({"sender": "fuzz-2", "message": '<img src=x onerror="x()">'}).encode())
@example(body=json.dumps({"sender": "fuzz-3", "message": "  I know Excel\tand SQL  "}).encode())
@given(
    body=st.one_of(
        st.binary(max_size=100),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {"sender": senders, "message": messages},
            optional={"metadata": json_values, "input_channel": json_values},
        ).map(lambda d: json.dumps(d).encode()),
    )
)
def test_rest_webhook_never_fails_and_says_why(rasa, accepted, body):
    r = rasa.post("/webhooks/rest/webhook", content=body)
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    want = None
    if isinstance(data, dict):
        want = expected_text(data.get("sender"), data.get("message"))
        if "metadata" in data and not isinstance(data["metadata"], (dict, type(None))):
            want = None
    if want is None:
        assert_clear_refusal(r)
        return
    assert r.status_code == 200, r.text[:300]
    assert isinstance(r.json(), list)
    accepted.setdefault(data["sender"], []).append(want)
    for m in r.json():
        # Bot messages come back as data; nothing the learner typed is echoed as markup.
        assert "<script>" not in m.get("text", "") and "onerror=" not in m.get("text", "")


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b'{"sender": "fuzz-0", "message": "half \\ud83d surrogate"}', 400, "not valid Unicode"),
        (b'{"sender": "fuzz-0", "message": "nul \\u0000"}', 400, "U+0000"),
        (b'{"sender": "fuzz-0", "message": "' + b"x" * 70_000 + b'"}', 413, "larger than"),
        (b"[" * 70_000, 413, "larger than"),
        (b"[" * 20_000 + b"]" * 20_000, 400, "nested too deeply"),
        (b"", 400, "valid JSON"),
    ],
    ids=["surrogate", "nul", "oversize", "deep-oversize", "deep", "empty"],
)
def test_rest_webhook_edge_bodies(rasa, body, status, needle):
    r = rasa.post("/webhooks/rest/webhook", content=body)
    assert r.status_code == status and needle in r.json()["error"], r.text[:300]


def test_accepted_messages_are_stored_intact(rasa, accepted):
    assert sum(len(v) for v in accepted.values()) >= 5, accepted  # the fuzzing reached Rasa
    for sender, texts in accepted.items():
        assert user_texts(rasa, sender) == texts


@fuzz(60)
@given(
    params=st.dictionaries(
        st.sampled_from(
            ["q", "k", "max_cost", "max_hours", "format", "level", "provider", "credit"]
        ),
        st.sampled_from(HOSTILE) | any_text | st.sampled_from(["5", "-1", "1e309", "nan", "0"]),
        max_size=5,
    )
)
def test_search_api_never_fails(web, params):
    r = web.get("/api/credentials/search", params=params)
    if r.status_code != 200:
        assert_clear_refusal(r)
    else:
        assert isinstance(r.json()["results"], list)


@pytest.mark.parametrize(
    "query",
    ["q=%ff%fe%00&k=%80", "q=%", "q=%%41", "q=" + "a" * 12_000, "q=nurse&k=9" * 200, "q[]=x"],
    ids=["bad-utf8", "lone-percent", "double-percent", "long", "repeated", "brackets"],
)
def test_search_api_raw_query_strings(web, query):
    r = web.get("/api/credentials/search?" + query)
    assert r.status_code < 500, r.text[:300]
    if r.status_code != 200:
        assert "error" in r.json()


@fuzz(40)
@given(
    body=st.one_of(
        st.binary(max_size=60),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries({"text": messages}).map(lambda d: json.dumps(d).encode()),
    )
)
def test_skills_api_never_fails(web, body):
    r = web.post("/api/skills", content=body, headers={"Content-Type": "application/json"})
    if r.status_code != 200:
        assert_clear_refusal(r)
    else:
        assert isinstance(r.json()["skills"], list)


@fuzz(40)
@given(
    body=st.fixed_dictionaries(
        {"sender": senders, "message": messages}, optional={"metadata": json_values}
    )
)
def test_web_chat_never_fails(web, accepted, body):
    sender = body.get("sender")
    if isinstance(sender, str) and sender in SENDERS:  # the fuzz senders' own session proof
        body = {**body, "session_secret": tenants.session_secret(sender)}
    r = web.post("/api/chat", json=body)
    metadata = body.get("metadata")
    signed = isinstance(metadata, dict) and "stackwise" in metadata
    bad_metadata = metadata is not None and not isinstance(metadata, dict)
    want = expected_text(body.get("sender"), body.get("message"))
    if want is None or signed or bad_metadata:
        assert_clear_refusal(r)
        return
    assert r.status_code == 200, r.text[:300]
    assert isinstance(r.json()["messages"], list)
    accepted.setdefault(body["sender"], []).append(want)


@fuzz(40)
@given(
    args=st.dictionaries(
        st.sampled_from(["tenant", "session_id"]), st.sampled_from(HOSTILE) | any_text, max_size=2
    ),
    body=st.none() | st.binary(max_size=40) | json_values.map(lambda v: json.dumps(v).encode()),
)
def test_widget_config_never_fails(web, args, body):
    if body is None:
        r = web.get("/api/widget-config", params=args)
    else:
        r = web.post("/api/widget-config", params=args, content=body)
    if r.status_code != 200:
        assert_clear_refusal(r)
    else:
        assert r.json()["session_id"]


@pytest.mark.parametrize("size", [70_000, 300_000])
def test_oversize_bodies_are_413_everywhere(web, size):
    body = b'{"sender": "fuzz-0", "message": "' + b"x" * size + b'"}'
    for path in ("/api/chat", "/api/skills", "/api/widget-config"):
        r = web.post(path, content=body)
        assert r.status_code == 413, (path, r.text[:200])
        assert "error" in r.json()


# --- socket.io --------------------------------------------------------------------------------


class SocketSession:
    """A socket.io client (long-polling) on a background event loop, as the widget uses it."""

    def __init__(self, stack, session_id: str) -> None:
        import socketio

        self.web = f"http://127.0.0.1:{stack.ports.web}"
        self.rasa = f"http://127.0.0.1:{stack.ports.rasa}"
        self.session_id = session_id
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue = asyncio.Queue()

        for name in ("bot_uttered", "stackwise_error", "session_confirm"):
            self.sio.on(name, self._handler(name))

    def _handler(self, name):
        async def handler(data=None):
            await self.events.put((name, data))

        return handler

    def run(self, coro, timeout: float = 90):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _connect(self) -> None:
        # An existing conversation is joined only with its session secret.
        cfg = httpx.post(
            f"{self.web}/api/widget-config",
            json={
                "session_id": self.session_id,
                "session_secret": tenants.session_secret(self.session_id),
            },
            headers={"Origin": self.web},
        ).json()
        assert cfg["session_id"] == self.session_id
        await self.sio.connect(
            self.rasa,
            headers={"Origin": self.web},
            auth={"token": cfg["socket"]["token"]},
            transports=["polling"],  # this aiohttp is too old for engineio's WebSocket client
            socketio_path="socket.io",
        )
        await self.sio.emit("session_request", {"session_id": self.session_id})
        assert (await asyncio.wait_for(self.events.get(), 30))[0] == "session_confirm"

    def connect(self) -> None:
        self.run(self._connect())

    async def _send(self, data, wait_for: str | None) -> object | None:
        while not self.events.empty():
            self.events.get_nowait()
        await self.sio.emit("user_uttered", data)
        if wait_for is None:
            return None

        async def first() -> object:
            while True:  # replies to an earlier message may still be arriving
                name, payload = await self.events.get()
                if name == wait_for:
                    return payload

        return await asyncio.wait_for(first(), 20)

    def send(self, data, wait_for: str | None = None):
        """Emit ``user_uttered``; with ``wait_for``, the payload of the next such event."""
        return self.run(self._send(data, wait_for))

    def close(self) -> None:
        self.run(self.sio.disconnect())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def sock(stack):
    s = SocketSession(stack, "fuzz-socket-0001")
    s.connect()
    yield s
    s.close()


@fuzz(30)
@given(
    data=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"message": messages},
            optional={
                "session_id": st.just("fuzz-socket-0001")
                | st.sampled_from(["short", "st-0123456789abcdef", "../../etc/x", "", "<b>"])
                | json_values.filter(lambda v: not isinstance(v, str)),
                "metadata": json_values,
            },
        ),
    )
)
def test_socket_messages_never_fail_silently(sock, rasa, accepted, data):
    want = None
    if isinstance(data, dict) and data.get("session_id") == sock.session_id:
        want = expected_text("fuzz-0", data.get("message"))  # any valid sender stands in
    if want is None:
        error = sock.send(data, wait_for="stackwise_error")
        assert error["status"] in (400, 403) and len(error["error"]) > 5, error
        return
    # Accepted: stored exactly as sent (trimmed), before the next message is handled.
    before = len(user_texts(rasa, sock.session_id))
    sock.send(data)
    deadline = time.monotonic() + 30
    while len(texts := user_texts(rasa, sock.session_id)) == before:
        assert time.monotonic() < deadline, "accepted socket message never reached the tracker"
        time.sleep(0.2)
    assert texts[before:] == [want]
    accepted.setdefault(sock.session_id, []).append(want)


def test_raw_engineio_garbage_does_not_break_the_server(stack, sock):
    import websockets

    async def go() -> None:
        url = f"ws://127.0.0.1:{stack.ports.rasa}/socket.io/?EIO=4&transport=websocket"
        for frames in (
            ["40{not json", "42[", '42["user_uttered"]', "42{}", "4", "9", "\x00"],
            ['42["user_uttered", {"message": "probe-7f3", "session_id": "fuzz-socket-0001"}]'],
            [b"\xff\xfe binary"],
        ):
            try:
                async with websockets.connect(url) as ws:
                    await asyncio.wait_for(ws.recv(), 10)
                    for frame in frames:
                        await ws.send(frame)
                    await asyncio.sleep(0.2)
            except websockets.ConnectionClosed:
                pass

    asyncio.run(go())
    # Unauthenticated frames reached nothing; the server still answers.
    assert httpx.get(f"http://127.0.0.1:{stack.ports.rasa}/", timeout=10).status_code == 200
    with httpx.Client(base_url=sock.rasa) as client:
        assert "probe-7f3" not in user_texts(client, sock.session_id)


def test_everything_still_works_after_the_fuzzing(stack, rasa, web, sock, accepted, settings):
    for sender, texts in accepted.items():
        assert user_texts(rasa, sender) == texts, sender

    chat = Chat(f"http://127.0.0.1:{stack.ports.rasa}")
    assert "Stackwise" in chat.say("hello"), chat.dump()
    hostile = "<img src=x onerror=alert(1)> I know SQL'; DROP TABLE users; --"
    chat.say(hostile)
    reply = chat.say("can I talk to a real person please")
    assert "reference" in reply, chat.dump()
    # The intake record for the adviser is stored and reads back as plain JSON data.
    records = list_intakes(make_engine(settings.app_database_url), sender_id=chat.sender)
    assert records and records[0].reason == "requested"
    stored = json.loads(json.dumps(asdict(records[0]), default=str))
    assert stored["sender_id"] == chat.sender and stored["id"] == records[0].id
    assert isinstance(stored["skills"] or [], list)
    assert isinstance(stored["constraints"] or {}, dict)
    assert hostile in user_texts(rasa, chat.sender)

    after = {"sender": "fuzz-after", "session_secret": tenants.session_secret("fuzz-after")}
    r = web.post("/api/chat", json={**after, "message": "hello"})
    assert r.status_code == 200 and r.json()["messages"]
    reply = sock.send({"message": "hello", "session_id": sock.session_id}, "bot_uttered")
    assert reply.get("text")
