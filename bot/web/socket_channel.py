"""Rasa socket.io channel for the widget: Rasa's own channel with three changes.

1. The handshake needs a socket token from the web app (``/api/widget-config`` issues it only to
   allowed origins), and the handshake's ``Origin`` must be the one the token was issued for.
2. A signed-in student's session id (``st-...``) can only be joined with a token issued for it.
3. Custom payloads (credential cards) are sent as ``{"custom": {...}}``; Rasa's channel passes
   them to ``sio.emit(**payload)``, which fails for any payload without a ``data`` key.

Used by ``stackwise serve`` (see ``bot.supervisor.runtime_credentials``); in credentials.yml it is
``bot.web.socket_channel.StackwiseSocketIO`` with the same settings as ``socketio``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from socketio import AsyncServer

from knowledge.tenants import (
    SESSION_ID_RE,
    STUDENT_SESSION_PREFIX,
    InvalidToken,
    verify_socket_token,
)

logger = logging.getLogger(__name__)


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
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        bp = SocketBlueprint(sio, self.socketio_path, "stackwise_socketio_webhook", __name__)
        self.sio = sio
        ns = self.namespace
        claims_by_sid: dict[str, dict[str, Any]] = {}

        @bp.route("/", methods=["GET"])
        async def health(_: Request):
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=ns)
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            token = (auth or {}).get("token") if isinstance(auth, dict) else None
            try:
                claims_by_sid[sid] = verify_socket_token(token, environ.get("HTTP_ORIGIN"))
            except InvalidToken as exc:
                logger.info("socket.io handshake refused: %s", exc)
                return False
            return True

        @sio.on("disconnect", namespace=ns)
        async def disconnect(sid: str) -> None:
            claims_by_sid.pop(sid, None)

        def allowed_session(sid: str, session_id: Any) -> bool:
            if not isinstance(session_id, str) or not SESSION_ID_RE.match(session_id):
                return False
            if session_id.startswith(STUDENT_SESSION_PREFIX):
                return claims_by_sid.get(sid, {}).get("sid") == session_id
            return True

        @sio.on("session_request", namespace=ns)
        async def session_request(sid: str, data: dict | None) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id") or uuid.uuid4().hex
            if not allowed_session(sid, session_id):
                await sio.emit("session_error", "session id refused", room=sid)
                return
            if self.session_persistence:
                sio.enter_room(sid, session_id)
            await sio.emit("session_confirm", session_id, room=sid)

        @sio.on(self.user_message_evt, namespace=ns)
        async def handle_message(sid: str, data: dict) -> None:
            if not isinstance(data, dict):
                return
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not sender_id or not allowed_session(sid, sender_id):
                    return
            else:
                sender_id = sid
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            if not isinstance(metadata, dict):
                metadata = {}
            message = UserMessage(
                str(data.get("message", ""))[:4000],
                StackwiseSocketIOOutput(sio, self.bot_message_evt),
                sender_id,
                input_channel=self.name(),
                metadata=metadata,
            )
            await on_new_message(message)

        return bp
