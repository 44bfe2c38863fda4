"""Rasa socket.io channel for the widget: Rasa's own channel with five changes.

1. The handshake needs a socket token from the web app (``/api/widget-config`` issues it only to
   allowed origins), and the handshake's ``Origin`` must be the one the token was issued for.
2. A session id can only be joined with a token issued for it (``/api/widget-config`` issues one
   for an existing id only with that session's proof: its secret, or a signed-in student's
   portal sign-in), so a known id alone is worth nothing. Several tabs of one learner each get
   a token for the same id and share its room: every tab gets every reply. An origin a tenant
   opened to stock Rasa clients (``tenants.stock_client_origins``) may connect without a token
   and use any anonymous id (Rasa's own rule), never a signed-in student's.
3. Custom payloads (credential cards) are sent as ``{"custom": {...}}``; Rasa's channel passes
   them to ``sio.emit(**payload)``, which fails for any payload without a ``data`` key.
4. Messages are checked like the REST channel's (``bot.web.guard``: type, length, control
   characters; per-IP and per-conversation rate limits, handshakes count against the IP). A
   refused message is answered with a ``stackwise_error`` event ``{"error", "status",
   "retry_after_s"}`` instead of being cut or dropped silently; NaN / Infinity and a
   ``metadata`` that is not an object are refused the same way (400); frames over ``MAX_BODY``
   bytes close the connection (engine.io's limit).

5. Stock Rasa clients (botfront's rasa-webchat and the like), where a tenant opened an origin to
   them: the Engine.IO requests from that origin get CORS headers (``Access-Control-Allow-Origin``
   for that origin only, no credentials: the id travels in the payload, not in a cookie); every
   other origin gets none, so a browser page there cannot read the handshake. Their sessions get
   the tenant from ``customData.tenant`` (rasa-webchat's field) only if the origin is one that
   tenant opened, signed here as the web app would. rasa-webchat renders text, buttons /
   ``quick_replies`` and ``attachment`` (image, video, generic template) and silently drops any
   other custom payload unless the page supplies a ``customComponent``, so for these sessions the
   credential cards are sent as a text list (the cards that the reply's own text does not already
   name), and payloads meant only for our widget (``conversation_deleted``) are not sent.

Used by ``stackwise serve`` (see ``bot.supervisor.runtime_credentials``); in credentials.yml it is
``bot.web.socket_channel.StackwiseSocketIO`` with the same settings as ``socketio``.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from bot.web.guard import (
    MAX_BODY,
    SENDER_RE,
    Guard,
    Refused,
    check_text,
    non_finite,
    strict_loads,
)
from knowledge.config import get_settings
from knowledge.tenants import (
    METADATA_KEY,
    SESSION_ID_RE,
    STUDENT_SESSION_PREFIX,
    InvalidToken,
    normalize_origin,
    sign_metadata,
    stock_client_origins,
    verify_socket_token,
)

logger = logging.getLogger(__name__)
ERROR_EVT = "stackwise_error"
CARDS_TYPE = "credential_cards"  # actions/recommend.py's json_message
# Characters that Markdown (rasa-webchat renders text with react-markdown) would read as markup.
_MARKDOWN_RE = re.compile(r"([\\`*_\[\]<>#|])")


class StackwiseSocketIOOutput(SocketIOOutput):
    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _md(text: str) -> str:
    return _MARKDOWN_RE.sub(r"\\\1", text.strip())


def card_line(card: Any) -> str | None:
    """One credential card as a Markdown list item: name (provider): cost, hours, miles; a link.
    What the card does not record is said as such (cost) or left out (hours, miles)."""
    if not isinstance(card, dict) or not isinstance(card.get("name"), str) or not card["name"]:
        return None
    head = _md(card["name"])
    if isinstance(card.get("provider"), str) and card["provider"].strip():
        head += f" ({_md(card['provider'])})"
    cost = card.get("cost_usd")
    if not _number(cost):
        facts = ["cost not recorded"]
    elif cost == 0:
        facts = ["free"]
    else:
        amount = f"${cost:,.0f}" if float(cost).is_integer() else f"${cost:,.2f}"
        facts = [amount + (" a month" if card.get("cost_period") == "month" else "")]
    if _number(card.get("hours")) and card["hours"] > 0:
        facts.append(f"{card['hours']:g} hours")
    miles = card.get("miles")
    if _number(miles):
        facts.append("under a mile away" if miles < 1 else f"{miles:.0f} miles away")
    line = f"- {head}: {', '.join(facts)}."
    url = card.get("url")
    if isinstance(url, str) and url.startswith(("https://", "http://")) and ")" not in url:
        line += f" [More]({url})"
    return line


def cards_text(cards: Any, already_said: str = "") -> str | None:
    """The cards as text for clients that do not render them, leaving out those that the reply's
    own text already names (the recommendation message lists them), so nothing is said twice."""
    if not isinstance(cards, list):
        return None
    lines = [
        line
        for card in cards
        if isinstance(card, dict) and str(card.get("name") or "") not in already_said
        for line in [card_line(card)]
        if line
    ]
    return "\n".join(lines) or None


class StockClientOutput(StackwiseSocketIOOutput):
    """Replies for a stock Rasa client's session: credential cards as text, and no payloads that
    only our widget understands (rasa-webchat drops unknown custom payloads silently)."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str) -> None:
        super().__init__(sio, bot_message_evt)
        self._said: list[str] = []

    async def _send_message(self, socket_id: str, response: Any) -> None:
        if isinstance(response, dict) and isinstance(response.get("text"), str):
            self._said.append(response["text"])
            # Our texts put one item a line; Markdown would join the lines into one paragraph.
            response = {**response, "text": response["text"].replace("\n", "  \n")}
        await super()._send_message(socket_id, response)

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        if json_message.get("type") != CARDS_TYPE:
            return
        text = cards_text(json_message.get("cards"), "\n".join(self._said))
        if text:
            await self._send_message(recipient_id, {"text": text})


def stock_tenant(origin: str | None, custom_data: Any) -> str | None:
    """The tenant a stock client names (``customData.tenant``), if that tenant opened this origin
    to stock clients (``STACKWISE_TENANT_<ID>_STOCK_CLIENT_ORIGINS``); None otherwise."""
    tenant = custom_data.get("tenant") if isinstance(custom_data, dict) else None
    if not isinstance(tenant, str) or not SENDER_RE.match(tenant) or origin is None:
        return None
    name = f"STACKWISE_TENANT_{re.sub(r'[^A-Z0-9]', '_', tenant.upper())}_STOCK_CLIENT_ORIGINS"
    return tenant if origin in stock_client_origins({name: os.environ.get(name, "")}) else None


def with_stock_client_cors(
    handle: Callable[[Request], Awaitable[Any]],
) -> Callable[[Request], Awaitable[Any]]:
    """engine.io's request handler, answering CORS for origins opened to stock clients only.

    engine.io's own CORS cannot do this: any list of origins also refuses every other origin,
    and the widget (WebSocket, any allowed origin) and the stack's own polling clients are
    checked by their socket token instead. No ``Allow-Credentials``: nothing here is a cookie."""

    @functools.wraps(handle)
    async def handle_request(request: Request) -> Any:
        reply = await handle(request)
        origin = request.headers.get("origin")
        if isinstance(reply, HTTPResponse) and normalize_origin(origin) in stock_client_origins():
            reply.headers["Access-Control-Allow-Origin"] = origin
            reply.headers["Vary"] = "Origin"
            if request.method == "OPTIONS":
                reply.headers["Access-Control-Allow-Methods"] = "OPTIONS, GET, POST"
                asked = request.headers.get("access-control-request-headers")
                if asked:
                    reply.headers["Access-Control-Allow-Headers"] = asked
        return reply

    return handle_request


class StackwiseSocketIO(SocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def get_output_channel(self) -> StackwiseSocketIOOutput | None:
        if self.sio is None:
            return None
        return StackwiseSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # Origins are checked against the socket token in `connect`, not by engine.io's CORS.
        sio = AsyncServer(
            async_mode="sanic", cors_allowed_origins=[], max_http_buffer_size=MAX_BODY
        )
        # Attached to Sanic when the blueprint is registered (engine.io's `create_route`).
        sio.eio.handle_request = with_stock_client_cors(sio.eio.handle_request)
        settings = get_settings()
        guard = Guard.from_settings(settings)
        ip_by_sid: dict[str, str] = {}
        bp = SocketBlueprint(sio, self.socketio_path, "stackwise_socketio_webhook", __name__)
        self.sio = sio
        ns = self.namespace
        claims_by_sid: dict[str, dict[str, Any]] = {}

        @bp.route("/", methods=["GET"])
        async def health(_: Request):
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=ns)
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            request = environ.get("sanic.request")
            ip = guard.client_ip(
                getattr(request, "ip", None) or environ.get("REMOTE_ADDR"),
                environ.get("HTTP_X_FORWARDED_FOR"),
            )
            try:
                guard.check_ip(ip)
            except Refused as exc:
                raise SocketRefused(exc.message, exc.body()) from exc
            token = (auth or {}).get("token") if isinstance(auth, dict) else None
            origin = environ.get("HTTP_ORIGIN")
            try:
                if token is None and normalize_origin(origin) in stock_client_origins():
                    claims_by_sid[sid] = {"origin": normalize_origin(origin), "stock": True}
                else:
                    claims_by_sid[sid] = verify_socket_token(token, origin)
            except InvalidToken as exc:
                logger.info("socket.io handshake refused: %s", exc)
                return False
            ip_by_sid[sid] = ip
            return True

        @sio.on("disconnect", namespace=ns)
        async def disconnect(sid: str) -> None:
            claims_by_sid.pop(sid, None)
            ip_by_sid.pop(sid, None)

        def allowed_session(sid: str, session_id: Any) -> bool:
            if not isinstance(session_id, str) or not SESSION_ID_RE.match(session_id):
                return False
            claims = claims_by_sid.get(sid, {})
            if claims.get("stock"):
                return not session_id.startswith(STUDENT_SESSION_PREFIX)
            return claims.get("sid") == session_id

        @sio.on("session_request", namespace=ns)
        async def session_request(sid: str, data: Any = None) -> None:
            data = data if isinstance(data, dict) else {}
            claims = claims_by_sid.get(sid, {})
            session_id = data.get("session_id") or claims.get("sid") or uuid.uuid4().hex
            if not allowed_session(sid, session_id):
                await sio.emit("session_error", "session id refused", room=sid)
                return
            if self.session_persistence:
                sio.enter_room(sid, session_id)
            await sio.emit("session_confirm", session_id, room=sid)

        async def refuse(sid: str, exc: Refused) -> None:
            logger.info("socket.io message refused (%s): %s", exc.status, exc.message)
            await sio.emit(ERROR_EVT, {**exc.body(), "status": exc.status}, room=sid)

        @sio.on(self.user_message_evt, namespace=ns)
        async def handle_message(sid: str, data: Any = None) -> None:
            if not isinstance(data, dict):
                await refuse(sid, Refused(400, "a message must be a JSON object"))
                return
            if non_finite(data):
                await refuse(sid, Refused(400, "a message must be valid JSON (no NaN or Infinity)"))
                return
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not sender_id or not allowed_session(sid, sender_id):
                    await refuse(sid, Refused(403, "session id refused"))
                    return
            else:
                sender_id = sid
            ip = ip_by_sid.get(sid, "unknown")
            try:
                guard.check_ip(ip)
                guard.check_session(ip, sender_id)
                text = check_text(data.get("message"), settings.max_message_chars)
            except Refused as exc:
                await refuse(sid, exc)
                return
            metadata = data.get(self.metadata_key)
            if isinstance(metadata, str):  # as Rasa's channel: metadata may come as JSON text
                try:
                    metadata = strict_loads(metadata)
                except (ValueError, RecursionError):
                    metadata = ""
            if metadata is not None and not isinstance(metadata, dict):
                await refuse(sid, Refused(400, "'metadata' must be a JSON object"))
                return
            claims = claims_by_sid.get(sid, {})
            output: StackwiseSocketIOOutput
            if claims.get("stock"):
                # Only the origin-checked tenant reaches the conversation (action_session_start
                # trusts the signed blob alone).
                metadata = {k: v for k, v in (metadata or {}).items() if k != METADATA_KEY}
                tenant = stock_tenant(claims.get("origin"), data.get("customData"))
                if tenant:
                    metadata[METADATA_KEY] = sign_metadata(sender_id, tenant_id=tenant)
                output = StockClientOutput(sio, self.bot_message_evt)
            else:
                output = StackwiseSocketIOOutput(sio, self.bot_message_evt)
            message = UserMessage(
                text,
                output,
                sender_id,
                input_channel=self.name(),
                metadata=metadata or {},
            )
            await on_new_message(message)

        return bp
