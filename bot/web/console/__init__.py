"""Adviser intake console at /console: log in, read the intake queue of your institution (admins:
all), open a record with its transcript, set status and notes, export CSV or JSON, and (admins)
configure tenants for the embedded widget.

Server-rendered (Jinja2 with autoescaping, no inline scripts); every form carries a CSRF token.
"""

from __future__ import annotations

import csv
import datetime as dt
import hmac
import io
import json
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Request, Sanic, response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.web.guard import Guard, Refused
from bot.web.hardening import static_file
from knowledge import accounts, tenants
from knowledge.intake import STATUSES, IntakeRecordRow, ensure_schema

HERE = Path(__file__).parent
SESSION_COOKIE = "sw_session"
LOGIN_CSRF_COOKIE = "sw_login_csrf"
MAX_NOTES = 5000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_FIELDS = [
    "id",
    "created_at",
    "institution_id",
    "reason",
    "status",
    "goal",
    "goal_code",
    "skills",
    "constraints",
    "recommendations",
    "notes",
    "sender_id",
]

templates = Environment(
    loader=FileSystemLoader(str(HERE / "templates")),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def csv_cell(value: Any) -> str:
    """A CSV cell that spreadsheets will not evaluate: a leading = + - @ (or tab, CR) gets a
    quote in front."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def record_dict(row: IntakeRecordRow) -> dict[str, Any]:
    out = {c.name: getattr(row, c.name) for c in IntakeRecordRow.__table__.columns}
    out["created_at"] = row.created_at.isoformat(timespec="seconds") if row.created_at else None
    return out


def flat(record: dict[str, Any]) -> dict[str, str]:
    skills = "; ".join(
        f"{s.get('label')} ({s.get('role')})" for s in record.get("skills") or [] if s
    )
    constraints = "; ".join(
        f"{k}={v}" for k, v in (record.get("constraints") or {}).items() if v not in (None, "")
    )
    recs = "; ".join(
        (r.get("name") or r.get("id") or "") + (f" ({r['reason']})" if r.get("reason") else "")
        for r in record.get("recommendations") or []
        if isinstance(r, dict)
    )
    out = {k: record.get(k) for k in CSV_FIELDS}
    out.update(skills=skills, constraints=constraints, recommendations=recs)
    return {k: csv_cell(v) for k, v in out.items()}


def to_csv(records: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for r in records:
        writer.writerow(flat(r))
    return buf.getvalue()


def matches(record: dict[str, Any], q: str) -> bool:
    if not q:
        return True
    hay = " ".join(
        str(x or "")
        for x in (
            record.get("goal"),
            record.get("sender_id"),
            record.get("notes"),
            record.get("id"),
            record.get("institution_id"),
            json.dumps(record.get("skills") or []),
            json.dumps(record.get("recommendations") or []),
        )
    ).lower()
    return all(word in hay for word in q.lower().split())


def transcript_from_tracker(tracker: dict[str, Any]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for ev in tracker.get("events") or []:
        if ev.get("event") == "user":
            lines.append({"who": "Learner", "text": ev.get("text") or "", "cards": []})
        elif ev.get("event") == "bot":
            data = ev.get("data") or {}
            custom = data.get("custom") or {}
            cards = custom.get("cards") if isinstance(custom, dict) else None
            lines.append(
                {
                    "who": "Stackwise",
                    "text": ev.get("text") or "",
                    "cards": [c.get("name") for c in cards or [] if isinstance(c, dict)],
                    "buttons": [b.get("title") for b in data.get("buttons") or []],
                }
            )
    return lines


def register(
    app: Sanic,
    *,
    app_engine: Callable[[], Any],
    knowledge_engine: Callable[[], Any],
    rasa_url: str,
    blocking: Callable[..., Awaitable[Any]],
    guard: Guard,
    client_ip: Callable[[Request], str],
    rasa_token: str | None = None,
) -> None:
    @app.get("/console/static/<name:path>")
    async def console_static(_request: Request, name: str):
        return await static_file(HERE / "static", name)

    def render(name: str, status: int = 200, **ctx: Any) -> response.HTTPResponse:
        html = templates.get_template(name).render(**ctx)
        resp = response.html(html, status=status)
        resp.headers["Cache-Control"] = "no-store"
        return resp

    def set_cookie(resp, request: Request, name: str, value: str, max_age: int) -> None:
        resp.cookies[name] = value
        c = resp.cookies[name]
        c["path"] = "/console"
        c["httponly"] = True
        c["samesite"] = "Strict"
        c["secure"] = True  # browsers accept it on http://localhost and 127.0.0.1 too
        c["max-age"] = max_age

    async def current(request: Request) -> accounts.LoginSession | None:
        return await blocking(
            accounts.get_session, app_engine(), request.cookies.get(SESSION_COOKIE)
        )

    def csrf_ok(request: Request, expected: str | None) -> bool:
        sent = request.form.get("csrf") if request.form else None
        return bool(expected and sent and hmac.compare_digest(sent, expected))

    def to_login() -> response.HTTPResponse:
        return response.redirect("/console/login", status=303)

    def visible_filter(user: accounts.User, args) -> dict[str, Any]:
        return {
            "q": (args.get("q") or "").strip()[:200],
            "status": args.get("status") if args.get("status") in STATUSES else "",
            "reason": (args.get("reason") or "").strip()[:40],
            "institution": (args.get("institution") or "").strip()[:80]
            if user.is_admin
            else (user.institution_id or ""),
        }

    def load_records(user: accounts.User, f: dict[str, Any]) -> list[dict[str, Any]]:
        engine = app_engine()
        ensure_schema(engine)
        stmt = select(IntakeRecordRow).order_by(IntakeRecordRow.created_at.desc())
        if not user.is_admin:
            stmt = stmt.where(IntakeRecordRow.institution_id == user.institution_id)
        elif f["institution"]:
            stmt = stmt.where(IntakeRecordRow.institution_id == f["institution"])
        if f["status"]:
            stmt = stmt.where(IntakeRecordRow.status == f["status"])
        if f["reason"]:
            stmt = stmt.where(IntakeRecordRow.reason == f["reason"])
        with Session(engine, future=True) as s:
            rows = [record_dict(r) for r in s.scalars(stmt).all()]
        return [r for r in rows if matches(r, f["q"]) and user.can_see(r["institution_id"])]

    def load_record(user: accounts.User, record_id: str) -> dict[str, Any] | None:
        engine = app_engine()
        ensure_schema(engine)
        with Session(engine, future=True) as s:
            row = s.get(IntakeRecordRow, record_id[:36])
            if row is None or not user.can_see(row.institution_id):
                return None
            return record_dict(row)

    def update_record(user: accounts.User, record_id: str, status: str, notes: str) -> bool:
        engine = app_engine()
        with Session(engine, future=True) as s, s.begin():
            row = s.get(IntakeRecordRow, record_id[:36])
            if row is None or not user.can_see(row.institution_id):
                return False
            row.status = status
            row.notes = notes or None
            return True

    @app.get("/console/login")
    async def login_form(request: Request):
        if await current(request):
            return response.redirect("/console/", status=303)
        token = secrets.token_urlsafe(24)
        resp = render("login.html", csrf=token, error=None)
        set_cookie(resp, request, LOGIN_CSRF_COOKIE, token, 3600)
        return resp

    @app.post("/console/login")
    async def login(request: Request):
        if not csrf_ok(request, request.cookies.get(LOGIN_CSRF_COOKIE)):
            return render("login.html", 403, csrf="", error="The form expired; reload the page.")
        email = (request.form.get("email") or "")[:320]
        password = (request.form.get("password") or "")[:1000]
        try:
            guard.check_login(client_ip(request), email)
        except Refused as exc:
            token = secrets.token_urlsafe(24)
            resp = render(
                "login.html", 429, csrf=token, error=exc.message[:1].upper() + exc.message[1:] + "."
            )
            resp.headers.update(exc.headers())
            set_cookie(resp, request, LOGIN_CSRF_COOKIE, token, 3600)
            return resp
        user = await blocking(accounts.authenticate, app_engine(), email, password)
        if user is None:
            token = secrets.token_urlsafe(24)
            resp = render("login.html", 401, csrf=token, error="E-mail or password is wrong.")
            set_cookie(resp, request, LOGIN_CSRF_COOKIE, token, 3600)
            return resp
        session_token, _csrf = await blocking(accounts.create_session, app_engine(), user)
        resp = response.redirect("/console/", status=303)
        set_cookie(
            resp, request, SESSION_COOKIE, session_token, int(accounts.SESSION_TTL.total_seconds())
        )
        set_cookie(resp, request, LOGIN_CSRF_COOKIE, "", 0)
        return resp

    @app.post("/console/logout")
    async def logout(request: Request):
        sess = await current(request)
        if sess is None or not csrf_ok(request, sess.csrf_token):
            return to_login()
        await blocking(accounts.end_session, app_engine(), request.cookies.get(SESSION_COOKIE))
        resp = to_login()
        set_cookie(resp, request, SESSION_COOKIE, "", 0)
        return resp

    @app.get("/console/", strict_slashes=False)
    async def queue(request: Request):
        sess = await current(request)
        if sess is None:
            return to_login()
        f = visible_filter(sess.user, request.args)
        records = await blocking(load_records, sess.user, f)
        query = urlencode({k: v for k, v in f.items() if v})
        return render(
            "queue.html",
            user=sess.user,
            csrf=sess.csrf_token,
            records=records,
            f=f,
            statuses=STATUSES,
            export_query=("?" + query) if query else "",
        )

    @app.get("/console/intake/<record_id:str>")
    async def intake(request: Request, record_id: str):
        sess = await current(request)
        if sess is None:
            return to_login()
        record = await blocking(load_record, sess.user, record_id)
        if record is None:
            return render(
                "error.html",
                404,
                user=sess.user,
                csrf=sess.csrf_token,
                message="No such intake record (or not one of your institution's).",
            )
        transcript, transcript_error = [], None
        url = f"{rasa_url}/conversations/{quote(record['sender_id'], safe='')}/tracker"
        params = {"token": rasa_token} if rasa_token else None  # Rasa's HTTP API token
        try:
            async with request.app.ctx.http.get(
                url, params=params, timeout=aiohttp.ClientTimeout(total=10)
            ) as r:
                if r.status == 200:
                    transcript = transcript_from_tracker(await r.json())
                else:
                    transcript_error = f"the dialogue server answered {r.status}"
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            transcript_error = f"the dialogue server is not reachable ({type(exc).__name__})"
        return render(
            "intake.html",
            user=sess.user,
            csrf=sess.csrf_token,
            r=record,
            statuses=STATUSES,
            transcript=transcript,
            transcript_error=transcript_error,
            saved=request.args.get("saved") == "1",
        )

    @app.post("/console/intake/<record_id:str>")
    async def intake_update(request: Request, record_id: str):
        sess = await current(request)
        if sess is None:
            return to_login()
        if not csrf_ok(request, sess.csrf_token):
            return render(
                "error.html",
                403,
                user=sess.user,
                csrf=sess.csrf_token,
                message="The form expired; go back and reload the page.",
            )
        status = request.form.get("status")
        notes = (request.form.get("notes") or "").strip()
        if status not in STATUSES or len(notes) > MAX_NOTES:
            return render(
                "error.html",
                400,
                user=sess.user,
                csrf=sess.csrf_token,
                message=f"Status must be one of {', '.join(STATUSES)}; notes at most "
                f"{MAX_NOTES} characters.",
            )
        if not await blocking(update_record, sess.user, record_id, status, notes):
            return render(
                "error.html",
                404,
                user=sess.user,
                csrf=sess.csrf_token,
                message="No such intake record (or not one of your institution's).",
            )
        return response.redirect(f"/console/intake/{quote(record_id, safe='')}?saved=1", status=303)

    @app.get("/console/export.csv")
    async def export_csv(request: Request):
        return await export(request, "csv")

    @app.get("/console/export.json")
    async def export_json(request: Request):
        return await export(request, "json")

    async def export(request: Request, fmt: str):
        sess = await current(request)
        if sess is None:
            return to_login()
        records = await blocking(load_records, sess.user, visible_filter(sess.user, request.args))
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
        headers = {
            "Content-Disposition": f'attachment; filename="stackwise-intakes-{stamp}.{fmt}"',
            "Cache-Control": "no-store",
        }
        if fmt == "csv":
            return response.text(
                to_csv(records), headers=headers, content_type="text/csv; charset=utf-8"
            )
        return response.text(
            json.dumps({"records": records}, ensure_ascii=False, default=str, indent=1),
            headers=headers,
            content_type="application/json",
        )

    @app.get("/console/tenants")
    async def tenant_list(request: Request):
        sess = await current(request)
        if sess is None:
            return to_login()
        if not sess.user.is_admin:
            return render(
                "error.html",
                403,
                user=sess.user,
                csrf=sess.csrf_token,
                message="Only admins configure institutions.",
            )
        items = await blocking(tenants.list_tenants, knowledge_engine(), app_engine())
        return render(
            "tenants.html",
            user=sess.user,
            csrf=sess.csrf_token,
            tenants=items,
            error=request.args.get("error"),
            saved=request.args.get("saved"),
        )

    @app.post("/console/tenants/<tenant_id:str>")
    async def tenant_update(request: Request, tenant_id: str):
        sess = await current(request)
        if sess is None:
            return to_login()
        if not sess.user.is_admin or not csrf_ok(request, sess.csrf_token):
            return render(
                "error.html",
                403,
                user=sess.user,
                csrf=sess.csrf_token,
                message="Only admins configure institutions (or the form expired).",
            )
        form = request.form
        origins = (form.get("allowed_origins") or "").replace(",", "\n").splitlines()
        try:
            await blocking(
                tenants.set_tenant_config,
                app_engine(),
                tenant_id,
                branding={
                    "primary_color": (form.get("primary_color") or "").strip() or None,
                    "logo_url": (form.get("logo_url") or "").strip() or None,
                },
                allowed_origins=origins,
                handoff_contact=(form.get("handoff_contact") or "")[:500],
            )
        except ValueError as exc:
            return response.redirect(
                "/console/tenants?" + urlencode({"error": str(exc)[:200]}), status=303
            )
        return response.redirect("/console/tenants?" + urlencode({"saved": tenant_id}), status=303)
