"""The adviser console in Chromium: log in, find an intake, update it, export CSV and JSON;
advisers see only their institution's records; cookies and CSRF."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from knowledge.intake import IntakeRecord, save_intake
from tests.browser.conftest import TENANT, run_axe, screenshot
from tests.integration.chat import Chat

pytestmark = pytest.mark.integration

PASSWORD = "a long test password"


def add_user(email: str, role: str, institution: str | None = None) -> None:
    cmd = [sys.executable, "-m", "bot.cli", "user", "add", email, "--role", role, "--replace"]
    if institution:
        cmd += ["--institution", institution]
    env = dict(os.environ, STACKWISE_NEW_USER_PASSWORD=PASSWORD)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"user {email}" in out.stdout


@pytest.fixture(scope="module")
def records(web_stack, app_engine):
    chat = Chat(f"http://127.0.0.1:{web_stack.ports.rasa}")
    chat.say("hi")
    chat.say("I know Excel and I want to become a data analyst")
    marker = uuid.uuid4().hex[:6]
    mine = IntakeRecord(
        sender_id=chat.sender,
        reason="completed_intake",
        skills=[{"label": "Excel", "skill_id": None, "role": "has"}],
        goal=f'=HYPERLINK("http://evil") data analyst {marker}',
        constraints={"budget": "500", "format": "online"},
        recommendations=[{"id": "c1", "name": "Google Data Analytics", "reason": "teaches SQL"}],
        institution_id=TENANT,
    )
    other = IntakeRecord(
        sender_id="someone-else", reason="requested", goal=f"welder {marker}", institution_id="wgu"
    )
    save_intake(app_engine, mine)
    save_intake(app_engine, other)
    add_user("adviser@example.edu", "adviser", TENANT)
    add_user("admin@example.edu", "admin")
    return mine, other, marker


def login(page, web: str, email: str) -> None:
    page.goto(f"{web}/console/")
    assert page.url.endswith("/console/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{web}/console/")


def test_adviser_finds_updates_and_exports_intake(page, context, web, records):
    mine, other, marker = records
    page.goto(f"{web}/console/login")
    page.get_by_label("E-mail").fill("adviser@example.edu")
    page.get_by_label("Password").fill("wrong password!!")
    page.get_by_role("button", name="Log in").click()
    assert "wrong" in page.get_by_role("alert").inner_text()
    screenshot(page, "console-login.png")

    login(page, web, "adviser@example.edu")
    cookie = next(c for c in context.cookies() if c["name"] == "sw_session")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"

    page.get_by_label("Search").fill(marker)
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 1  # the wgu record is not visible to an ecc adviser
    assert mine.id[:8].upper() in rows.first.inner_text()
    screenshot(page, "console-queue.png")
    assert run_axe(page) == []

    # Export what the filter shows: CSV (formula escaped) and JSON.
    with page.expect_download() as dl:
        page.get_by_role("link", name="Export CSV").click()
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "\"'=HYPERLINK" in text and "welder" not in text
    with page.expect_download() as dl:
        page.get_by_role("link", name="Export JSON").click()
    data = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
    assert [r["id"] for r in data["records"]] == [mine.id]

    # Open it, see the summary and the transcript, mark it contacted with a note.
    page.get_by_role("link", name=mine.id[:8].upper()).click()
    assert "Google Data Analytics" in page.inner_text("main")
    assert "teaches SQL" in page.inner_text("main")
    transcript = page.locator("ol.transcript").inner_text()
    assert "I know Excel and I want to become a data analyst" in transcript
    page.get_by_label("Status").select_option("contacted")
    page.get_by_label("Adviser notes").fill("Called; <b>prefers</b> evenings")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_role("status").inner_text() == "Saved."
    assert page.get_by_label("Adviser notes").input_value() == "Called; <b>prefers</b> evenings"
    assert page.locator("main b").count() == 0  # never HTML
    screenshot(page, "console-intake.png")
    assert run_axe(page) == []

    # Another institution's record is not reachable by URL either.
    page.goto(f"{web}/console/intake/{other.id}")
    assert "No such intake record" in page.inner_text("main")


def test_admin_sees_all_and_configures_tenants(page, web, records):
    mine, other, marker = records
    login(page, web, "admin@example.edu")
    page.goto(f"{web}/console/?q={marker}")
    assert page.locator("tbody tr").count() == 2
    page.goto(f"{web}/console/tenants")
    assert TENANT in page.inner_text("main")
    screenshot(page, "console-tenants.png")


def test_forms_need_csrf_and_login(web, records):
    mine, _, _ = records
    # The cookies are Secure, which httpx will not send over http: pass them by hand.
    with httpx.Client(base_url=web, follow_redirects=False) as c:
        assert c.get("/console/").headers["location"] == "/console/login"
        assert c.get("/console/export.csv").status_code == 303
        form = c.get("/console/login")
        cookie = {"Cookie": f"sw_login_csrf={form.cookies['sw_login_csrf']}"}
        creds = {"email": "admin@example.edu", "password": PASSWORD}
        r = c.post("/console/login", data={**creds, "csrf": "forged"}, headers=cookie)
        assert r.status_code == 403
        r = c.post("/console/login", data=creds, headers=cookie)
        assert r.status_code == 403
        csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
        r = c.post("/console/login", data={**creds, "csrf": csrf}, headers=cookie)
        assert r.status_code == 303
        session = {"Cookie": f"sw_session={r.cookies['sw_session']}"}
        assert c.get("/console/", headers=session).status_code == 200
        r = c.post(
            f"/console/intake/{mine.id}", data={"status": "closed", "notes": ""}, headers=session
        )
        assert r.status_code == 403
        r = c.post(
            f"/console/intake/{mine.id}",
            data={"status": "closed", "notes": "", "csrf": "forged"},
            headers=session,
        )
        assert r.status_code == 403
