"""A small reverse proxy: one address in front of the action servers, and (scaled) one in front
of the Rasa replicas. `stackwise serve` starts it; in production a real load balancer (nginx,
HAProxy, a Kubernetes ingress) takes the Rasa role, see docs/deployment.md.

Action servers (`--actions-port`, backends `--action URL`): each action call goes to the next
healthy server (round-robin); a server that cannot be reached is marked down and the call goes to
the next one. A call is never sent twice: when no server can be reached, a server dies during
the call or fails it (HTTP 5xx), the proxy answers Rasa itself with a valid action-server
response: no events and one short bot message, given once per user turn, so the user is never
left with silence and the conversation's state is untouched (Rasa logs the action as run; slots
and the active form stay as they were).

Rasa replicas (`--rasa-port`, backends `--rasa URL`):
- REST messages (`/webhooks/rest/webhook`) go to the replica picked by a hash of the sender
  (the next one when it is down). Each message carries a delivery id in its metadata; when a
  replica dies after the message reached it, the proxy looks the id up in the conversation's
  tracker (shared, PostgreSQL) on the next replica: if the message was recorded, its bot
  replies are returned from the tracker, otherwise it is delivered to the next replica. A
  message is therefore processed exactly once.
- socket.io is sticky: a WebSocket stays on one replica; long-polling requests follow the
  Engine.IO session id learned from the handshake. A handshake that names its conversation
  (``?stackwise_session=ID``, as the widget does) goes to that conversation's replica, so every
  tab of one learner shares one socket.io room and gets every reply. Polling frames over 64 KiB
  are refused (413) before a replica reads them, which leaves the session usable. When a replica dies its clients reconnect and
  land on a live one; their conversation continues from the shared tracker store.
- anything else (`/conversations/<id>/...` by conversation id, the rest round-robin) is
  forwarded, retried on another replica only when the connection could not be made.

Run: `python -m bot.proxy --actions-port 5055 --action http://127.0.0.1:5155
[--rasa-port 5005 --rasa http://127.0.0.1:5105 --rasa http://127.0.0.1:5106]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import re
import signal
import time
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import uvloop
from aiohttp import web

from bot.web.guard import MAX_BODY, body_too_large

logger = logging.getLogger("stackwise.proxy")

UNAVAILABLE_TEXT = (
    "Part of me is restarting, so I can't answer that right now. Please try again in a minute; "
    "your answers are saved."
)
FAILED_TEXT = (
    "Sorry, I couldn't finish that just now (one of my services is unavailable). Please try "
    "again in a minute; your answers are saved."
)
# Metadata key the proxy adds to REST messages (one id per message, for exactly-once delivery).
DELIVERY_KEY = "stackwise_delivery"
REST_PATH = "/webhooks/rest/webhook"
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
CONVERSATION_RE = re.compile(r"^/conversations/([^/]+)")
HEALTH_INTERVAL = 1.0
RASA_KEEPALIVE_S = 2.0
# A busy server (one turn of NLU on a loaded machine) may take a few seconds to answer.
HEALTH_TIMEOUT = 5.0
CONNECT_TIMEOUT = 3.0
# An action may take a while (the first query encodes with the sentence model); Rasa's own limit
# is 300 s. A turn on a Rasa replica may wait for a dead replica's conversation lock to expire.
ACTION_TIMEOUT = 120.0
# Rasa sends an action call's body at once; a larger tracker on a loaded machine may take longer.
ACTION_BODY_TIMEOUT_S = 30.0
RASA_TIMEOUT = 180.0
SID_TTL = 3600.0
REMEMBER_TURNS = 10_000
# Slow clients on the Rasa front (:5005): the first request's header within HEADER_TIMEOUT_S of
# the connection, a body within BODY_TIMEOUT_S, idle keep-alive connections closed after
# KEEPALIVE_S (clients of ours reuse connections for at most RASA_KEEPALIVE_S).
HEADER_TIMEOUT_S = 5.0
BODY_TIMEOUT_S = 5.0
KEEPALIVE_S = 10.0
# Query parameter of a socket.io handshake naming the conversation (the widget sends it).
SOCKET_SESSION_PARAM = "stackwise_session"
# A socket.io polling frame larger than this is refused here, before any replica sees it.
MAX_SOCKET_FRAME = MAX_BODY


@dataclass
class Backend:
    url: str
    healthy: bool = True
    inflight: int = 0  # requests sent to it and not answered yet (REST messages)

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")


@dataclass
class Pool:
    """Backends of one kind, with health state; picks by key (sticky) or round-robin."""

    kind: str
    backends: list[Backend]
    health_path: str
    _rr: Iterable[int] = field(default_factory=itertools.count)

    def ordered(self, key: str | None = None) -> list[Backend]:
        """All backends, the preferred one first, healthy before unhealthy (a server marked
        down may be back: it is still tried, last)."""
        n = len(self.backends)
        start = next(self._rr) if key is None else zlib.crc32(key.encode("utf-8"))
        ring = [self.backends[(start + i) % n] for i in range(n)]
        return [b for b in ring if b.healthy] + [b for b in ring if not b.healthy]

    def mark(self, backend: Backend, healthy: bool, why: str = "") -> None:
        if backend.healthy != healthy:
            backend.healthy = healthy
            state = "up again" if healthy else f"down ({why})" if why else "down"
            logger.warning("%s %s is %s", self.kind, backend.url, state)

    async def check(self, session: aiohttp.ClientSession) -> None:
        async def one(b: Backend) -> None:
            try:
                async with session.get(
                    b.url + self.health_path, timeout=aiohttp.ClientTimeout(total=HEALTH_TIMEOUT)
                ) as r:
                    self.mark(b, r.status < 500, f"health check answered {r.status}")
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                self.mark(b, False, describe(exc))

        await asyncio.gather(*(one(b) for b in self.backends))

    async def watch(self, session: aiohttp.ClientSession) -> None:
        while True:
            await self.check(session)
            await asyncio.sleep(HEALTH_INTERVAL)


def describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def forward_headers(request: web.Request) -> dict[str, str]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    peer = request.remote or ""
    prior = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    return headers


def response_headers(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def read_body(request: web.Request, timeout: float = BODY_TIMEOUT_S) -> bytes:
    """The whole body, or HTTPRequestTimeout when the client does not send it in time."""
    try:
        return await asyncio.wait_for(request.read(), timeout)
    except asyncio.TimeoutError:
        raise web.HTTPRequestTimeout(
            text=json.dumps({"error": f"the request body was not received within {timeout:g} s"}),
            content_type="application/json",
        ) from None


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """aiohttp's own 4xx (unknown path, method not allowed, body too large) as JSON."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.content_type == "application/json" or exc.status < 400:
            raise
        return json_error(exc.status, exc.reason.lower() if exc.reason else "bad request")


REQUEST_TIMEOUT_408 = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
    b"Connection: close\r\nContent-Length: 57\r\n\r\n"
    b'{"error": "the request header was not received in time"}\n'
)


def header_deadline(server: Any, seconds: float) -> None:
    """Connections to ``server`` (an aiohttp ``web.Server``) that have not sent a whole request
    header within ``seconds`` get a 408 and are closed (aiohttp waits for ever on a fresh
    connection; later requests on a kept-alive one are bounded by ``keepalive_timeout``)."""
    from aiohttp.web_protocol import RequestHandler

    server._stackwise_header_timeout = seconds
    if getattr(RequestHandler, "_stackwise_patched", False):
        return
    made = RequestHandler.connection_made

    def connection_made(self, transport):  # type: ignore[no-untyped-def]
        made(self, transport)
        limit = getattr(self._manager, "_stackwise_header_timeout", None)
        if limit:
            self._loop.call_later(limit, expire, self)

    def expire(handler) -> None:  # type: ignore[no-untyped-def]
        if handler._request_count == 0 and handler.transport is not None:
            handler.transport.write(REQUEST_TIMEOUT_408)
            handler.force_close()

    RequestHandler.connection_made = connection_made
    RequestHandler._stackwise_patched = True


def valid_action_call(body: bytes, encoding: str | None) -> bool:
    """Whether a body is an action call as Rasa sends it (a JSON object naming the action, with
    a tracker object if any); checked only when no action server could answer it."""
    try:
        call = decode_body(body, encoding)
    except zlib.error:  # aiohttp has already inflated a compressed request body
        try:
            call = decode_body(body, None)
        except (ValueError, RecursionError):
            return False
    except (ValueError, RecursionError):
        return False
    return (
        isinstance(call, dict)
        and isinstance(call.get("next_action"), str)
        and isinstance(call.get("tracker", {}), dict)
    )


def encoding_of(request: web.Request) -> str | None:
    return request.headers.get("Content-Encoding")


def decode_body(body: bytes, encoding: str | None) -> Any:
    if encoding == "deflate":
        body = zlib.decompress(body)
    elif encoding == "gzip":
        body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    return json.loads(body)


class Proxy:
    def __init__(self, actions: list[str], rasa: list[str], rasa_token: str | None = None) -> None:
        self.rasa_token = rasa_token
        self.actions = Pool("action server", [Backend(u) for u in actions], "/health")
        self.rasa = Pool("Rasa replica", [Backend(u) for u in rasa], "/")
        self.session: aiohttp.ClientSession | None = None
        self.action_session: aiohttp.ClientSession | None = None
        self._told: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._sids: dict[str, tuple[Backend, float]] = {}
        self._homes: OrderedDict[str, Backend] = OrderedDict()
        self._tasks: list[asyncio.Task] = []

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self.session = aiohttp.ClientSession(
            auto_decompress=False,
            # Reuse a connection to a replica only while Sanic keeps it (KEEP_ALIVE_TIMEOUT 5 s):
            # aiohttp's own 15 s let the proxy send on a connection Sanic had just closed, which
            # read as "the replica died" (marked down, the socket.io poll refused).
            connector=aiohttp.TCPConnector(keepalive_timeout=RASA_KEEPALIVE_S),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
        )
        # No keep-alive to action servers: a failed connect then always means "not delivered"
        # (a pooled connection to a server that just died would be ambiguous).
        self.action_session = aiohttp.ClientSession(
            auto_decompress=False,
            connector=aiohttp.TCPConnector(force_close=True),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
        )
        for pool in (self.actions, self.rasa):
            if pool.backends:
                await pool.check(self.session)
                self._tasks.append(asyncio.create_task(pool.watch(self.session)))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for session in (self.session, self.action_session):
            if session is not None:
                await session.close()

    def actions_app(self) -> web.Application:
        # Rasa calls POST /webhook; /health and /actions (the SDK's action list) are for
        # operators. Anything else: aiohttp's 404 / 405, as JSON.
        app = web.Application(client_max_size=64 * 1024**2, middlewares=[json_errors])
        app.router.add_get("/health", self.health)
        app.router.add_post("/webhook", self.action_call)
        app.router.add_get("/actions", self.actions_other)
        return app

    def rasa_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024**2, middlewares=[json_errors])
        app.router.add_route("*", "/{tail:.*}", self.rasa_request)
        return app

    async def health(self, _request: web.Request) -> web.Response:
        up = [b.url for b in self.actions.backends if b.healthy]
        return web.json_response(
            {"status": "ok", "backends": len(self.actions.backends), "healthy": len(up)}
        )

    # -- action servers ----------------------------------------------------------------------
    async def action_call(self, request: web.Request) -> web.Response:
        body = await read_body(request, ACTION_BODY_TIMEOUT_S)
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("content-type", "content-encoding")
        }
        assert self.action_session is not None
        for backend in self.actions.ordered():
            try:
                async with self.action_session.post(
                    backend.url + "/webhook",
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=ACTION_TIMEOUT),
                ) as resp:
                    payload = await resp.read()
                    status, ctype = resp.status, resp.headers.get("Content-Type")
                    encoding = resp.headers.get("Content-Encoding")
            except asyncio.TimeoutError:
                logger.error("action server %s did not answer in %ss", backend.url, ACTION_TIMEOUT)
                return self.graceful(body, request, FAILED_TEXT)
            except aiohttp.ClientConnectorError as exc:
                # Never reached it (a fresh connection per call): the next server gets the call.
                self.actions.mark(backend, False, describe(exc))
                continue
            except aiohttp.ClientError as exc:
                # It died during the call. Not repeated elsewhere: the action may have written
                # something (a hand-off record); the learner is asked to send the message again.
                self.actions.mark(backend, False, describe(exc))
                logger.error("action server %s died during a call", backend.url)
                return self.graceful(body, request, UNAVAILABLE_TEXT)
            # Rasa SDK answers some bodies that are not action calls with 200 `null` or a 500:
            # checked (decoded) only then, so a well-formed call costs no extra parse here.
            odd = status >= 500 or (not encoding and not payload.lstrip().startswith(b"{"))
            if odd and not valid_action_call(body, encoding_of(request)):
                return json_error(400, "not an action call: a JSON object with 'next_action'")
            if status >= 500:
                logger.error(
                    "action server %s failed the call (%s): %s",
                    backend.url,
                    status,
                    payload[:500].decode("utf-8", "replace"),
                )
                return self.graceful(body, request, FAILED_TEXT)
            out_headers = {"Content-Type": ctype or "application/json"}
            if encoding:
                out_headers["Content-Encoding"] = encoding
            return web.Response(status=status, body=payload, headers=out_headers)
        if not valid_action_call(body, encoding_of(request)):
            return json_error(400, "not an action call: a JSON object with 'next_action'")
        logger.error("no action server is reachable; answering with the restart message")
        return self.graceful(body, request, UNAVAILABLE_TEXT)

    def graceful(self, body: bytes, request: web.Request, text: str) -> web.Response:
        """A valid action-server response: no events, and `text` once per user turn."""
        try:
            call = decode_body(body, encoding_of(request))
        except (ValueError, zlib.error, RecursionError):
            call = {}
        if not isinstance(call, dict):
            call = {}
        tracker = call.get("tracker") if isinstance(call.get("tracker"), dict) else {}
        if not isinstance(tracker.get("latest_message"), dict):
            tracker = {**tracker, "latest_message": {}}
        latest = tracker.get("latest_message") or {}
        turn = (
            str(call.get("sender_id") or tracker.get("sender_id") or ""),
            str(latest.get("message_id") or tracker.get("latest_event_time") or ""),
        )
        responses: list[dict[str, Any]] = []
        # Rasa drops bot messages from slot-mapping actions: tell the learner in a later call.
        if turn not in self._told and not slot_mapping_action(call):
            self._told[turn] = None
            if len(self._told) > REMEMBER_TURNS:
                self._told.popitem(last=False)
            responses.append({"text": text})
        return web.json_response({"events": [], "responses": responses})

    async def actions_other(self, request: web.Request) -> web.StreamResponse:
        return await self.forward(
            request, self.actions, self.actions.ordered(), await read_body(request)
        )

    # -- Rasa replicas -----------------------------------------------------------------------
    async def rasa_request(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.path
        if path.startswith("/socket.io"):
            return await self.socketio(request)
        if request.method == "POST" and path == REST_PATH:
            # Refused here as the replica's channel refuses it (bot/web/rest_channel.py): a
            # replica that answers 413 and closes while the body is still being sent would look
            # like a replica that died (broken pipe).
            declared = request.content_length or 0
            body = await read_body(request) if declared <= MAX_BODY else b""
            if declared > MAX_BODY or len(body) > MAX_BODY:
                return web.json_response(body_too_large().body(), status=413)
            if "stream" not in request.query:
                return await self.rest_message(request, body)
        else:
            body = await read_body(request)
        match = CONVERSATION_RE.match(path)
        key = match.group(1) if match else None
        return await self.forward(request, self.rasa, self.rasa.ordered(key), body)

    async def forward(
        self, request: web.Request, pool: Pool, backends: list[Backend], body: bytes
    ) -> web.StreamResponse:
        """Forward as is; only a connection that could not be made is retried elsewhere."""
        assert self.session is not None
        for backend in backends:
            try:
                resp = await self.session.request(
                    request.method,
                    backend.url + str(request.rel_url),
                    headers=forward_headers(request),
                    data=body or None,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=RASA_TIMEOUT, sock_connect=CONNECT_TIMEOUT),
                )
            except aiohttp.ClientConnectorError as exc:
                pool.mark(backend, False, describe(exc))
                continue
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                pool.mark(backend, False, describe(exc))
                return web.json_response(
                    {"error": f"the {pool.kind} failed while answering ({describe(exc)})"},
                    status=502,
                )
            async with resp:
                out = web.StreamResponse(status=resp.status, headers=response_headers(resp.headers))
                await out.prepare(request)
                with contextlib.suppress(aiohttp.ClientError, ConnectionError):
                    async for chunk in resp.content.iter_any():
                        await out.write(chunk)
                await out.write_eof()
                return out
        return web.json_response(
            {"error": f"no {pool.kind} is reachable right now; please try again shortly"},
            status=503,
        )

    async def rest_message(self, request: web.Request, body: bytes) -> web.StreamResponse:
        try:
            message = json.loads(body)
            sender = message.get("sender") or "default"
        except (ValueError, AttributeError, RecursionError):
            # Not a message we can route (malformed, not an object, nested too deep): the
            # replica's guard answers it with the same clear 4xx as without a proxy.
            return await self.forward(request, self.rasa, self.rasa.ordered(), body)
        metadata = message.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            # Invalid as sent: the replica refuses it, as it would without a proxy.
            return await self.forward(request, self.rasa, self.rasa.ordered(str(sender)), body)
        delivery = uuid.uuid4().hex
        message["metadata"] = {**(metadata or {}), DELIVERY_KEY: delivery}
        data = json.dumps(message).encode("utf-8")
        headers = {
            **{
                k: v for k, v in forward_headers(request).items() if k.lower() != "content-encoding"
            },
            "Content-Type": "application/json",
        }
        backends = self.rest_backends(str(sender))
        assert self.session is not None
        for i, backend in enumerate(backends):
            backend.inflight += 1
            try:
                async with self.session.post(
                    backend.url + str(request.rel_url),
                    data=data,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=RASA_TIMEOUT, sock_connect=CONNECT_TIMEOUT),
                ) as resp:
                    payload = await resp.read()
                    # The replica's headers (Retry-After, security headers, ...), not its length.
                    out_headers = {
                        k: v
                        for k, v in response_headers(resp.headers).items()
                        if k.lower() != "content-length"
                    }
                    return web.Response(status=resp.status, body=payload, headers=out_headers)
            except aiohttp.ClientConnectorError as exc:  # never reached it
                self.rasa.mark(backend, False, describe(exc))
                continue
            except asyncio.TimeoutError:
                return web.json_response(
                    {"error": "the dialogue server did not answer in time; please try again"},
                    status=504,
                )
            except aiohttp.ClientError as exc:
                # It may have been processed (and stored) before the replica died.
                self.rasa.mark(backend, False, describe(exc))
                logger.warning(  # no conversation id in the logs
                    "Rasa replica %s died during a message; checking the tracker", backend.url
                )
                replies = await self.recorded_replies(str(sender), delivery, backends[i + 1 :])
                if replies is not None:
                    return web.json_response(replies)
            finally:
                backend.inflight -= 1
        return web.json_response(
            {"error": "no dialogue server is reachable right now; please try again shortly"},
            status=503,
        )

    def rest_backends(self, sender: str) -> list[Backend]:
        """The conversation's replica first, then the others. A conversation keeps the replica
        its first message went to (the least busy one then; ties by hash of the sender) while
        that replica is healthy, and moves for good when it is not: 8 conversations hashed onto
        2 replicas are often 6 to 2, and the busier replica's queue set the latency tail."""
        ordered = self.rasa.ordered(sender)
        home = self._homes.get(sender)
        if home is None or not home.healthy:
            healthy = [b for b in ordered if b.healthy] or ordered
            home = min(healthy, key=lambda b: b.inflight)  # the first of equals: hash order
            self._homes[sender] = home
            if len(self._homes) > REMEMBER_TURNS:
                self._homes.popitem(last=False)
        else:
            self._homes.move_to_end(sender)
        return [home, *(b for b in ordered if b is not home)]

    async def recorded_replies(
        self, sender: str, delivery: str, backends: list[Backend]
    ) -> list[dict[str, Any]] | None:
        """The bot replies to the message with this delivery id if a replica recorded it;
        None when it was not recorded (or no replica can tell)."""
        assert self.session is not None
        token = {"token": self.rasa_token} if self.rasa_token else {}
        for backend in backends:
            try:
                async with self.session.get(
                    f"{backend.url}/conversations/{sender}/tracker",
                    params={"include_events": "ALL", **token},
                    timeout=aiohttp.ClientTimeout(total=30),
                ) as resp:
                    if resp.status != 200:
                        continue
                    tracker = json.loads(await resp.read())
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                continue
            return replies_after(tracker.get("events") or [], sender, delivery)
        return None

    async def socketio(self, request: web.Request) -> web.StreamResponse:
        sid = request.query.get("sid")
        now = time.monotonic()
        if sid:
            known = self._sids.get(sid)
            if known is None:
                # Engine.IO's own answer for an unknown session: the client reconnects.
                return web.json_response({"code": 1, "message": "Session ID unknown"}, status=400)
            backends = [known[0]]
            self._sids[sid] = (known[0], now)
        elif request.query.get(SOCKET_SESSION_PARAM):
            # The widget names its conversation: all its tabs (and its REST fallback) go to the
            # conversation's replica, whose socket.io room reaches every tab.
            backends = self.rest_backends(request.query[SOCKET_SESSION_PARAM][:64])
        else:
            backends = self.rasa.ordered()
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.websocket(request, backends)
        if (request.content_length or 0) > MAX_SOCKET_FRAME:
            # Refused before any replica reads it: the Engine.IO session stays as it was.
            return json_error(
                413, f"socket.io frame larger than {MAX_SOCKET_FRAME} bytes; send shorter messages"
            )
        body = await read_body(request)
        if len(body) > MAX_SOCKET_FRAME:
            return json_error(
                413, f"socket.io frame larger than {MAX_SOCKET_FRAME} bytes; send shorter messages"
            )
        assert self.session is not None
        for backend in backends:
            try:
                async with self.session.request(
                    request.method,
                    backend.url + str(request.rel_url),
                    headers=forward_headers(request),
                    data=body or None,
                    timeout=aiohttp.ClientTimeout(total=90, sock_connect=CONNECT_TIMEOUT),
                ) as resp:
                    payload = await resp.read()
                    if not sid and resp.status == 200:
                        self.learn_sid(payload, backend, now)
                    return web.Response(
                        status=resp.status, body=payload, headers=response_headers(resp.headers)
                    )
            except aiohttp.ClientConnectorError as exc:
                self.rasa.mark(backend, False, describe(exc))
                continue
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                self.rasa.mark(backend, False, describe(exc))
                break
        return web.json_response({"code": 1, "message": "Session ID unknown"}, status=400)

    def learn_sid(self, payload: bytes, backend: Backend, now: float) -> None:
        # Engine.IO v4 open packet: `0{"sid": ...}` (possibly followed by more packets).
        text = payload.decode("utf-8", "replace")
        if text.startswith("0{"):
            with contextlib.suppress(ValueError):
                opened = json.JSONDecoder().raw_decode(text[1:])[0]
                if isinstance(opened, dict) and opened.get("sid"):
                    self._sids[str(opened["sid"])] = (backend, now)
        if len(self._sids) > REMEMBER_TURNS:
            cutoff = now - SID_TTL
            self._sids = {k: v for k, v in self._sids.items() if v[1] >= cutoff}

    async def websocket(self, request: web.Request, backends: list[Backend]) -> web.StreamResponse:
        assert self.session is not None
        headers = {
            k: v
            for k, v in forward_headers(request).items()
            if not k.lower().startswith("sec-websocket")
        }
        upstream = None
        for backend in backends:
            url = "ws" + backend.url.removeprefix("http") + str(request.rel_url)
            try:
                upstream = await self.session.ws_connect(
                    url, headers=headers, autoping=True, max_msg_size=0
                )
                break
            except aiohttp.WSServerHandshakeError as exc:
                return web.json_response(
                    {"error": f"WebSocket refused: {exc.message}"}, status=exc.status or 502
                )
            except aiohttp.ClientError as exc:
                self.rasa.mark(backend, False, describe(exc))
        if upstream is None:
            return web.json_response({"error": "no Rasa replica is reachable"}, status=503)
        client = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await client.prepare(request)

        async def pump(src, dst) -> None:
            async for msg in src:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await dst.send_str(msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    await dst.send_bytes(msg.data)
                else:
                    break

        tasks = [
            asyncio.create_task(pump(client, upstream)),
            asyncio.create_task(pump(upstream, client)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
            await upstream.close()
            await client.close()
        return client


def slot_mapping_action(call: dict[str, Any]) -> bool:
    """Whether Rasa runs this action to fill slots (custom slot mappings, slot validation),
    where it keeps only SlotSet events."""
    name = call.get("next_action")
    if name == "action_validate_slot_mappings":
        return True
    slots = (call.get("domain") or {}).get("slots") or {}
    if slots:
        return any(
            isinstance(mapping, dict) and mapping.get("action") == name
            for slot in slots.values()
            if isinstance(slot, dict)
            for mapping in slot.get("mappings") or []
        )
    return str(name).startswith("action_extract_")  # no domain sent: our naming


def replies_after(events: list[dict[str, Any]], sender: str, delivery: str) -> list[dict] | None:
    """The bot messages that followed the user message with this delivery id, in the shape of
    Rasa's REST channel; None if no such user message is in the events."""
    start = next(
        (
            i
            for i, e in enumerate(events)
            if e.get("event") == "user" and (e.get("metadata") or {}).get(DELIVERY_KEY) == delivery
        ),
        None,
    )
    if start is None:
        return None
    replies: list[dict[str, Any]] = []
    for event in events[start + 1 :]:
        if event.get("event") == "user":
            break
        if event.get("event") != "bot":
            continue
        message: dict[str, Any] = {"recipient_id": sender}
        if event.get("text"):
            message["text"] = event["text"]
        data = event.get("data") or {}
        for key in ("image", "buttons", "attachment", "custom"):
            if data.get(key) is not None:  # as Rasa's CollectingOutputChannel does
                message[key] = data[key]
        replies.append(message)
    return replies


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bot.proxy", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="address of the action-server front")
    p.add_argument("--actions-port", type=int, required=True)
    p.add_argument("--action", action="append", default=[], required=True, metavar="URL")
    p.add_argument("--rasa-host", default="127.0.0.1", help="address of the Rasa front")
    p.add_argument("--rasa-port", type=int)
    p.add_argument("--rasa", action="append", default=[], metavar="URL")
    args = p.parse_args(argv)
    if bool(args.rasa) != bool(args.rasa_port):
        p.error("--rasa-port and --rasa go together")
    return args


async def serve(args: argparse.Namespace) -> None:
    proxy = Proxy(args.action, args.rasa, rasa_token=os.environ.get("STACKWISE_RASA_TOKEN"))
    await proxy.start()
    runners = []
    sites = [(proxy.actions_app(), args.host, args.actions_port)]
    if args.rasa:
        sites.append((proxy.rasa_app(), args.rasa_host, args.rasa_port))
    for i, (app, host, port) in enumerate(sites):
        front = i == 1  # the Rasa front is public; the actions front only Rasa's
        kwargs = {"keepalive_timeout": KEEPALIVE_S} if front else {}
        runner = web.AppRunner(app, access_log=None, **kwargs)
        await runner.setup()
        if front:
            header_deadline(runner.server, HEADER_TIMEOUT_S)
        await web.TCPSite(runner, host, port).start()
        runners.append(runner)
    logger.info(
        "proxy up: actions :%s -> %s%s",
        args.actions_port,
        ", ".join(args.action),
        f"; Rasa :{args.rasa_port} -> {', '.join(args.rasa)}" if args.rasa else "",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for runner in runners:
            await runner.cleanup()
        await proxy.close()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # uvloop (already installed with Sanic, which Rasa and the action server run on): the proxy
    # is all event-loop work, and uvloop's loop and transports take ~a third less CPU per call.
    uvloop.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
