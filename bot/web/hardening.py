"""Slow and malformed clients on the Sanic servers (the web app on :8000, Rasa behind :5005).

Sanic 21.12 (Rasa 3.6's) holds a stalled client for a minute or more: ``REQUEST_TIMEOUT`` (60 s)
covers only the header, the body is read under ``RESPONSE_TIMEOUT`` (Rasa: 3600 s), a
``Content-Length: -1`` reads until that timeout, and bytes that cannot start an HTTP request (TLS
on the plain port, 0xFF, NUL) wait for a header end that never comes. :func:`harden` makes each
of those a fast, clear 4xx:

- header: ``REQUEST_TIMEOUT`` seconds (408); idle keep-alive connections: ``KEEP_ALIVE_TIMEOUT``;
- body: the whole body within ``body_timeout`` seconds of the header (408), as Sanic's own
  timeout check does it (the connection's task is cancelled with the exception to answer);
- ``Content-Length`` that is not a plain non-negative number, a NUL anywhere in the target: 400;
- a first byte that no HTTP method starts with: 400 at once, then the connection is closed
  (:func:`refuse_non_http_bytes`, a class-wide patch of Sanic's protocol).

``RESPONSE_TIMEOUT`` is left alone: it bounds the server's own work (a dialogue turn), not the
client. Pins Sanic 21.12 internals (``HttpProtocol._http`` / ``_task``, ``Http.stage``,
``Http.request_body``): re-check on upgrade (tests/unit/test_hardening.py).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from sanic import Sanic, response
from sanic.exceptions import InvalidUsage, NotFound, RequestTimeout

logger = logging.getLogger(__name__)

HEADER_TIMEOUT_S = 5.0
BODY_TIMEOUT_S = 5.0
KEEP_ALIVE_S = 5.0
# What an HTTP/1.x request (or a blank line between pipelined ones) can start with.
_REQUEST_START = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n")


def _json_400(message: str) -> bytes:
    body = json.dumps({"error": message}).encode()
    return (
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
    ) + body


BAD_START = _json_400("malformed request line: this port speaks plain HTTP/1.1")


def harden(
    app: Sanic,
    *,
    header_timeout: float = HEADER_TIMEOUT_S,
    body_timeout: float = BODY_TIMEOUT_S,
    keep_alive: float = KEEP_ALIVE_S,
) -> Sanic:
    """Timeouts and request-head checks for ``app`` (call before it starts)."""
    refuse_non_http_bytes()
    app.config.REQUEST_TIMEOUT = header_timeout
    app.config.KEEP_ALIVE_TIMEOUT = keep_alive
    app.config.FALLBACK_ERROR_FORMAT = "json"  # Sanic's own 404 / 405 / 408 as JSON, not HTML

    @app.signal("http.lifecycle.request")
    async def _check_head(request: Any) -> None:
        length = request.headers.get("content-length")
        if length is not None and not (length.isascii() and length.isdigit()):
            raise InvalidUsage("Content-Length must be a non-negative whole number")
        if b"\x00" in unquote_to_bytes(request.raw_url or b""):
            raise InvalidUsage("the request target must not contain a NUL byte")
        if length not in (None, "0") or "transfer-encoding" in request.headers:
            _body_deadline(request, body_timeout)

    return app


def _body_deadline(request: Any, seconds: float) -> None:
    transport = request.transport
    protocol = transport.get_protocol() if transport is not None else None
    if protocol is None or not hasattr(protocol, "_http"):
        return

    def expire() -> None:
        http = getattr(protocol, "_http", None)
        task = getattr(protocol, "_task", None)
        # Still this request, and still reading its body (None once read, False if none).
        if http is None or task is None or http.request is not request or not http.request_body:
            return
        if getattr(http, "upgrade_websocket", False):
            return
        logger.info("request body not received within %s s; answering 408", seconds)
        http.exception = RequestTimeout(f"the request body was not received within {seconds:g} s")
        task.cancel()

    protocol.loop.call_later(seconds, expire)


def refuse_non_http_bytes() -> None:
    """Answer 400 and close when a request starts with a byte no HTTP method starts with (TLS on
    the plain port, 0xFF, NUL), instead of waiting for the header timeout. Class-wide, once."""
    from sanic.http import Stage
    from sanic.server.protocols.http_protocol import HttpProtocol

    if getattr(HttpProtocol, "_stackwise_bad_start", False):
        return
    received = HttpProtocol.data_received

    def data_received(self, data: bytes):  # type: ignore[no-untyped-def]
        http = getattr(self, "_http", None)
        at_start = not self.recv_buffer and (
            http is None or http.stage is Stage.IDLE or http.stage is Stage.REQUEST
        )
        if at_start and data and data[0] not in _REQUEST_START and self.transport is not None:
            self.transport.write(BAD_START)
            self.transport.close()
            return None
        return received(self, data)

    HttpProtocol.data_received = data_received
    HttpProtocol._stackwise_bad_start = True


async def static_file(root: Path, name: str) -> response.HTTPResponse:
    """A file directly or below ``root``, or 404: Sanic's ``app.static`` answers 500 to a
    directory (``/static/``, ``/static/.``) and to a NUL in the name."""
    if not name or "\x00" in name or "\\" in name:
        raise NotFound("no such file")
    base = root.resolve()
    path = (base / name).resolve()
    if base not in path.parents or not path.is_file():
        raise NotFound("no such file")
    return await response.file(path, headers={"Cache-Control": "public, max-age=300"})
