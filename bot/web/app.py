"""Sanic web app. Thin: it validates input, calls knowledge/, and proxies chat to Rasa's REST channel
(Rasa's HTTP API stays on 127.0.0.1). Input checks and rate limits: ``bot.web.guard``."""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from sanic import Request, Sanic, response
from sanic.exceptions import SanicException
from sqlalchemy.exc import OperationalError

from bot.web import console, hardening, lti
from bot.web.guard import (
    MAX_BODY,
    SECRET_FIELD,
    Guard,
    Refused,
    check_metadata,
    check_sender,
    check_session_proof,
    check_text,
    parse_json_object,
)
from knowledge import tenants
from knowledge.catalog_report import catalog_sources
from knowledge.config import get_settings
from knowledge.places import Ambiguous, resolve_place
from knowledge.recommend import MAX_K, InvalidQuery, SearchFilters
from knowledge.services import Services, get_services
from knowledge.skills import MAX_TEXT_CHARS

STATIC = Path(__file__).with_name("static")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; form-action 'self'; "
    "frame-ancestors 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
# The console is server-rendered without any script: nothing may run there at all.
CONSOLE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# Requests counted against the client's IP (STACKWISE_RATE_LIMIT_IP_PER_MIN).
RATE_LIMITED_PREFIXES = ("/api/",)


CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "600",
}
DEMO_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stackwise widget demo</title><link rel="stylesheet" href="/static/chat.css"></head>
<body><main class="chat"><h1>Widget demo</h1>
<p>This page embeds the Stackwise chat widget{label}. Use the chat button in the corner.</p>
<pre>&lt;script src="{origin}/widget.js"{attr} defer&gt;&lt;/script&gt;</pre></main>
<script src="/widget.js"{attr} defer></script></body></html>"""


class BadRequest(SanicException):
    status_code = 400


def _error(status: int, message: str) -> response.HTTPResponse:
    return response.json({"error": message}, status=status)


def _float(args: Any, name: str) -> float | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be a number, got {raw!r}") from exc
    if not math.isfinite(value):
        raise BadRequest(f"{name} must be a finite number")
    return value


def _bool(args: Any, name: str) -> bool:
    raw = (args.get(name) or "").lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise BadRequest(f"{name} must be true or false, got {raw!r}")


def _json_body(request: Request) -> dict[str, Any]:
    return parse_json_object(request.body)


def _refusal(exc: Refused) -> response.HTTPResponse:
    return response.json(exc.body(), status=exc.status, headers=exc.headers())


def own_origin(request: Request) -> str:
    return f"{request.scheme}://{request.host}"


def origin_ok(request: Request, tenant: tenants.Tenant | None) -> bool:
    """No Origin (not a cross-site browser request), the web app's own origin, or one the tenant
    allows."""
    origin = request.headers.get("origin")
    if not origin:
        return True
    if tenants.normalize_origin(origin) == tenants.normalize_origin(own_origin(request)):
        return True
    return tenant is not None and tenants.origin_allowed(origin, tenant.allowed_origins)


def with_cors(request: Request, resp: response.HTTPResponse) -> response.HTTPResponse:
    origin = request.headers.get("origin")
    if origin:
        resp.headers["Access-Control-Allow-Origin"] = origin
        resp.headers.update(CORS_HEADERS)
    resp.headers["Vary"] = "Origin"
    return resp


def create_app(services: Services | None = None) -> Sanic:
    app = Sanic("stackwise_web")
    app.config.REQUEST_MAX_SIZE = MAX_BODY * 4
    # Sanic's ceiling (default 8 KiB): long ?q= values reach the handler and get a clear 400.
    app.config.REQUEST_MAX_HEADER_SIZE = 16_384
    hardening.harden(app)  # slow or malformed clients: a fast 400 / 408 (bot/web/hardening.py)
    settings = get_settings()
    guard = Guard.from_settings(settings)
    app.ctx.services = services
    app.ctx.guard = guard

    def svc() -> Services:
        if app.ctx.services is None:
            app.ctx.services = get_services()
        return app.ctx.services

    async def blocking(fn, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(None, partial(fn, *args, **kwargs))

    @app.listener("before_server_start")
    async def _start(app_: Sanic, _loop) -> None:
        # Connections to Rasa reused for at most 2 s: Rasa's fronts close idle ones after 5-10 s,
        # and a request sent on a connection being closed would fail as "unreachable".
        app_.ctx.http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=60),
            connector=aiohttp.TCPConnector(keepalive_timeout=2.0),
        )
        await blocking(svc().warm_up)

    @app.listener("after_server_stop")
    async def _stop(app_: Sanic, _loop) -> None:
        await app_.ctx.http.close()

    def client_ip(request: Request) -> str:
        return guard.client_ip(request.ip, request.headers.get("x-forwarded-for"))

    @app.middleware("request")
    async def _rate_limit(request: Request):
        if request.method == "OPTIONS" or not request.path.startswith(RATE_LIMITED_PREFIXES):
            return None
        request.ctx.client_ip = client_ip(request)
        try:
            guard.check_ip(request.ctx.client_ip)
        except Refused as exc:
            # Readable by the widget on another origin: a 429 carries no data.
            return with_cors(request, _refusal(exc))
        return None

    @app.middleware("response")
    async def _headers(request: Request, resp: response.HTTPResponse) -> None:
        if request.path.startswith("/console"):
            resp.headers.setdefault("Content-Security-Policy", CONSOLE_CSP)
            resp.headers.setdefault("X-Frame-Options", "DENY")
        for k, v in SECURITY_HEADERS.items():
            resp.headers.setdefault(k, v)

    @app.exception(Refused)
    async def _refused(_request: Request, exc: Refused):
        return _refusal(exc)

    @app.exception(BadRequest)
    async def _bad_request(_request: Request, exc: BadRequest):
        return _error(400, str(exc))

    @app.exception(SanicException)
    async def _sanic_error(_request: Request, exc: SanicException):
        return _error(getattr(exc, "status_code", 500) or 500, str(exc))

    @app.exception(Exception)
    async def _internal_error(request: Request, exc: Exception):
        # Logged here; the client gets no repr, path or traceback.
        logging.getLogger(__name__).exception("unhandled error on %s", request.path[:200])
        return _error(500, "internal error; please try again shortly")

    @app.exception(OperationalError)
    async def _database_down(_request: Request, exc: OperationalError):
        # The pool reconnects by itself once the database is back (pool_pre_ping).
        logging.getLogger(__name__).error(
            "database unavailable: %s", (str(exc.orig or exc).strip().splitlines() or [""])[0]
        )
        return _error(503, "the database is not reachable right now; please try again shortly")

    @app.get("/")
    async def index(_request: Request):
        return await response.file(STATIC / "index.html")

    @app.get("/static/<name:path>")
    async def static(_request: Request, name: str):
        return await hardening.static_file(STATIC, name)

    @app.get("/healthz")
    async def healthz(_request: Request):
        return response.json({"status": "ok"})

    @app.get("/api/credentials/search")
    async def search(request: Request):
        args = request.args
        query = args.get("q") or ""
        try:
            k = int(args.get("k") or 5)
        except ValueError as exc:
            raise BadRequest(f"k must be an integer between 1 and {MAX_K}") from exc
        near = None
        if args.get("near"):
            place = resolve_place(args.get("near"))
            if isinstance(place, Ambiguous):
                names = "; ".join(c.name for c in place.candidates[:3])
                raise BadRequest(f"near is ambiguous ({names}); add the state or use a ZIP code")
            if place is None:
                raise BadRequest("near: I don't know that place; a ZIP code works best")
            near = (place.lat, place.lon)
        filters = SearchFilters(
            max_cost=_float(args, "max_cost"),
            max_hours=_float(args, "max_hours"),
            format=args.get("format") or None,
            level=args.get("level") or None,
            provider=args.get("provider") or None,
            credit_only=_bool(args, "credit"),
            institution=args.get("institution") or None,
            near=near,
            radius_miles=_float(args, "radius"),
            provider_type=args.get("provider_type") or None,
            pell_eligible=_bool(args, "pell"),
            outcome=args.get("outcome") or None,
            flexible_hours=_bool(args, "flexible"),
            childcare=_bool(args, "childcare"),
            transit=_bool(args, "transit"),
            kind=args.get("kind") or None,
        )

        def run() -> list[dict[str, Any]]:
            # Search and conversion to plain dicts (a copy of each result's facts) in one
            # worker-thread hop: the event loop only serializes.
            return [r.to_dict() for r in svc().search.search(query, k, filters)]

        try:
            results = await blocking(run)
        except InvalidQuery as exc:
            raise BadRequest(str(exc)) from exc
        return response.json({"results": results})

    @app.get("/api/sources")
    async def sources(_request: Request):
        """The catalog's sources with their credit lines (the chat page's footer shows them)."""

        def run() -> list[dict[str, Any]]:
            return [
                {
                    "name": f.name,
                    "title": f.title,
                    "credit": f.credit,
                    "url": f.url,
                    "as_of": f.as_of,
                    "records": f.records,
                }
                for f in catalog_sources(svc().engine)
            ]

        return response.json({"sources": await blocking(run)})

    @app.post("/api/skills")
    async def skills(request: Request):
        body = _json_body(request)
        text = body.get("text")
        check_text(text, MAX_TEXT_CHARS, name="text")  # offsets stay those of the text as sent
        try:
            mentions = await blocking(svc().skills.extract, text)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        return response.json({"skills": [asdict(m) for m in mentions]})

    def tenant_of(request: Request) -> tuple[str | None, tenants.Tenant | None]:
        tenant_id = request.args.get("tenant") or None
        if tenant_id is None:
            return None, None
        return tenant_id, tenants.get_tenant(svc().engine, tenant_id, svc().app_engine)

    def socket_url(request: Request) -> str:
        if settings.public_socket_url:
            return settings.public_socket_url
        rasa = urlsplit(settings.rasa_url)
        host = urlsplit(own_origin(request)).hostname or "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{request.scheme}://{host}:{rasa.port or 5005}"

    @app.get("/widget.js")
    async def widget_js(_request: Request):
        return await response.file(
            STATIC / "widget.js",
            mime_type="application/javascript; charset=utf-8",
            headers={
                "Cache-Control": "public, max-age=300",
                "Cross-Origin-Resource-Policy": "cross-origin",
                "Access-Control-Allow-Origin": "*",
            },
        )

    @app.get("/demo")
    async def demo(request: Request):
        tenant_id = request.args.get("tenant") or ""
        if tenant_id and not tenants.TENANT_ID_RE.match(tenant_id):
            raise BadRequest("tenant must be an institution id")
        attr = f' data-tenant="{tenant_id}"' if tenant_id else ""
        html = DEMO_PAGE.format(
            origin=own_origin(request), attr=attr, label=f" for {tenant_id}" if tenant_id else ""
        )
        sock = socket_url(request)
        ws = "ws" + sock[4:] if sock.startswith("http") else sock
        csp = SECURITY_HEADERS["Content-Security-Policy"].replace(
            "connect-src 'self'", f"connect-src 'self' {sock} {ws}"
        )
        return response.html(html, headers={"Content-Security-Policy": csp})

    @app.route("/api/widget-config", methods=["GET", "POST", "OPTIONS"])
    async def widget_config(request: Request):
        """Branding, session id, signed metadata and a socket token for the widget: only for
        the web app's own origin or an origin the tenant allows."""
        tenant_id, tenant = await blocking(tenant_of, request)
        if tenant_id is not None and tenant is None:
            return _error(404, f"unknown tenant {tenant_id[:80]!r}")
        if not origin_ok(request, tenant):
            return _error(403, "this website is not allowed to embed this chat")
        if request.method == "OPTIONS":
            return with_cors(request, response.empty())
        body = _json_body(request) if request.method == "POST" else {}
        portal_token = body.get("token")
        student = None
        new_secret: str | None = None
        if portal_token:
            if tenant is None:
                raise BadRequest("a portal token needs a tenant")
            try:
                student = tenants.verify_portal_token(str(portal_token), tenant.id)
            except tenants.InvalidToken as exc:
                return with_cors(request, _error(401, str(exc)))
            session_id = tenants.student_session_id(tenant.id, student.student_id)
        else:
            # An existing anonymous session only with its secret (sent in the body, never in a
            # URL); otherwise a new session, whose secret is issued now and only now.
            session_id = body.get("session_id") or request.args.get("session_id")
            if not (
                tenants.valid_anonymous_session_id(session_id)
                and tenants.verify_session_secret(body.get(SECRET_FIELD), session_id)
            ):
                session_id = uuid.uuid4().hex
                new_secret = tenants.session_secret(session_id)
        origin = request.headers.get("origin") or own_origin(request)
        sockets = settings.widget_sockets
        metadata = tenants.sign_metadata(
            session_id, tenant_id=tenant.id if tenant else None, student=student
        )
        data = {
            "tenant": tenant.public() if tenant else None,
            "session_id": session_id,
            SECRET_FIELD: new_secret,
            "student": {"name": student.name} if student else None,
            "metadata": {tenants.METADATA_KEY: metadata},
            "metadata_ttl_s": tenants.METADATA_TTL,
            "socket": {
                "url": socket_url(request),
                "path": "/socket.io",
                "token": tenants.socket_token(origin, session_id, tenant.id if tenant else None),
            }
            if sockets
            else None,
            "max_message_chars": settings.max_message_chars,
        }
        return with_cors(request, response.json(data, headers={"Cache-Control": "no-store"}))

    @app.route("/api/chat", methods=["POST", "OPTIONS"])
    async def chat(request: Request):
        tenant_id, tenant = await blocking(tenant_of, request)
        if tenant_id is not None and tenant is None:
            return _error(404, f"unknown tenant {tenant_id[:80]!r}")
        if not origin_ok(request, tenant):
            return _error(403, "this website is not allowed to use this chat")
        if request.method == "OPTIONS":
            return with_cors(request, response.empty())
        try:
            body = _json_body(request)
            sender = check_sender(body.get("sender"))
            guard.check_session(
                getattr(request.ctx, "client_ip", None) or client_ip(request), sender
            )
            message = check_text(body.get("message"), settings.max_message_chars)
            meta = check_metadata(body.get("metadata"))
            secret = body.get(SECRET_FIELD)
            # The public chat API holds every client to the session rule (no exemption).
            check_session_proof(sender, metadata=meta, secret=secret)
            blob = meta.get(tenants.METADATA_KEY) if meta else None
            if blob is not None:
                try:
                    claims = tenants.verify_metadata(blob, sender)
                except tenants.InvalidToken as exc:
                    raise Refused(403, f"session not verified: {exc}") from exc
                if claims.get("tenant") != (tenant.id if tenant else None):
                    raise Refused(403, "session was issued for another tenant")
        except Refused as exc:
            # The widget on an allowed origin must be able to read why.
            return with_cors(request, _refusal(exc))
        payload: dict[str, Any] = {"sender": sender, "message": message}
        if isinstance(secret, str):
            payload[SECRET_FIELD] = secret
        if blob is not None:
            payload["metadata"] = {tenants.METADATA_KEY: blob}
        url = f"{settings.rasa_url}/webhooks/rest/webhook"
        try:
            async with request.app.ctx.http.post(url, json=payload) as r:
                if r.status != 200:
                    return with_cors(
                        request, _error(502, f"the dialogue server answered {r.status}")
                    )
                messages = await r.json()
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return with_cors(
                request,
                _error(
                    503, "the dialogue server is not reachable right now; please try again shortly"
                ),
            )
        return with_cors(request, response.json({"messages": messages}))

    console.register(
        app,
        app_engine=lambda: svc().app_engine,
        knowledge_engine=lambda: svc().engine,
        rasa_url=settings.rasa_url,
        rasa_token=settings.security.rasa_token,
        guard=guard,
        client_ip=client_ip,
        blocking=blocking,
    )
    lti.register(
        app,
        knowledge_engine=lambda: svc().engine,
        app_engine=lambda: svc().app_engine,
        catalog_dir=lambda: settings.catalog_dir,
        socket_url=socket_url,
        own_origin=own_origin,
        blocking=blocking,
    )

    return app
