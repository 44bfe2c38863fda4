"""College tenants for the embedded widget: lookup, origin checks, portal sign-in and signed
metadata.

A tenant is an institution of the knowledge DB (from ``knowledge/catalog/institutions/*.yaml``)
with optional overrides kept in the operational DB (set from the adviser console), so a knowledge
rebuild never loses what an admin configured.

Trust model (what is enforced where, see docs/architecture.md "Web surfaces"):

- The web app checks the browser's ``Origin`` against the tenant's allowed origins before it
  answers ``/api/widget-config`` or proxies ``/api/chat``.
- Only for an allowed origin does it issue a short-lived **socket token** (HS256 JWT with the
  origin, tenant and session id); the socket.io channel refuses a handshake without a valid token
  or whose ``Origin`` differs from the token's.
- A college portal may pass a **portal JWT** (HS256, per-tenant shared secret in
  ``STACKWISE_TENANT_<ID>_JWT_SECRET``). The web app verifies it and signs a **metadata blob**
  (HMAC-SHA256 with a key derived from ``STACKWISE_SECRET_KEY``) bound to the session id. The
  action server's ``action_session_start`` copies tenant and student id into slots only when that
  signature verifies; client-sent metadata is never trusted on its own.
- A signed-in student's session id is derived from (tenant, student id) with a server key, so it
  is the same on every device and cannot be guessed or claimed by anyone else.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt
from sqlalchemy import JSON, Column, DateTime, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base

from knowledge import schema

SECRET_ENV = "STACKWISE_SECRET_KEY"
SOCKET_TOKEN_TTL = 600  # seconds; the widget fetches a fresh one on every (re)connect
METADATA_TTL = 12 * 3600
METADATA_KEY = "stackwise"  # the key of the signed blob inside Rasa message metadata
STUDENT_SESSION_PREFIX = "st-"
SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
TENANT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
HEX_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_CLAIM_CHARS = 200

TenantBase = declarative_base()


class TenantOverrideRow(TenantBase):
    """What an admin changed for a tenant (console or CLI); None means "as in the catalog"."""

    __tablename__ = "tenant_overrides"
    institution_id = Column(String(80), primary_key=True)
    branding = Column(JSON)
    allowed_origins = Column(JSON)
    handoff_contact = Column(Text)
    updated_at = Column(DateTime, nullable=False)


class InvalidToken(ValueError):
    """A portal JWT, socket token or metadata blob did not verify."""


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    url: str | None = None
    example: bool = False
    branding: Mapping[str, Any] = field(default_factory=dict)
    allowed_origins: tuple[str, ...] = ()
    handoff_contact: str | None = None

    @property
    def primary_color(self) -> str:
        color = self.branding.get("primary_color")
        return color if isinstance(color, str) and HEX_COLOR_RE.match(color) else "#0B5CAD"

    @property
    def logo_url(self) -> str | None:
        logo = self.branding.get("logo_url")
        return logo if isinstance(logo, str) and logo.startswith("https://") else None

    def public(self) -> dict[str, Any]:
        """What the widget may know: display name and branding only."""
        return {
            "id": self.id,
            "name": self.name,
            "example": self.example,
            "primary_color": self.primary_color,
            "logo_url": self.logo_url,
        }


# --- origins ---------------------------------------------------------------------------------


def normalize_origin(origin: str | None) -> str | None:
    """``scheme://host[:port]`` in lower case, default ports dropped; None if not an origin."""
    if not origin or not isinstance(origin, str):
        return None
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    norm = normalize_origin(origin)
    if norm is None:
        return False
    return any(norm == normalize_origin(a) for a in allowed)


def clean_origins(values: Iterable[str]) -> list[str]:
    """Validate a list of origins (admin input); raises ValueError naming the bad one."""
    out: list[str] = []
    for raw in values:
        raw = raw.strip()
        if not raw:
            continue
        norm = normalize_origin(raw)
        if norm is None:
            raise ValueError(f"not an origin (scheme://host[:port]): {raw!r}")
        if norm not in out:
            out.append(norm)
    return out


# --- tenant lookup ---------------------------------------------------------------------------


def ensure_schema(app_engine: Engine) -> None:
    TenantBase.metadata.create_all(app_engine)


def _override(app_engine: Engine | None, tenant_id: str) -> TenantOverrideRow | None:
    if app_engine is None:
        return None
    ensure_schema(app_engine)
    with Session(app_engine, future=True) as s:
        row = s.get(TenantOverrideRow, tenant_id)
        if row is not None:
            s.expunge(row)
        return row


def _tenant(inst: schema.Institution, override: TenantOverrideRow | None) -> Tenant:
    branding = dict(inst.branding or {})
    origins = list(inst.allowed_origins or [])
    contact = inst.handoff_contact
    if override is not None:
        if override.branding is not None:
            branding.update(override.branding)
        if override.allowed_origins is not None:
            origins = list(override.allowed_origins)
        if override.handoff_contact is not None:
            contact = override.handoff_contact or None
    return Tenant(
        id=inst.id,
        name=inst.name or inst.id,
        url=inst.url,
        example=bool(inst.example),
        branding=branding,
        allowed_origins=tuple(clean_origins(origins)),
        handoff_contact=contact,
    )


def get_tenant(
    knowledge_engine: Engine, tenant_id: str | None, app_engine: Engine | None = None
) -> Tenant | None:
    if not tenant_id or not TENANT_ID_RE.match(tenant_id):
        return None
    with Session(knowledge_engine, future=True) as s:
        inst = s.get(schema.Institution, tenant_id)
        if inst is None:
            return None
        return _tenant(inst, _override(app_engine, tenant_id))


def list_tenants(knowledge_engine: Engine, app_engine: Engine | None = None) -> list[Tenant]:
    with Session(knowledge_engine, future=True) as s:
        insts = s.scalars(select(schema.Institution).order_by(schema.Institution.id)).all()
        return [_tenant(i, _override(app_engine, i.id)) for i in insts]


def set_tenant_config(
    app_engine: Engine,
    tenant_id: str,
    *,
    branding: Mapping[str, Any] | None = None,
    allowed_origins: Iterable[str] | None = None,
    handoff_contact: str | None = None,
) -> None:
    """Store overrides for a tenant (None leaves a field as it is)."""
    if not TENANT_ID_RE.match(tenant_id):
        raise ValueError(f"not a tenant id: {tenant_id!r}")
    if branding is not None:
        color = branding.get("primary_color")
        if color is not None and not (isinstance(color, str) and HEX_COLOR_RE.match(color)):
            raise ValueError(f"primary_color must look like #1A2B3C, got {color!r}")
        logo = branding.get("logo_url")
        if logo not in (None, "") and not (isinstance(logo, str) and logo.startswith("https://")):
            raise ValueError("logo_url must be an https:// URL")
    origins = clean_origins(allowed_origins) if allowed_origins is not None else None
    ensure_schema(app_engine)
    with Session(app_engine, future=True) as s, s.begin():
        row = s.get(TenantOverrideRow, tenant_id)
        if row is None:
            row = TenantOverrideRow(institution_id=tenant_id)
            s.add(row)
        if branding is not None:
            row.branding = {k: v for k, v in branding.items() if v not in (None, "")}
        if origins is not None:
            row.allowed_origins = origins
        if handoff_contact is not None:
            row.handoff_contact = handoff_contact.strip()
        row.updated_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# --- keys ------------------------------------------------------------------------------------

_EPHEMERAL = secrets.token_hex(32)


def secret_key(env: Mapping[str, str] | None = None) -> bytes:
    """The server secret. ``stackwise serve`` sets one for all its processes when unset; a lone
    process without it uses a random per-process key (signatures then verify nowhere else)."""
    env = os.environ if env is None else env
    return (env.get(SECRET_ENV) or _EPHEMERAL).encode("utf-8")


def derive_key(purpose: str, env: Mapping[str, str] | None = None) -> bytes:
    return hmac.new(secret_key(env), b"stackwise:" + purpose.encode(), hashlib.sha256).digest()


def socket_jwt_key(env: Mapping[str, str] | None = None) -> str:
    return derive_key("socketio", env).hex()


def portal_secret_env(tenant_id: str) -> str:
    return f"STACKWISE_TENANT_{re.sub(r'[^A-Z0-9]', '_', tenant_id.upper())}_JWT_SECRET"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- portal sign-in --------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentClaims:
    student_id: str
    name: str | None = None
    email: str | None = None


def _claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_CLAIM_CHARS:
        raise InvalidToken(f"claim {name!r} must be a short string")
    return value.strip()


def verify_portal_token(
    token: str, tenant_id: str, env: Mapping[str, str] | None = None, leeway: int = 30
) -> StudentClaims:
    """Verify a portal's HS256 JWT for this tenant: signature, ``exp`` (required), ``sub``
    (the student id, required) and ``aud`` (if present, must be the tenant id)."""
    env = os.environ if env is None else env
    secret = env.get(portal_secret_env(tenant_id))
    if not secret:
        raise InvalidToken(f"portal sign-in is not configured for tenant {tenant_id!r}")
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=tenant_id if "aud" in unverified else None,
            options={"require": ["exp", "sub"]},
            leeway=leeway,
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"portal token rejected: {exc}") from exc
    student = _claim(claims, "sub")
    assert student is not None
    return StudentClaims(
        student_id=student, name=_claim(claims, "name"), email=_claim(claims, "email")
    )


def student_session_id(
    tenant_id: str, student_id: str, env: Mapping[str, str] | None = None
) -> str:
    digest = hmac.new(
        derive_key("student-session", env),
        f"{tenant_id}\0{student_id}".encode(),
        hashlib.sha256,
    ).hexdigest()
    return STUDENT_SESSION_PREFIX + digest[:40]


def valid_anonymous_session_id(session_id: Any) -> bool:
    return (
        isinstance(session_id, str)
        and bool(SESSION_ID_RE.match(session_id))
        and not session_id.startswith(STUDENT_SESSION_PREFIX)
    )


# --- anonymous session proof -----------------------------------------------------------------

STOCK_CLIENT_ENV_RE = re.compile(r"^STACKWISE_TENANT_([A-Z0-9_]+)_STOCK_CLIENT_ORIGINS$")


def session_secret(session_id: str, env: Mapping[str, str] | None = None) -> str:
    """The proof that goes with an anonymous session id: issued once, when the web app creates
    the session (``/api/widget-config``), kept by the widget beside the id, and required to
    continue the conversation or to get a socket token for it. Derived from the id with a server
    key, so every process checks it without shared state, and knowing an id alone is worth
    nothing."""
    digest = hmac.new(derive_key("anonymous-session", env), session_id.encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


def verify_session_secret(
    secret: Any, session_id: str, env: Mapping[str, str] | None = None
) -> bool:
    return isinstance(secret, str) and hmac.compare_digest(
        secret.encode("utf-8", "replace"), session_secret(session_id, env).encode()
    )


def stock_client_origins(env: Mapping[str, str] | None = None) -> frozenset[str]:
    """Origins whose anonymous sessions keep Rasa's own rule (a random id is the bearer), for
    stock Rasa clients that cannot send a session secret: the per-tenant switch
    ``STACKWISE_TENANT_<ID>_STOCK_CLIENT_ORIGINS`` (comma-separated origins; unset = off). Never
    used for signed-in sessions."""
    env = os.environ if env is None else env
    return frozenset(
        norm
        for name, value in env.items()
        if STOCK_CLIENT_ENV_RE.match(name)
        for norm in map(normalize_origin, value.split(","))
        if norm is not None
    )


# --- signed metadata (web app -> action server) ---------------------------------------------


def sign_metadata(
    session_id: str,
    *,
    tenant_id: str | None,
    student: StudentClaims | None = None,
    ttl: int = METADATA_TTL,
    now: float | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    payload: dict[str, Any] = {
        "sid": session_id,
        "tenant": tenant_id,
        "exp": int((now or time.time()) + ttl),
    }
    if student is not None:
        payload["student_id"] = student.student_id
        if student.name:
            payload["student_name"] = student.name
    body = _b64(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode())
    sig = _b64(hmac.new(derive_key("metadata", env), body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig}"


def verify_metadata(
    blob: Any,
    session_id: str,
    *,
    now: float | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The payload of a blob from :func:`sign_metadata`, if its signature verifies, it has not
    expired and it was issued for this session id; raises InvalidToken otherwise."""
    if not isinstance(blob, str) or blob.count(".") != 1 or len(blob) > 4096:
        raise InvalidToken("metadata blob is malformed")
    body, sig = blob.split(".")
    want = _b64(hmac.new(derive_key("metadata", env), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(want, sig):
        raise InvalidToken("metadata signature does not verify")
    try:
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("metadata blob is malformed") from exc
    if not isinstance(payload, dict):
        raise InvalidToken("metadata blob is malformed")
    if payload.get("sid") != session_id:
        raise InvalidToken("metadata was issued for another session")
    if not isinstance(payload.get("exp"), int) or payload["exp"] < (now or time.time()):
        raise InvalidToken("metadata has expired")
    return payload


# --- socket.io handshake token ---------------------------------------------------------------


def socket_token(
    origin: str,
    session_id: str,
    tenant_id: str | None,
    *,
    ttl: int = SOCKET_TOKEN_TTL,
    env: Mapping[str, str] | None = None,
) -> str:
    now = int(time.time())
    return jwt.encode(
        {
            "origin": normalize_origin(origin),
            "sid": session_id,
            "tenant": tenant_id,
            "iat": now,
            "exp": now + ttl,
        },
        socket_jwt_key(env),
        algorithm="HS256",
    )


def verify_socket_token(
    token: Any, origin: str | None, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Claims of a socket token issued for this Origin; raises InvalidToken otherwise."""
    if not isinstance(token, str):
        raise InvalidToken("no socket token")
    try:
        claims = jwt.decode(
            token,
            socket_jwt_key(env),
            algorithms=["HS256"],
            options={"require": ["exp", "origin", "sid"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"socket token rejected: {exc}") from exc
    if normalize_origin(origin) != claims["origin"]:
        raise InvalidToken("socket token was issued for another origin")
    return claims
