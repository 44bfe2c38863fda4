"""Rasa's REST and socket.io channels as Stackwise runs them (bot/web/rest_channel.py,
bot/web/socket_channel.py), served by Sanic in this process with a stand-in for Rasa: bad input is
a clear 4xx (Rasa's own REST channel answers 500 or 200 []), nothing over the caps gets through,
rate limits answer 429 / ``stackwise_error``."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid

import aiohttp
import pytest
import socketio
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.supervisor import free_port
from knowledge import tenants
from knowledge.config import get_settings

_names = itertools.count()
CLIENT = "198.51.100.23"  # what a trusted proxy on loopback says the client is


@pytest.fixture()
def limits(monkeypatch):
    """Small limits for these tests (the channels read settings when Rasa builds them)."""
    monkeypatch.setenv("STACKWISE_RATE_LIMIT_IP_PER_MIN", "20")
    monkeypatch.setenv("STACKWISE_RATE_LIMIT_SESSION_PER_MIN", "5")
    monkeypatch.setenv("STACKWISE_MAX_MESSAGE_CHARS", "100")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


async def serve(channel) -> tuple[str, list[UserMessage], tuple]:
    received: list[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)
        await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")

    Sanic.test_mode = True  # several apps in one process (as sanic-testing does)
    app = Sanic(f"channel_test_{next(_names)}")
    # As rasa.core.channels.channel.register does it (route "/webhooks/").
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/" + channel.url_prefix())
    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    await server.startup()
    task = asyncio.ensure_future(server.serve_forever())
    return f"http://127.0.0.1:{port}", received, (server, task)


async def stop(running) -> None:
    server, task = running
    server.close()
    await server.wait_closed()
    task.cancel()


@pytest.fixture()
async def rest(limits):
    from bot.web.rest_channel import StackwiseRest

    base, received, server = await serve(StackwiseRest())
    async with aiohttp.ClientSession(base_url=base) as http:
        yield http, received
    await stop(server)


async def post(http, body, headers=None, **kwargs) -> tuple[int, dict | list, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    async with http.post("/webhooks/rest/webhook", data=data, headers=hdrs, **kwargs) as r:
        return r.status, await r.json(content_type=None), dict(r.headers)


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"", 400, "valid JSON"),
        (b"{oops", 400, "valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b"null", 400, "JSON object"),
        (b'"hi"', 400, "JSON object"),
        ({"message": "hi"}, 400, "'sender' must be"),
        ({"sender": 5, "message": "hi"}, 400, "'sender' must be"),
        ({"sender": "a/../b", "message": "hi"}, 400, "'sender' must be"),
        ({"sender": "fuzz-1", "message": 42}, 400, "non-empty string"),
        ({"sender": "fuzz-1", "message": None}, 400, "non-empty string"),
        ({"sender": "fuzz-1", "message": "   "}, 400, "non-empty string"),
        ({"sender": "fuzz-1", "message": "x" * 101}, 400, "the limit is 100"),
        ({"sender": "fuzz-1", "message": "nul\x00"}, 400, "U+0000"),
        (b'{"sender": "fuzz-1", "message": "\\ud800"}', 400, "not valid Unicode"),
        ({"sender": "fuzz-1", "message": "hi", "metadata": "x"}, 400, "'metadata'"),
        (b'{"sender": "fuzz-1", "message": "' + b"x" * 70_000 + b'"}', 413, "larger than"),
    ],
)
async def test_rest_refuses_bad_input_with_a_clear_4xx(rest, body, status, needle):
    http, received = rest
    code, data, _ = await post(http, body)
    assert code == status, data
    assert needle in data["error"]
    assert received == []


async def test_rest_refuses_an_oversize_chunked_body_without_reading_it_all(rest):
    http, received = rest

    async def chunks():
        yield b'{"sender": "fuzz-1", "message": "'
        for _ in range(200):
            yield b"x" * 1024
        yield b'"}'

    async with http.post(
        "/webhooks/rest/webhook", data=chunks(), headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 413
        assert "larger than" in (await r.json(content_type=None))["error"]
    assert received == []


async def test_rest_passes_good_messages_on_as_sent(rest):
    http, received = rest
    text = "<script>alert(1)</script> I know SQL; DROP TABLE users; -- 我想 🙂"
    code, data, _ = await post(
        http,
        {"sender": "fuzz-2", "message": f"  {text}\n", "input_channel": "evil", "metadata": {}},
    )
    assert code == 200
    assert data == [{"recipient_id": "fuzz-2", "text": f"echo: {text}"}]
    assert received[0].text == text and received[0].sender_id == "fuzz-2"
    assert received[0].input_channel == "rest"  # not the client's choice


async def test_rest_stream_still_works(rest):
    http, _ = rest
    async with http.post(
        "/webhooks/rest/webhook?stream=true", json={"sender": "fuzz-3", "message": "hi"}
    ) as r:
        assert r.status == 200
        lines = [json.loads(x) for x in (await r.text()).splitlines() if x.strip()]
    assert lines == [{"recipient_id": "fuzz-3", "text": "echo: hi"}]


async def test_rest_rate_limits_per_conversation_and_per_ip(rest):
    http, received = rest
    xff = {"X-Forwarded-For": CLIENT}
    # 5 messages a minute per conversation (bad ones count too), then 429 with Retry-After.
    for _ in range(5):
        assert (await post(http, {"sender": "fuzz-4", "message": ""}, xff))[0] == 400
    code, data, headers = await post(http, {"sender": "fuzz-4", "message": "hi"}, xff)
    assert code == 429 and "please wait" in data["error"]
    assert int(headers["Retry-After"]) >= 1 and data["retry_after_s"] >= 1
    # Another conversation from the same address is fine until the address's limit (20/min).
    fuzz5 = {
        "sender": "fuzz-5",
        "message": "hi",
        "session_secret": tenants.session_secret("fuzz-5"),
    }
    assert (await post(http, fuzz5, xff))[0] == 200
    statuses = [(await post(http, b"{}", xff))[0] for _ in range(20)]
    assert statuses[-1] == 429 and "too many requests" in (await post(http, b"{}", xff))[1]["error"]
    # Loopback itself (the web app, benchmarks) is exempt by default.
    for _ in range(10):
        assert (await post(http, {"sender": "fuzz-4", "message": "hi"}))[0] == 200
    assert [m.text for m in received].count("hi") == 11


@pytest.fixture()
async def sock(limits):
    from bot.web.socket_channel import StackwiseSocketIO

    channel = StackwiseSocketIO(
        user_message_evt="user_uttered", bot_message_evt="bot_uttered", session_persistence=True
    )
    base, received, server = await serve(channel)
    yield base, received
    await stop(server)


@pytest.fixture()
def few_handshakes(monkeypatch, limits):
    monkeypatch.setenv("STACKWISE_RATE_LIMIT_IP_PER_MIN", "3")
    get_settings.cache_clear()


class SocketClient:
    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.base = base
        self.headers = {"Origin": base, **(headers or {})}
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue = asyncio.Queue()
        self.connect_error = None
        for name in ("bot_uttered", "stackwise_error", "session_confirm", "session_error"):
            self.sio.on(name, self._handler(name))

        @self.sio.on("connect_error")
        async def connect_error(data=None):
            self.connect_error = data

    def _handler(self, name):
        async def handler(data=None):
            await self.events.put((name, data))

        return handler

    async def connect(self, session_id: str, wait: float = 10) -> None:
        token = tenants.socket_token(self.base, session_id, None)
        await self.sio.connect(
            self.base,
            headers=self.headers,
            auth={"token": token},
            # python-engineio 4.15 needs a newer aiohttp for its WebSocket client: long-polling.
            transports=["polling"],
            socketio_path="socket.io",
            wait_timeout=wait,
        )
        await self.sio.emit("session_request", {"session_id": session_id})
        assert await self.next() == ("session_confirm", session_id)

    async def next(self) -> tuple[str, object]:
        return await asyncio.wait_for(self.events.get(), 10)

    async def say(self, data) -> tuple[str, object]:
        await self.sio.emit("user_uttered", data)
        return await self.next()


async def test_socket_refuses_bad_messages_and_passes_good_ones(sock):
    base, received = sock
    client = SocketClient(base)
    sid = "fuzz-" + uuid.uuid4().hex[:10]
    await client.connect(sid)
    try:
        for data, needle in [
            ({"message": "x" * 101, "session_id": sid}, "the limit is 100"),
            ({"message": 7, "session_id": sid}, "non-empty string"),
            ({"message": "tab\tok but bell\x07", "session_id": sid}, "U+0007"),
            ("just a string", "JSON object"),
            (None, "JSON object"),
            ({"message": "hi", "session_id": "no"}, "session id refused"),
        ]:
            name, payload = await client.say(data)
            assert name == "stackwise_error" and needle in payload["error"], payload
            assert payload["status"] in (400, 403)
        name, payload = await client.say(
            {"message": "<img src=x onerror=alert(1)>", "session_id": sid}
        )
        assert (name, payload["text"]) == ("bot_uttered", "echo: <img src=x onerror=alert(1)>")
        assert [m.text for m in received] == ["<img src=x onerror=alert(1)>"]
    finally:
        await client.sio.disconnect()


async def test_socket_rate_limits_per_conversation(sock):
    base, received = sock
    client = SocketClient(base, {"X-Forwarded-For": CLIENT})
    sid = "fuzz-" + uuid.uuid4().hex[:10]
    await client.connect(sid)
    try:
        for _ in range(5):
            assert (await client.say({"message": "hi", "session_id": sid}))[0] == "bot_uttered"
        name, payload = await client.say({"message": "hi", "session_id": sid})
        assert name == "stackwise_error" and payload["status"] == 429
        assert "please wait" in payload["error"] and payload["retry_after_s"] >= 1
        assert len(received) == 5
    finally:
        await client.sio.disconnect()


async def test_socket_handshakes_count_against_the_ip(few_handshakes, sock):
    base, _ = sock
    refused = None
    for i in range(10):
        client = SocketClient(base, {"X-Forwarded-For": CLIENT})
        try:
            await client.connect(f"fuzz-hs-{i:04d}", wait=2)
        except socketio.exceptions.ConnectionError:
            refused = client.connect_error
            break
        finally:
            await client.sio.disconnect()
    assert i == 3  # 3 handshakes a minute from one address here
    assert "too many requests" in refused["message"] and refused["data"]["retry_after_s"] >= 1
