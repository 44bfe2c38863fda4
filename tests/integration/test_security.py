"""Security on the real stack: rate limits on the public endpoints (429 + Retry-After, clients
named by a trusted proxy's X-Forwarded-For), security headers, Rasa's HTTP API behind a token,
and `stackwise serve` refusing to expose Rasa without one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.supervisor import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
STACKWISE = str(Path(sys.executable).with_name("stackwise"))


def via_proxy(ip: str) -> dict[str, str]:
    """Headers of a request that a reverse proxy on loopback forwards for client ``ip``."""
    return {"X-Forwarded-For": ip}


def assert_429(r: httpx.Response, needle: str) -> None:
    assert r.status_code == 429, r.text[:300]
    assert needle in r.json()["error"]
    assert int(r.headers["Retry-After"]) >= 1


def test_web_api_limits_each_client_ip(stack, settings):
    per_min = int(settings.security.ip_per_min)
    client = via_proxy("203.0.113.5")
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.ports.web}", timeout=30) as web:
        # Bursts up to a minute's worth; the bucket refills while we send, so count to the 429.
        sent, r = 0, None
        while sent < 2 * per_min and (r is None or r.status_code == 400):
            sent += 1
            r = web.get("/api/credentials/search", params={"k": "x"}, headers=client)
        assert per_min < sent < 2 * per_min
        assert_429(r, "too many requests")
        # One bucket per client across the public endpoints. The bucket refills at per_min/60
        # a second while we send, so a few requests may get through: never more than refilled.
        started, codes = time.monotonic(), []
        for _ in range(20):
            r = web.post("/api/chat", json={"sender": "rl-1", "message": "hi"}, headers=client)
            codes.append(r.status_code)
            if r.status_code == 429:
                refused = r
        allowed = codes.count(200)
        assert 429 in codes, codes
        assert allowed <= (time.monotonic() - started) * per_min / 60 + 1, codes
        assert_429(refused, "too many requests")
        # The limit is per client: another address and loopback itself (exempt) are served.
        search = {"q": "nurse"}
        r = web.get("/api/credentials/search", params=search, headers=via_proxy("203.0.113.6"))
        assert r.status_code == 200
        assert web.get("/api/credentials/search", params=search).status_code == 200


def test_chat_limits_each_conversation(stack, settings):
    per_min = int(settings.security.session_per_min)
    for base, path in (
        (f"http://127.0.0.1:{stack.ports.web}", "/api/chat"),
        (f"http://127.0.0.1:{stack.ports.rasa}", "/webhooks/rest/webhook"),
    ):
        with httpx.Client(base_url=base, timeout=30) as client:
            sender = f"rl-conv-{stack.ports.web}-{path.count('/')}"
            for i in range(per_min):  # refused messages count too
                r = client.post(
                    path,
                    json={"sender": sender, "message": ""},
                    headers=via_proxy(f"198.51.100.{i}"),
                )
                assert r.status_code == 400, r.text
            r = client.post(
                path,
                json={"sender": sender, "message": "hello"},
                headers=via_proxy("198.51.100.99"),
            )
            assert_429(r, "faster than the advisor can answer")


def test_console_login_attempts_are_limited(stack, settings):
    per_min = int(settings.security.login_per_min)
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.ports.web}", timeout=30) as c:
        form = c.get("/console/login")
        csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
        cookie = {"Cookie": f"sw_login_csrf={form.cookies['sw_login_csrf']}"}
        data = {"email": "nobody@example.edu", "password": "wrong password!!", "csrf": csrf}
        sent, r = 0, None
        while sent < 2 * per_min and (r is None or r.status_code == 401):
            sent += 1  # the bucket refills a little while we try
            r = c.post("/console/login", data=data, headers=cookie)
        assert per_min < sent < 2 * per_min
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert "Too many log-in attempts" in r.text


def test_security_headers(stack):
    base = f"http://127.0.0.1:{stack.ports.web}"
    page = httpx.get(base + "/", timeout=10)
    csp = page.headers["content-security-policy"]
    for directive in (
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    console = httpx.get(base + "/console/login", timeout=10)
    assert console.headers["content-security-policy"].startswith("default-src 'none'")
    assert "script-src" not in console.headers["content-security-policy"]  # no script at all
    assert console.headers["x-frame-options"] == "DENY"
    widget = httpx.get(base + "/widget.js", timeout=10)
    assert widget.headers["content-type"].startswith("application/javascript")
    assert "innerHTML" not in widget.text and "insertAdjacentHTML" not in widget.text
    error = httpx.post(base + "/api/chat", content=b"{", timeout=10)
    assert error.headers["content-type"] == "application/json"
    assert error.headers["x-content-type-options"] == "nosniff"


def test_serve_refuses_to_expose_rasa_without_a_token(settings):
    env = dict(os.environ, STACKWISE_RASA_HOST="0.0.0.0", PYTHONUNBUFFERED="1")
    env.pop("STACKWISE_RASA_TOKEN", None)
    out = subprocess.run([STACKWISE, "serve"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "set STACKWISE_RASA_TOKEN" in out.stderr


def test_rasa_http_api_needs_the_token(tmp_path):
    """Rasa started as `stackwise serve` starts it, with a token from the environment: the API
    answers 401 without it; the token is not on the command line. (No model: starts in ~20 s.)"""
    token = "t-" + os.urandom(16).hex()
    port = free_port()
    env = dict(os.environ, STACKWISE_RASA_TOKEN=token, HF_HUB_OFFLINE="1")
    log = tmp_path / "rasa.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.rasa_run", "run", "--enable-api", "-i", "127.0.0.1"]
            + [
                "-p",
                str(port),
                "-m",
                str(tmp_path),
                "--credentials",
                str(REPO / "credentials.yml"),
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(base + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        for path in ("/status", "/conversations/someone/tracker"):
            r = httpx.get(base + path, timeout=10)
            assert r.status_code == 401 and r.json()["reason"] == "NotAuthenticated"
            assert httpx.get(base + path, params={"token": "wrong"}, timeout=10).status_code == 401
        # With the token: authenticated (409 only because this Rasa has no model loaded).
        assert httpx.get(base + "/status", params={"token": token}, timeout=10).status_code == 409
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
        assert token not in cmdline and "bot.rasa_run" in cmdline
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)
