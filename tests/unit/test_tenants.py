"""Tenants: origin checks, portal JWTs, signed metadata, socket tokens, overrides."""

from __future__ import annotations

import time

import jwt
import pytest
from sqlalchemy.orm import Session

from knowledge import schema, tenants
from knowledge.db import make_engine

PORTAL = "portal-secret-for-tests-0123456789abcdef"
ENV = {"STACKWISE_SECRET_KEY": "s3cret-for-tests", "STACKWISE_TENANT_DEMO_CC_JWT_SECRET": PORTAL}


@pytest.mark.parametrize(
    ("origin", "norm"),
    [
        ("https://www.College.edu", "https://www.college.edu"),
        ("https://www.college.edu:443/", "https://www.college.edu"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("javascript:alert(1)", None),
        ("https://college.edu/path", None),
        ("null", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_origin(origin, norm):
    assert tenants.normalize_origin(origin) == norm


def test_origin_allowed_exact_match_only():
    allowed = ["https://www.college.edu", "http://localhost:3000"]
    assert tenants.origin_allowed("https://WWW.college.edu", allowed)
    assert tenants.origin_allowed("http://localhost:3000", allowed)
    assert not tenants.origin_allowed("https://evil.college.edu", allowed)
    assert not tenants.origin_allowed("https://www.college.edu.evil.com", allowed)
    assert not tenants.origin_allowed("http://www.college.edu", allowed)
    assert not tenants.origin_allowed(None, allowed)


def test_clean_origins_rejects_junk():
    assert tenants.clean_origins(["https://a.edu", " https://a.edu/ ", ""]) == ["https://a.edu"]
    with pytest.raises(ValueError, match="not an origin"):
        tenants.clean_origins(["a.edu"])


def test_portal_secret_env_name():
    assert tenants.portal_secret_env("demo-cc") == "STACKWISE_TENANT_DEMO_CC_JWT_SECRET"


def _portal(claims, secret=PORTAL):
    return jwt.encode(claims, secret, algorithm="HS256")


def test_verify_portal_token():
    tok = _portal({"sub": "s-1", "name": "Ana", "exp": int(time.time()) + 60})
    claims = tenants.verify_portal_token(tok, "demo-cc", env=ENV)
    assert claims == tenants.StudentClaims(student_id="s-1", name="Ana", email=None)


@pytest.mark.parametrize(
    "claims, secret",
    [
        ({"sub": "s-1", "exp": int(time.time()) - 3600}, PORTAL),  # expired
        ({"sub": "s-1"}, PORTAL),  # no exp
        ({"exp": int(time.time()) + 60}, PORTAL),  # no sub
        (
            {"sub": "s-1", "exp": int(time.time()) + 60},
            "wrong-secret-for-tests-0123456789abcdef",
        ),  # bad signature
        ({"sub": "s-1", "exp": int(time.time()) + 60, "aud": "other-cc"}, PORTAL),  # audience
    ],
)
def test_verify_portal_token_rejects(claims, secret):
    with pytest.raises(tenants.InvalidToken):
        tenants.verify_portal_token(_portal(claims, secret), "demo-cc", env=ENV)


def test_portal_token_alg_none_rejected():
    tok = jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, None, algorithm="none")
    with pytest.raises(tenants.InvalidToken):
        tenants.verify_portal_token(tok, "demo-cc", env=ENV)


def test_portal_token_needs_configured_secret():
    tok = _portal({"sub": "s-1", "exp": int(time.time()) + 60})
    with pytest.raises(tenants.InvalidToken, match="not configured"):
        tenants.verify_portal_token(tok, "other-cc", env=ENV)


def test_student_session_id_is_stable_and_unguessable():
    a = tenants.student_session_id("demo-cc", "s-1", env=ENV)
    assert a == tenants.student_session_id("demo-cc", "s-1", env=ENV)
    assert a != tenants.student_session_id("demo-cc", "s-2", env=ENV)
    assert a != tenants.student_session_id("demo-cc", "s-1", env={"STACKWISE_SECRET_KEY": "x"})
    assert a.startswith("st-") and not tenants.valid_anonymous_session_id(a)
    assert tenants.valid_anonymous_session_id("0123456789abcdef")
    assert not tenants.valid_anonymous_session_id("short")
    assert not tenants.valid_anonymous_session_id("has space in it")


def test_metadata_round_trip_and_binding():
    student = tenants.StudentClaims("s-1", "Ana")
    blob = tenants.sign_metadata("sess-123456", tenant_id="demo-cc", student=student, env=ENV)
    payload = tenants.verify_metadata(blob, "sess-123456", env=ENV)
    assert payload["tenant"] == "demo-cc" and payload["student_id"] == "s-1"
    with pytest.raises(tenants.InvalidToken, match="another session"):
        tenants.verify_metadata(blob, "sess-other", env=ENV)
    with pytest.raises(tenants.InvalidToken, match="signature"):
        tenants.verify_metadata(blob, "sess-123456", env={"STACKWISE_SECRET_KEY": "other"})
    body, sig = blob.split(".")
    forged = tenants._b64(b'{"exp":9999999999,"sid":"sess-123456","tenant":"evil-cc"}')
    with pytest.raises(tenants.InvalidToken):
        tenants.verify_metadata(f"{forged}.{sig}", "sess-123456", env=ENV)
    with pytest.raises(tenants.InvalidToken, match="expired"):
        tenants.verify_metadata(blob, "sess-123456", now=time.time() + 10**6, env=ENV)
    for junk in (None, 42, "", "a.b.c", "x" * 5000):
        with pytest.raises(tenants.InvalidToken):
            tenants.verify_metadata(junk, "sess-123456", env=ENV)


def test_socket_token_bound_to_origin():
    tok = tenants.socket_token("https://www.college.edu", "sess-1", "demo-cc", env=ENV)
    claims = tenants.verify_socket_token(tok, "https://www.college.edu", env=ENV)
    assert claims["sid"] == "sess-1" and claims["tenant"] == "demo-cc"
    with pytest.raises(tenants.InvalidToken, match="another origin"):
        tenants.verify_socket_token(tok, "https://evil.example", env=ENV)
    with pytest.raises(tenants.InvalidToken):
        tenants.verify_socket_token(
            tok, "https://www.college.edu", env={"STACKWISE_SECRET_KEY": "x"}
        )
    with pytest.raises(tenants.InvalidToken):
        tenants.verify_socket_token(None, "https://www.college.edu", env=ENV)


@pytest.fixture()
def engines(tmp_path):
    knowledge = make_engine(f"sqlite:///{tmp_path / 'k.db'}")
    app = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    schema.Base.metadata.create_all(knowledge)
    with Session(knowledge, future=True) as s, s.begin():
        s.add(
            schema.Institution(
                id="demo-cc",
                name="Demo CC",
                branding={"primary_color": "#2E5E4E", "logo_url": None},
                allowed_origins=["https://www.demo.edu"],
                handoff_contact="advising@demo.edu",
            )
        )
    yield knowledge, app
    knowledge.dispose()
    app.dispose()


def test_tenant_lookup_and_overrides(engines):
    knowledge, app = engines
    t = tenants.get_tenant(knowledge, "demo-cc", app)
    assert t is not None and t.allowed_origins == ("https://www.demo.edu",)
    assert t.public() == {
        "id": "demo-cc",
        "name": "Demo CC",
        "example": False,
        "primary_color": "#2E5E4E",
        "logo_url": None,
    }
    assert tenants.get_tenant(knowledge, "nope", app) is None
    assert tenants.get_tenant(knowledge, "../etc", app) is None
    tenants.set_tenant_config(
        app,
        "demo-cc",
        branding={"primary_color": "#123456", "logo_url": "https://demo.edu/logo.png"},
        allowed_origins=["http://127.0.0.1:9999"],
        handoff_contact="desk@demo.edu",
    )
    t = tenants.get_tenant(knowledge, "demo-cc", app)
    assert t.allowed_origins == ("http://127.0.0.1:9999",)
    assert t.primary_color == "#123456" and t.logo_url == "https://demo.edu/logo.png"
    assert t.handoff_contact == "desk@demo.edu"
    assert [x.id for x in tenants.list_tenants(knowledge, app)] == ["demo-cc"]
    with pytest.raises(ValueError):
        tenants.set_tenant_config(app, "demo-cc", branding={"primary_color": "red"})
    with pytest.raises(ValueError):
        tenants.set_tenant_config(app, "demo-cc", branding={"logo_url": "javascript:x"})
    with pytest.raises(ValueError):
        tenants.set_tenant_config(app, "demo-cc", allowed_origins=["not an origin"])


def _tracker(sender, metadata, slots=None):
    from rasa_sdk import Tracker

    slots = dict(slots or {})
    slots["session_started_metadata"] = metadata
    return Tracker(sender, slots, {}, [], False, None, {}, "action_listen")


def test_action_session_start_uses_only_verified_metadata(monkeypatch):
    from actions.session import session_slots

    monkeypatch.setenv("STACKWISE_SECRET_KEY", ENV["STACKWISE_SECRET_KEY"])
    domain = {
        "session_config": {"carry_over_slots_to_new_session": True},
        "slots": {"tenant": {}, "student_id": {}, "goal": {}},
    }
    blob = tenants.sign_metadata(
        "sess-123456", tenant_id="demo-cc", student=tenants.StudentClaims("s-9")
    )
    events = session_slots(_tracker("sess-123456", {"stackwise": blob}, {"goal": "nurse"}), domain)
    got = {e["name"]: e["value"] for e in events}
    assert got == {"goal": "nurse", "tenant": "demo-cc", "student_id": "s-9"}
    # the same blob in another conversation, a forged or a plain client claim: ignored
    for sender, meta in (
        ("sess-other", {"stackwise": blob}),
        ("sess-123456", {"stackwise": blob[:-2] + "xx"}),
        ("sess-123456", {"tenant": "demo-cc", "student_id": "s-9"}),
        ("sess-123456", None),
    ):
        events = session_slots(_tracker(sender, meta), domain)
        assert not {e["name"] for e in events} & {"tenant", "student_id"}
