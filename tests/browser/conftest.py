"""Browser tests: the real stack, host pages on other origins, Debian's Chromium via Playwright.

Skipped when /usr/bin/chromium or Playwright is missing (scripts/setup.sh installs Chromium when
run as root). Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

# All three servers must share the secret; the tests sign and verify with it too.
os.environ.setdefault("STACKWISE_SECRET_KEY", secrets.token_hex(32))
os.environ.setdefault(
    "STACKWISE_TENANT_EXAMPLE_COMMUNITY_COLLEGE_JWT_SECRET", secrets.token_hex(32)
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
TENANT = "example-community-college"

# A host page that tries hard to break an embedded widget (and a widget must not break it).
HOSTILE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  html {{ font-size: 6px; }}
  body {{ font: 31px/3 "Comic Sans MS", cursive; color: #f0f; background: #ff0; letter-spacing: 4px;
         text-transform: uppercase; }}
  * {{ box-sizing: content-box !important; margin: 7px !important; }}
  div, section, button, input, p, ul, li, h2, h3, form, a, span {{
    display: inline !important; color: red !important; background: lime !important;
    font-size: 40px !important; border: 5px dashed blue !important; position: static !important; }}
  button {{ visibility: hidden; }}
  [hidden] {{ display: block !important; }}
  .sr, .panel, .launcher, .card {{ display: none !important; }}
</style></head>
<body>
  <h1 id="host-title">{title}</h1>
  <p id="host-text">College news. <a href="#one">A link</a> and <a href="#two">another</a>.</p>
  <button id="host-button">Host page button</button>
  {script}
</body></html>"""


@dataclass
class HostSite:
    origin: str
    web: str

    def url(self, tenant: str | None = TENANT, token: str | None = None, title: str = "") -> str:
        q = []
        if tenant:
            q.append(f"tenant={tenant}")
        if token:
            q.append(f"token={token}")
        if title:
            q.append(f"title={title}")
        return f"{self.origin}/host?{'&'.join(q)}"


def _serve_hosts(web: str) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server API
            parts = urlsplit(self.path)
            q = {k: v[0] for k, v in parse_qs(parts.query).items()}
            attrs = ""
            if q.get("tenant"):
                attrs += f' data-tenant="{q["tenant"]}"'
            if q.get("token"):
                attrs += f' data-token="{q["token"]}"'
            script = f'<script src="{web}/widget.js"{attrs} defer></script>'
            body = HOSTILE_PAGE.format(
                title=q.get("title", "Example College portal"), script=script
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        # On CI the setup installs it, so a missing browser is a failure there, not a skip.
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            f"{CHROMIUM} is missing (apt-get install chromium)"
        )
    pytest.importorskip("playwright.sync_api")
    return CHROMIUM


@pytest.fixture(scope="session")
def web_stack(chromium_path, built, settings):
    from bot.supervisor import Ports, Stack, free_port
    from bot.training import model_path

    if not model_path(settings).exists():
        pytest.fail(f"no trained Rasa model at {model_path(settings)}: run 'make train' first")
    ports = Ports(rasa=free_port(), actions=free_port(), web=free_port())
    s = Stack.embedded(settings, ports, settings.var_dir / "logs")
    s.start(timeout=300)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def web(web_stack) -> str:
    return f"http://127.0.0.1:{web_stack.ports.web}"


@pytest.fixture(scope="session")
def app_engine(settings):
    from knowledge.db import make_engine

    engine = make_engine(settings.app_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def hosts(web, app_engine) -> Iterator[tuple[HostSite, HostSite]]:
    """(allowed, refused): two host sites on other origins; only the first may embed the tenant."""
    from knowledge.tenants import set_tenant_config

    allowed_srv, allowed = _serve_hosts(web)
    refused_srv, refused = _serve_hosts(web)
    set_tenant_config(app_engine, TENANT, allowed_origins=[allowed])
    yield HostSite(allowed, web), HostSite(refused, web)
    allowed_srv.shutdown()
    refused_srv.shutdown()


# Per module, not per session: while Playwright's sync API is running it holds an asyncio loop
# in the main thread, and every later test that calls asyncio.run() would fail.
@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def context(browser):
    ctx = browser.new_context(
        viewport={"width": 1100, "height": 760}, accept_downloads=True, bypass_csp=True
    )  # bypass_csp: only so that axe-core can be injected into the console pages
    ctx.set_default_timeout(60_000)
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context):
    return context.new_page()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def run_axe(page, selector: str | None = None) -> list[dict]:
    """Serious and critical axe-core violations (within `selector`'s element and its shadow
    tree when given)."""
    if not AXE.exists():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "node_modules/axe-core missing: run 'npm ci'"
        )
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    context = f"{{include: [['{selector}']]}}" if selector else "document"
    result = page.evaluate(
        f"""async () => {{
            const r = await axe.run({context}, {{resultTypes: ['violations']}});
            return r.violations.map(v => ({{id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}}));
        }}"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]
