"""The socket.io channel for stock Rasa clients (bot/web/socket_channel.py), served in this process:
CORS only for origins a tenant opened, no token needed there, signed-in sessions still refused,
the tenant only from an opened origin, cards as text; our widget's payloads unchanged."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest
import socketio
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.supervisor import free_port
from bot.web.socket_channel import StackwiseSocketIO, card_line, cards_text
from knowledge import tenants

CARDS = [
    {
        "name": "CompTIA A+",
        "provider": "CompTIA",
        "cost_usd": 499.0,
        "hours": 120.0,
        "miles": None,
        "url": "https://www.comptia.org/certifications/a",
    },
    {"name": "Welding I", "provider": "Alamo Colleges", "cost_usd": None, "miles": 12.4},
    {"name": "LinkedIn Learning *Pro*", "cost_usd": 39.99, "cost_period": "month"},
]


def test_cards_as_text_lines():
    assert card_line(CARDS[0]) == (
        "- CompTIA A+ (CompTIA): $499, 120 hours. [More](https://www.comptia.org/certifications/a)"
    )
    # Unknown cost is said, unknown hours left out; Markdown in a name stays text.
    assert card_line(CARDS[1]) == "- Welding I (Alamo Colleges): cost not recorded, 12 miles away."
    assert card_line(CARDS[2]) == r"- LinkedIn Learning \*Pro\*: $39.99 a month."
    assert card_line({"name": "", "cost_usd": 5}) is None and card_line("x") is None
    # Cards the reply's own text already names are not said twice.
    said = "Here are 3 options:\n1. CompTIA A+ (CompTIA): $499."
    assert cards_text(CARDS, said) == "\n".join(card_line(c) for c in CARDS[1:])
    assert cards_text(CARDS[:1], said) is None and cards_text("nope") is None


@pytest.fixture()
async def stock(monkeypatch):
    """The channel with a stand-in bot: "recommend" is answered as action_recommend does (a text
    list naming the first card, then the cards), anything else with an echo and a widget-only
    signal (as actions/privacy.py sends after a deletion)."""
    channel = StackwiseSocketIO(
        user_message_evt="user_uttered", bot_message_evt="bot_uttered", session_persistence=True
    )
    received: list[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)
        out, to = message.output_channel, message.sender_id
        if message.text == "recommend":
            await out.send_text_with_buttons(
                to,
                "Here are 3 options:\n1. CompTIA A+ (CompTIA): $499.",
                [{"title": "More", "payload": "more"}],
            )
            await out.send_response(to, {"custom": {"type": "credential_cards", "cards": CARDS}})
        else:
            await out.send_text_message(to, f"echo: {message.text}")
            await out.send_response(to, {"custom": {"type": "conversation_deleted"}})

    Sanic.test_mode = True
    app = Sanic(f"stock_test_{uuid.uuid4().hex[:8]}")
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/" + channel.url_prefix())
    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    await server.startup()
    task = asyncio.ensure_future(server.serve_forever())
    opened = f"http://opened-{uuid.uuid4().hex[:6]}.example"
    monkeypatch.setenv("STACKWISE_TENANT_DEMO_CC_STOCK_CLIENT_ORIGINS", opened)
    yield f"http://127.0.0.1:{port}", opened, received
    server.close()
    await server.wait_closed()
    task.cancel()


async def connect(base: str, headers: dict[str, str], token: str | None = None):
    """Connect like rasa-webchat (no auth) or like our widget (a token), say one message."""
    events: asyncio.Queue = asyncio.Queue()
    sio = socketio.AsyncClient(reconnection=False)
    for name in ("bot_uttered", "session_confirm", "session_error", "stackwise_error"):
        sio.on(name, lambda data=None, name=name: events.put_nowait((name, data)))
    await sio.connect(
        base,
        headers=headers,
        auth={"token": token} if token else None,
        transports=["polling"],
        socketio_path="socket.io",
        wait_timeout=10,
    )
    return sio, events


async def next_event(events: asyncio.Queue) -> tuple[str, object]:
    return await asyncio.wait_for(events.get(), 10)


async def test_engineio_answers_cors_for_opened_origins_only(stock):
    base, opened, _ = stock
    async with aiohttp.ClientSession() as http:
        for origin, want in ((opened, opened), ("https://elsewhere.example", None)):
            async with http.get(
                f"{base}/socket.io/?EIO=4&transport=polling", headers={"Origin": origin}
            ) as r:
                assert r.status == 200
                assert r.headers.get("Access-Control-Allow-Origin") == want
                assert "Access-Control-Allow-Credentials" not in r.headers
        async with http.options(
            f"{base}/socket.io/?EIO=4&transport=polling",
            headers={
                "Origin": opened,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        ) as r:
            assert r.headers.get("Access-Control-Allow-Origin") == opened
            assert r.headers.get("Access-Control-Allow-Headers") == "content-type"


async def test_stock_client_without_token_anonymous_only(stock):
    base, opened, received = stock
    sio, events = await connect(base, {"Origin": opened})
    try:
        # rasa-webchat's first session_request has no id: the server makes one.
        await sio.emit("session_request", {"session_id": None})
        name, session_id = await next_event(events)
        assert name == "session_confirm" and tenants.valid_anonymous_session_id(session_id)
        await sio.emit(
            "user_uttered",
            {"message": "hi", "session_id": session_id, "customData": {"tenant": "demo-cc"}},
        )
        name, reply = await next_event(events)
        assert (name, reply["text"]) == ("bot_uttered", "echo: hi")
        # The tenant reached the conversation signed, because the origin is the tenant's own.
        blob = received[0].metadata[tenants.METADATA_KEY]
        assert tenants.verify_metadata(blob, session_id)["tenant"] == "demo-cc"
        await sio.emit(
            "user_uttered",
            {"message": "hi", "session_id": session_id, "customData": {"tenant": "other-cc"}},
        )
        await next_event(events)
        assert tenants.METADATA_KEY not in received[1].metadata
        # A signed-in student's session is never open to stock clients.
        await sio.emit("session_request", {"session_id": "st-" + "a" * 40})
        assert (await next_event(events))[0] == "session_error"
    finally:
        await sio.disconnect()
    # Another origin without a token: no handshake.
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(base, {"Origin": "https://elsewhere.example"})


async def test_stock_sessions_get_cards_as_text_and_the_widget_gets_them_as_sent(stock):
    base, opened, _ = stock
    sio, events = await connect(base, {"Origin": opened})
    session_id = uuid.uuid4().hex
    try:
        await sio.emit("session_request", {"session_id": session_id})
        await next_event(events)
        await sio.emit("user_uttered", {"message": "recommend", "session_id": session_id})
        name, first = await next_event(events)
        assert name == "bot_uttered" and first["quick_replies"][0]["payload"] == "more"
        name, second = await next_event(events)
        # The card the list already named is not repeated; the others are text, not custom.
        # (Markdown hard line breaks: rasa-webchat would join the lines into one paragraph.)
        assert second == {"text": "  \n".join(card_line(c) for c in CARDS[1:])}
        await sio.emit("user_uttered", {"message": "delete", "session_id": session_id})
        assert (await next_event(events))[1] == {"text": "echo: delete"}
        with pytest.raises(asyncio.TimeoutError):  # the widget-only signal is not sent
            await asyncio.wait_for(events.get(), 1)
    finally:
        await sio.disconnect()
    # Our widget (a socket token for its origin and id): the payloads exactly as the bot sent them.
    widget_origin = "https://widget.example"
    token = tenants.socket_token(widget_origin, session_id, None)
    sio, events = await connect(base, {"Origin": widget_origin}, token)
    try:
        await sio.emit("session_request", {"session_id": session_id})
        await next_event(events)
        await sio.emit("user_uttered", {"message": "recommend", "session_id": session_id})
        await next_event(events)
        assert (await next_event(events))[1] == {
            "custom": {"type": "credential_cards", "cards": CARDS}
        }
        await sio.emit("user_uttered", {"message": "delete", "session_id": session_id})
        await next_event(events)
        assert (await next_event(events))[1] == {"custom": {"type": "conversation_deleted"}}
    finally:
        await sio.disconnect()
