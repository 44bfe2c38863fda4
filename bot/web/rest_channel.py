"""Rasa's REST channel (``POST /webhooks/rest/webhook``) with its input checked first.

Rasa 3.6's own ``RestInput`` answers 500 to an empty body or a JSON array, 200 with ``[]`` to a
message that is not a string, files a message without ``sender`` under the shared conversation
``default``, lets the client pick ``input_channel``, and takes bodies of any size. This channel
refuses all of those with a clear 4xx (``bot.web.guard``), caps the body before reading it,
applies the per-IP and per-conversation rate limits, and holds every message to the session rule
(``guard.check_session_proof``: a signed-in session's signed blob, an anonymous session's
``session_secret``). Accepted messages go to Rasa exactly as
``RestInput`` would pass them (``?stream=true`` included).

``stackwise serve`` swaps ``rest:`` in credentials.yml for this class
(``bot.supervisor.runtime_credentials``); the URL stays ``/webhooks/rest/webhook``.
"""

from __future__ import annotations

import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request

from bot.web.guard import (
    MAX_BODY,
    SECRET_FIELD,
    Guard,
    Refused,
    body_too_large,
    check_metadata,
    check_sender,
    check_session_proof,
    check_text,
    parse_json_object,
    printable,
)
from knowledge.config import get_settings

logger = logging.getLogger(__name__)


def refusal(exc: Refused) -> response.HTTPResponse:
    return response.json(exc.body(), status=exc.status, headers=exc.headers())


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body of a streamed request, refused (413) past ``limit`` bytes without reading on."""
    if request.stream is not None:
        # Also what Sanic drains after an early answer: it then closes the connection.
        request.stream.request_max_size = limit
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise body_too_large(limit)
    if request.stream is not None:
        try:
            await request.receive_body()
        except PayloadTooLarge as exc:
            raise body_too_large(limit) from exc
    return request.body or b""


class StackwiseRest(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        settings = get_settings()
        guard = Guard.from_settings(settings)
        bp = Blueprint("stackwise_rest_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request):
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request):
            try:
                ip = guard.client_ip(request.ip, request.headers.get("x-forwarded-for"))
                guard.check_ip(ip)
                body = parse_json_object(await read_body(request))
                sender = check_sender(body.get("sender"))
                guard.check_session(ip, sender)
                text = check_text(body.get("message"), settings.max_message_chars)
                metadata = check_metadata(body.get("metadata"))
                check_session_proof(
                    sender,
                    metadata=metadata,
                    secret=body.get(SECRET_FIELD),
                    exempt=guard.exempt(ip),
                    origin=request.headers.get("origin"),
                )
            except Refused as exc:
                logger.info("REST message refused (%s): %s", exc.status, exc.message)
                return refusal(exc)
            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(on_new_message, text, sender, self.name(), metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text, collector, sender, input_channel=self.name(), metadata=metadata
                    )
                )
            except CancelledError:
                logger.error("REST message timed out: %s", printable(text))
            except Exception:
                logger.exception("REST message failed: %s", printable(text))
            return response.json(collector.messages)

        return bp
