"""Rasa socket.io channel for the widget: Rasa's own channel with four changes.

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

Used by ``stackwise serve`` (see ``bot.supervisor.runtime_credentials``); in credentials.yml it is
``bot.web.socket_channel.StackwiseSocketIO`` with the same settings as ``socketio``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from bot.web.guard import MAX_BODY, Guard, Refused, check_text, non_finite, strict_loads
from knowledge.config import get_settings
from knowledge.tenants import (
    SESSION_ID_RE,
    STUDENT_SESSION_PREFIX,
    InvalidToken,
    normalize_origin,
    stock_client_origins,
    verify_socket_token,
)

logger = logging.getLogger(__name__)
ERROR_EVT = "stackwise_error"


class StackwiseSocketIOOutput(SocketIOOutput):
    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


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
            message = UserMessage(
                text,
                StackwiseSocketIOOutput(sio, self.bot_message_evt),
                sender_id,
                input_channel=self.name(),
                metadata=metadata or {},
            )
            await on_new_message(message)

        return bp
