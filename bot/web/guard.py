"""Input checks and rate limits for everything the public can reach: the web app's API, Rasa's
REST channel (``bot.web.rest_channel``) and the socket.io channel (``bot.web.socket_channel``).

Bad input is refused with a clear message, never truncated or repaired silently:

- a body over ``MAX_BODY`` bytes: 413; not JSON, not a JSON object, wrong types: 400;
- a chat message: a non-empty string of at most ``max_message_chars`` characters, without
  control characters (other than tab and newline) and without unpaired surrogates (which cannot
  be stored as UTF-8); anything else, HTML and SQL-looking text included, is just text;
- a sender / session id: 1-64 of ``A-Z a-z 0-9 _ . : -``.

Rate limits are token buckets kept in the process (so with several replicas each replica counts
on its own): per client IP on the public endpoints, per conversation on chat messages, and per
e-mail address and IP on console log-ins. Refusals are 429 with ``Retry-After``. Clients in
``STACKWISE_RATE_LIMIT_EXEMPT`` (default: loopback) skip the IP and conversation limits; the client
IP is taken from ``X-Forwarded-For`` only when the peer is in ``STACKWISE_TRUSTED_PROXIES``.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from knowledge import tenants
from knowledge.config import Security, Settings

MAX_BODY = 64 * 1024
# The body field (REST, /api/chat) that carries an anonymous session's secret; never stored.
SECRET_FIELD = "session_secret"
SENDER_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
SENDER_RULE = "'sender' must be 1-64 characters of letters, digits, '_', '-', '.', ':'"
# C0 and C1 control characters except tab, newline and carriage return; DEL.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")


class Refused(Exception):
    """A request refused with an HTTP status and a message meant for the person who sent it."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = None if retry_after is None else max(1, math.ceil(retry_after))

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message}
        if self.retry_after is not None:
            out["retry_after_s"] = self.retry_after
        return out

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


# --- input ----------------------------------------------------------------------------------


def body_too_large(limit: int = MAX_BODY) -> Refused:
    """The refusal of a request body over ``limit`` bytes (web app, Rasa's channel, proxy)."""
    return Refused(413, f"request body is larger than {limit} bytes")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_loads(data: bytes | str) -> Any:
    """``json.loads`` without Python's extensions: ``NaN``, ``Infinity`` and ``-Infinity`` are
    refused (strict parsers, browsers included, reject them when the tracker API returns them)."""
    return json.loads(data, parse_constant=_no_constant)


def non_finite(value: Any, depth: int = 0) -> bool:
    """Whether a decoded value holds NaN or an infinity anywhere (socket.io frames are decoded
    by python-socketio with the standard, lenient ``json``)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if depth > 64:
        return True
    if isinstance(value, dict):
        return any(non_finite(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(non_finite(v, depth + 1) for v in value)
    return False


def parse_json_object(body: bytes | None) -> dict[str, Any]:
    """The request body as a JSON object, or Refused (413 too large, 400 anything else)."""
    body = body or b""
    if len(body) > MAX_BODY:
        raise body_too_large()
    try:
        data = strict_loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, "request body must be valid JSON") from exc
    except RecursionError as exc:
        raise Refused(400, "request body is nested too deeply") from exc
    if not isinstance(data, dict):
        raise Refused(400, "request body must be a JSON object")
    return data


def check_sender(value: Any) -> str:
    if not isinstance(value, str) or not SENDER_RE.match(value):
        raise Refused(400, SENDER_RULE)
    return value


def check_text(value: Any, max_chars: int, name: str = "message") -> str:
    """A chat message as sent (surrounding whitespace removed), or Refused(400) saying why."""
    if not isinstance(value, str) or not value.strip():
        raise Refused(400, f"'{name}' must be a non-empty string")
    text = value.strip()
    if len(text) > max_chars:
        raise Refused(
            400,
            f"{name} is too long ({len(text)} characters; the limit is {max_chars}); "
            "please split it into shorter messages",
        )
    if _SURROGATE_RE.search(text):
        raise Refused(400, f"{name} is not valid Unicode (unpaired surrogate)")
    bad = _CONTROL_RE.search(text)
    if bad:
        code = f"U+{ord(bad.group()):04X}"
        raise Refused(400, f"{name} contains a control character ({code}); remove it and resend")
    return text


def check_metadata(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Refused(400, "'metadata' must be a JSON object")
    return value


def check_session_proof(
    sender: str,
    *,
    metadata: Any,
    secret: Any,
    exempt: bool = False,
    origin: str | None = None,
) -> dict[str, Any] | None:
    """The one session rule of every channel (REST, socket.io, ``/api/chat``):

    - a signed-in student's session (``st-...``) only with its signed blob (``metadata``
      ``{"stackwise": ...}``, issued by ``/api/widget-config`` for that id): its claims returned;
    - an anonymous session only with its session secret (``tenants.session_secret``), unless the
      client is one of the stack's own (``exempt``: the rate-limit exemption, loopback by
      default: the web app, the load benchmark, operators' tools) or the request comes from an
      origin a tenant opened to stock Rasa clients (``tenants.stock_client_origins``).

    Refused(403) otherwise, saying what is missing."""
    if sender.startswith(tenants.STUDENT_SESSION_PREFIX):
        blob = metadata.get(tenants.METADATA_KEY) if isinstance(metadata, dict) else None
        try:
            return tenants.verify_metadata(blob, sender)
        except tenants.InvalidToken as exc:
            raise Refused(403, f"session not verified: {exc}") from exc
    if exempt or tenants.verify_session_secret(secret, sender):
        return None
    if origin and tenants.normalize_origin(origin) in tenants.stock_client_origins():
        return None
    raise Refused(
        403,
        "this conversation cannot be continued without its session secret; "
        "start a new conversation",
    )


def printable(text: str, limit: int = 80) -> str:
    """For log lines: control and format characters escaped, cut to ``limit``."""
    out = "".join(
        ch if unicodedata.category(ch)[0] != "C" else f"\\u{ord(ch):04x}" for ch in text[:limit]
    )
    return out + ("…" if len(text) > limit else "")


# --- rate limits ----------------------------------------------------------------------------


class RateLimiter:
    """Token buckets by key: ``per_min`` requests a minute, bursts up to ``per_min``.

    In memory, at most ``max_keys`` buckets (least recently used dropped first; a dropped bucket
    starts full again, which only ever errs towards letting a request through). Thread-safe.
    """

    def __init__(self, per_min: float, max_keys: int = 100_000) -> None:
        self.capacity = float(per_min)
        self.rate = float(per_min) / 60.0
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def hit(self, key: str, now: float | None = None) -> float | None:
        """Take one token for ``key``: None if allowed, else seconds until one is available."""
        if not self.enabled:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                wait = None
            else:
                self._buckets[key] = (tokens, now)
                wait = (1 - tokens) / self.rate
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait


def _nets(items: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(i, strict=False) for i in items)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    mapped = getattr(addr, "ipv4_mapped", None)
    return mapped or addr


def _in(addr: Any, nets: tuple) -> bool:
    return addr is not None and any(addr.version == n.version and addr in n for n in nets)


@dataclass
class Guard:
    """The limits of one process (the web app, or Rasa's channels)."""

    security: Security

    def __post_init__(self) -> None:
        s = self.security
        self.per_ip = RateLimiter(s.ip_per_min)
        self.per_session = RateLimiter(s.session_per_min)
        self.login_email = RateLimiter(s.login_per_min)
        self.login_ip = RateLimiter(s.login_ip_per_min)
        self._exempt = _nets(s.exempt)
        self._trusted = _nets(s.trusted_proxies)

    @classmethod
    def from_settings(cls, settings: Settings) -> Guard:
        return cls(settings.security)

    def client_ip(self, peer: str | None, forwarded_for: str | None = None) -> str:
        """The client's address: the peer, or, when the peer is a trusted proxy, the right-most
        address in X-Forwarded-For that is not itself a trusted proxy."""
        client = (peer or "").strip()
        if not forwarded_for or not _in(_ip(client), self._trusted):
            return client or "unknown"
        for hop in reversed(forwarded_for.split(",")):
            addr = _ip(hop)
            if addr is None:
                break
            client = str(addr)
            if not _in(addr, self._trusted):
                break
        return client

    def exempt(self, ip: str) -> bool:
        return _in(_ip(ip), self._exempt)

    def check_ip(self, ip: str) -> None:
        if self.exempt(ip):
            return
        wait = self.per_ip.hit(ip)
        if wait is not None:
            raise Refused(
                429,
                f"too many requests from your network; please wait {math.ceil(wait)} s",
                wait,
            )

    def check_session(self, ip: str, sender: str) -> None:
        if self.exempt(ip):
            return
        wait = self.per_session.hit(sender)
        if wait is not None:
            raise Refused(
                429,
                "you are sending messages faster than the advisor can answer; "
                f"please wait {math.ceil(wait)} s and send it again",
                wait,
            )

    def check_login(self, ip: str, email: str) -> None:
        """Log-in attempts: not exempt for loopback (a proxy in front may hide every client
        behind one address)."""
        wait = self.login_ip.hit(ip)
        if wait is None and email:
            wait = self.login_email.hit(email.strip().lower())
        if wait is not None:
            raise Refused(429, f"too many log-in attempts; please wait {math.ceil(wait)} s", wait)
