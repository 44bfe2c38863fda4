"""LTI 1.3 end to end: the web app (a real server process) against a platform simulated here with
its own RSA key and a JWKS served on loopback. The test plays the browser and the platform's
authorization endpoint: it follows the tool's OIDC redirect, signs the id_token the platform
would sign and posts it to the launch endpoint, state cookie included."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.orm import Session

from bot.supervisor import free_port
from knowledge import lti_config, schema, tenants
from knowledge.db import make_engine

REPO = Path(__file__).resolve().parents[2]
TENANT = "demo-cc"
CLIENT_ID = "10000000000042"
DEPLOYMENT = "7:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"
PORTAL_SECRET = "portal-secret-for-lti-tests-0123456789abcdef"
SERVER_KEY = secrets.token_hex(32)
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
FACULTY = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty"
SERVER = """
import sys
from bot.web.app import create_app
from knowledge.services import Services

class LightServices(Services):
    def warm_up(self):  # no search index needed for LTI: tenants come from the knowledge DB
        pass

create_app(LightServices()).run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False)
"""


class Platform:
    """The LMS side: a signing key, a JWKS on loopback, and id_tokens for launches."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "platform-key-1"
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, alg="RS256", use="sig")
        body = json.dumps({"keys": [jwk]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def id_token(self, nonce: str, *, key=None, kid=None, **overrides) -> str:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "sub": "a6d5c443-1f51-4783-ba1a-7686ffe3b54a",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": "Ana Learner",
            CLAIM + "deployment_id": DEPLOYMENT,
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0",
            CLAIM + "roles": [LEARNER],
            CLAIM + "resource_link": {"id": "rl-1", "title": "Career advising"},
            CLAIM + "target_link_uri": "",
            CLAIM + "launch_presentation": {"return_url": "https://college.example.edu/courses/1"},
        }
        claims.update(overrides)
        return jwt.encode(
            {k: v for k, v in claims.items() if v is not None},
            key or self.key,
            algorithm="RS256",
            headers={"kid": kid or self.kid},
        )


@pytest.fixture(scope="module")
def platform():
    p = Platform()
    yield p
    p.server.shutdown()


@pytest.fixture(scope="module")
def web(platform, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lti")
    knowledge = make_engine(f"sqlite:///{tmp / 'k.db'}")
    schema.Base.metadata.create_all(knowledge)
    with Session(knowledge, future=True) as s, s.begin():
        s.add(schema.Institution(id=TENANT, name="Demo Community College", branding={}))
    knowledge.dispose()
    config = {
        "tenants": {
            TENANT: {
                "platforms": [
                    {
                        "issuer": platform.url,
                        "client_id": int(CLIENT_ID),  # as YAML reads a Canvas client id
                        "auth_login_url": platform.url + "/auth",
                        "auth_token_url": platform.url + "/token",
                        "key_set_url": platform.url + "/jwks",
                        "deployment_ids": [DEPLOYMENT],
                        "frame_origins": ["https://college.example.edu"],
                    }
                ]
            }
        }
    }
    (tmp / "lti.yaml").write_text(yaml.safe_dump(config))
    (tmp / "server.py").write_text(SERVER)
    port = free_port()
    env = {
        **os.environ,
        "STACKWISE_VAR_DIR": str(tmp / "var"),
        "STACKWISE_DATABASE_URL": f"sqlite:///{tmp / 'k.db'}",
        "STACKWISE_APP_DATABASE_URL": f"sqlite:///{tmp / 'app.db'}",
        "STACKWISE_LTI_CONFIG": str(tmp / "lti.yaml"),
        "STACKWISE_LTI_PRIVATE_KEY": lti_config.generate_private_pem(),
        "STACKWISE_SECRET_KEY": SERVER_KEY,
        tenants.portal_secret_env(TENANT): PORTAL_SECRET,
        "PYTHONPATH": str(REPO),
    }
    env.pop("STACKWISE_LTI_TOOL_URL", None)
    log = open(tmp / "web.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, str(tmp / "server.py"), str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail("web app did not start:\n" + (tmp / "web.log").read_text()[-3000:])
        time.sleep(0.3)
    yield base, tmp / "web.log"
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def login(base: str, platform: Platform, **params) -> tuple[dict[str, str], str]:
    """Start a login as the platform would; returns the auth request's parameters and the
    state cookie the tool set (sent back by hand: httpx sends no Secure cookie over http)."""
    form = {"iss": platform.url, "login_hint": "u-42", "client_id": CLIENT_ID, **params}
    r = httpx.post(base + "/lti/login", data=form, timeout=30)
    assert r.status_code == 302, r.text
    location = urlsplit(r.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == platform.url + "/auth"
    auth = {k: v[0] for k, v in parse_qs(location.query).items()}
    cookie = r.headers["set-cookie"]
    assert "SameSite=None" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    return auth, cookie.split(";")[0]


def launch(base: str, id_token: str, state: str, cookie: str | None, **kw) -> httpx.Response:
    headers = {"Cookie": cookie} if cookie else {}
    return httpx.post(
        base + "/lti/launch",
        data={"id_token": id_token, "state": state},
        headers=headers,
        timeout=30,
        **kw,
    )


def attr(page: str, name: str) -> str:
    return page.split(f'{name}="', 1)[1].split('"', 1)[0]


def assert_refused(r: httpx.Response, status: int, needle: str) -> None:
    assert r.status_code == status, r.text
    assert needle in r.text
    assert "Traceback" not in r.text and 'File "' not in r.text


def test_registration_documents(web):
    base, _ = web
    canvas = httpx.get(base + "/lti/config.json").json()
    assert canvas["oidc_initiation_url"] == base + "/lti/login"
    assert canvas["target_link_uri"] == base + "/lti/launch"
    assert canvas["public_jwk_url"] == base + "/lti/jwks"
    kinds = {p["message_type"] for p in canvas["extensions"][0]["settings"]["placements"]}
    assert kinds == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}
    moodle = httpx.get(base + "/lti/config.json?lms=moodle").json()
    assert moodle["initiate_login_url"] == base + "/lti/login"
    assert moodle["redirection_uris"] == [base + "/lti/launch"]
    keys = httpx.get(base + "/lti/jwks").json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"
    assert "d" not in keys[0]  # public part only


def test_learner_launch_opens_the_signed_in_widget(web, platform):
    base, _ = web
    auth, cookie = login(base, platform)
    assert auth["client_id"] == CLIENT_ID
    assert auth["redirect_uri"] == base + "/lti/launch"
    assert auth["login_hint"] == "u-42" and auth["response_mode"] == "form_post"
    r = launch(base, platform.id_token(auth["nonce"]), auth["state"], cookie)
    assert r.status_code == 200, r.text
    assert attr(r.text, "data-tenant") == TENANT
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://college.example.edu " + platform.url in csp
    token = attr(r.text, "data-token")
    student = f"lti:127.0.0.1:{'a6d5c443-1f51-4783-ba1a-7686ffe3b54a'}"
    claims = jwt.decode(token, PORTAL_SECRET, algorithms=["HS256"], audience=TENANT)
    assert claims["sub"] == student and claims["name"] == "Ana Learner"
    # The widget then signs in through the portal path, as any portal-signed student.
    cfg = httpx.post(f"{base}/api/widget-config?tenant={TENANT}", json={"token": token})
    assert cfg.status_code == 200, cfg.text
    data = cfg.json()
    env = {"STACKWISE_SECRET_KEY": SERVER_KEY}
    assert data["session_id"] == tenants.student_session_id(TENANT, student, env)
    blob = data["metadata"][tenants.METADATA_KEY]
    meta = tenants.verify_metadata(blob, data["session_id"], env=env)
    assert meta["tenant"] == TENANT and meta["student_id"] == student


def test_instructor_launch_opens_the_console(web, platform):
    base, _ = web
    auth, cookie = login(base, platform)
    token = platform.id_token(auth["nonce"], **{CLAIM + "roles": [INSTRUCTOR, FACULTY]})
    r = launch(base, token, auth["state"], cookie)
    assert r.status_code == 200, r.text
    assert "data-token" not in r.text and "widget.js" not in r.text
    link = r.text.split('data-role="console"')[0].rsplit("<a ", 1)[1]
    assert attr(link, "href") == f"/console/?institution={TENANT}"
    assert 'target="_blank"' in link  # top level: the console refuses to be framed
    console = httpx.get(base + f"/console/?institution={TENANT}", follow_redirects=False)
    assert console.status_code == 303 and console.headers["location"] == "/console/login"


def test_faculty_enrolled_as_learner_launches_as_learner(web, platform):
    base, _ = web
    auth, cookie = login(base, platform)
    token = platform.id_token(auth["nonce"], **{CLAIM + "roles": [FACULTY, LEARNER]})
    r = launch(base, token, auth["state"], cookie)
    assert r.status_code == 200 and 'data-tenant="demo-cc"' in r.text


def test_replayed_launch_is_refused(web, platform):
    base, _ = web
    auth, cookie = login(base, platform)
    token = platform.id_token(auth["nonce"])
    assert launch(base, token, auth["state"], cookie).status_code == 200
    assert_refused(launch(base, token, auth["state"], cookie), 401, "replayed nonce")


def test_nonce_never_issued_is_refused(web, platform):
    base, _ = web
    auth, cookie = login(base, platform)
    r = launch(base, platform.id_token(uuid.uuid4().hex), auth["state"], cookie)
    assert_refused(r, 401, "replayed nonce")


@pytest.mark.parametrize(
    ("case", "status", "needle"),
    [
        ("bad_signature", 401, "did not verify"),
        ("unknown_key", 401, "did not verify"),
        ("wrong_audience", 403, "not registered"),
        ("expired", 401, "expired"),
        ("no_exp", 401, "did not verify"),
        ("unknown_deployment", 403, "deployment is not registered"),
        ("unknown_issuer", 403, "not registered"),
        ("not_lti_1_3", 400, "incomplete"),
    ],
)
def test_bad_id_tokens_are_refused(web, platform, case, status, needle):
    base, log = web
    auth, cookie = login(base, platform)
    nonce = auth["nonce"]
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    past = int(time.time()) - 3600
    token = {
        "bad_signature": lambda: platform.id_token(nonce, key=other),
        "unknown_key": lambda: platform.id_token(nonce, key=other, kid="not-the-platforms"),
        "wrong_audience": lambda: platform.id_token(nonce, aud="another-tool"),
        "expired": lambda: platform.id_token(nonce, iat=past - 300, exp=past),
        "no_exp": lambda: platform.id_token(nonce, exp=None),
        "unknown_deployment": lambda: platform.id_token(nonce, **{CLAIM + "deployment_id": "9:x"}),
        "unknown_issuer": lambda: platform.id_token(nonce, iss="https://lms.other.example"),
        "not_lti_1_3": lambda: platform.id_token(nonce, **{CLAIM + "version": "1.1"}),
    }[case]()
    assert_refused(launch(base, token, auth["state"], cookie), status, needle)
    assert "Traceback" not in log.read_text()


def test_malformed_launches_are_refused(web, platform):
    base, log = web
    auth, cookie = login(base, platform)
    token = platform.id_token(auth["nonce"])
    assert_refused(
        httpx.post(base + "/lti/launch", json={"id_token": token, "state": auth["state"]}),
        400,
        "form post",
    )
    assert_refused(
        httpx.post(base + "/lti/launch", data={"state": auth["state"]}, headers={"Cookie": cookie}),
        400,
        "no id_token",
    )
    assert_refused(launch(base, "abc", auth["state"], cookie), 400, "not a JWT")
    assert_refused(launch(base, "not.a.jwt", auth["state"], cookie), 400, "not a JWT")
    b64 = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")  # noqa: E731
    body_a_list = f"{b64({'alg': 'RS256', 'kid': platform.kid})}.{b64([1, 2])}.c2ln"
    assert_refused(launch(base, body_a_list, auth["state"], cookie), 400, "malformed")
    # no state cookie: not the browser that started the login (login CSRF)
    assert_refused(launch(base, token, auth["state"], None), 401, "login started")
    assert_refused(httpx.post(base + "/lti/login", data={"login_hint": "u-1"}), 400, "incomplete")
    assert_refused(
        httpx.post(base + "/lti/login", data={"iss": "https://x.example", "login_hint": "u"}),
        403,
        "not registered",
    )
    assert "Traceback" not in log.read_text()


def test_deep_linking_returns_a_signed_resource_link(web, platform):
    base, _ = web
    auth, cookie = login(base, platform)
    settings = {
        "deep_link_return_url": platform.url + "/deep_links",
        "accept_types": ["ltiResourceLink"],
        "accept_presentation_document_targets": ["iframe", "window"],
        "data": "opaque-platform-data",
    }
    overrides = {
        CLAIM + "message_type": "LtiDeepLinkingRequest",
        CLAIM + "roles": [INSTRUCTOR],
        CLAIM + "resource_link": None,
        DL_CLAIM + "deep_linking_settings": settings,
    }
    r = launch(base, platform.id_token(auth["nonce"], **overrides), auth["state"], cookie)
    assert r.status_code == 200, r.text
    assert attr(r.text, "action") == platform.url + "/deep_links"
    assert f"form-action {platform.url}" in r.headers["content-security-policy"]
    response_jwt = attr(r.text, 'name="JWT" value')
    jwks = httpx.get(base + "/lti/jwks").json()
    kid = jwt.get_unverified_header(response_jwt)["kid"]
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid))
    claims = jwt.decode(response_jwt, key.key, algorithms=["RS256"], audience=platform.url)
    assert claims["iss"] == CLIENT_ID
    assert claims[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[CLAIM + "deployment_id"] == DEPLOYMENT
    assert claims[DL_CLAIM + "data"] == "opaque-platform-data"
    (item,) = claims[DL_CLAIM + "content_items"]
    assert item["type"] == "ltiResourceLink" and item["url"] == base + "/lti/launch"

    # A learner cannot place the tool.
    auth, cookie = login(base, platform)
    overrides[CLAIM + "roles"] = [LEARNER]
    r = launch(base, platform.id_token(auth["nonce"], **overrides), auth["state"], cookie)
    assert_refused(r, 403, "only an instructor")
