"""LTI pieces without a server: platform configuration, the one-time store, the tool's key,
roles, the signed student id, and the catalog loader's check of an institution's lti block."""

from __future__ import annotations

import time

import jwt
import pytest

from bot.web import lti
from knowledge import lti_config, tenants
from knowledge.db import make_engine
from knowledge.loaders.catalog import parse_institution_document
from knowledge.lti_store import LtiStore

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
CANVAS = {
    "issuer": "https://canvas.instructure.com",
    "client_id": 10000000000042,
    "auth_login_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
    "auth_token_url": "https://sso.canvaslms.com/login/oauth2/token",
    "key_set_url": "https://sso.canvaslms.com/api/lti/security/jwks",
    "deployment_ids": ["7:abc"],
    "frame_origins": ["https://college.instructure.com/"],
}


def test_parse_platform():
    (p,) = lti_config.parse_platforms("demo-cc", {"platforms": [CANVAS]}, "test")
    assert p.client_id == "10000000000042"  # YAML reads Canvas ids as numbers
    assert p.deployment_ids == ("7:abc",)
    assert p.frame_origins == ("https://college.instructure.com",)
    assert lti_config.parse_platforms("demo-cc", None, "test") == []


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"issuer": None}, "issuer: required"),
        ({"key_set_url": "http://lms.college.edu/jwks"}, "must be an https:// URL"),
        ({"deployment_ids": []}, "deployment_ids: required"),
        ({"deployment_ids": [""]}, "deployment_ids #1: required"),
        ({"client_id": "x" * 300}, "client_id: required"),
        ({"frame_origins": ["college.edu"]}, "not an origin"),
        ({"jwks": "https://x.edu"}, "unknown key(s) ['jwks']"),
    ],
)
def test_parse_platform_rejects(change, needle):
    with pytest.raises(lti_config.LtiConfigError) as info:
        lti_config.parse_platforms("demo-cc", {"platforms": [{**CANVAS, **change}]}, "test")
    assert needle in str(info.value)


def test_loopback_http_is_allowed_for_a_local_platform():
    local = {**CANVAS, "key_set_url": "http://127.0.0.1:9001/jwks"}
    (p,) = lti_config.parse_platforms("demo-cc", {"platforms": [local]}, "test")
    assert p.key_set_url == "http://127.0.0.1:9001/jwks"


def test_registry_shares_a_key_between_tenants_by_deployment():
    a = lti_config.parse_platforms("college-a", {"platforms": [CANVAS]}, "a")
    b = lti_config.parse_platforms(
        "college-b", {"platforms": [{**CANVAS, "deployment_ids": ["9:def"]}]}, "b"
    )
    reg = lti_config.build_registry(a + b)
    iss, cid = CANVAS["issuer"], "10000000000042"
    assert reg.tenant_for(iss, cid, "7:abc") == "college-a"
    assert reg.tenant_for(iss, cid, "9:def") == "college-b"
    assert reg.tenant_for(iss, cid, "1:zzz") is None
    assert reg.tenant_for(iss, "other-client", "7:abc") is None
    assert reg.find(iss, None) is not None  # one client for the issuer: login without client_id
    other = lti_config.parse_platforms(
        "college-c", {"platforms": [{**CANVAS, "client_id": "2", "deployment_ids": ["x"]}]}, "c"
    )
    assert lti_config.build_registry(a + other).find(iss, None) is None  # ambiguous


def test_registry_conflicts():
    a = lti_config.parse_platforms("college-a", {"platforms": [CANVAS]}, "a")
    same_deployment = lti_config.parse_platforms("college-b", {"platforms": [CANVAS]}, "b")
    with pytest.raises(lti_config.LtiConfigError, match="given to both"):
        lti_config.build_registry(a + same_deployment)
    other_jwks = lti_config.parse_platforms(
        "college-b",
        {"platforms": [{**CANVAS, "deployment_ids": ["9"], "key_set_url": "https://x.edu/k"}]},
        "b",
    )
    with pytest.raises(lti_config.LtiConfigError, match="two different key_set_url"):
        lti_config.build_registry(a + other_jwks)


def test_deployment_file_and_catalog(tmp_path):
    inst = tmp_path / "institutions"
    inst.mkdir()
    (inst / "demo.yaml").write_text(
        "institution:\n  id: demo-cc\n  name: Demo\n  lti:\n    platforms:\n"
        "    - issuer: https://moodle.demo.edu\n      client_id: abc\n"
        "      auth_login_url: https://moodle.demo.edu/mod/lti/auth.php\n"
        "      auth_token_url: https://moodle.demo.edu/mod/lti/token.php\n"
        "      key_set_url: https://moodle.demo.edu/mod/lti/certs.php\n"
        "      deployment_ids: ['3']\n"
    )
    (tmp_path / "lti.yaml").write_text(
        "tenants:\n  other-cc:\n    platforms:\n"
        + "".join(
            f"    {'- ' if i == 0 else '  '}{k}: {v!r}\n"
            for i, (k, v) in enumerate({**CANVAS, "client_id": "42"}.items())
        )
    )
    reg = lti_config.load_registry(tmp_path, {lti_config.CONFIG_ENV: str(tmp_path / "lti.yaml")})
    assert reg.tenant_for("https://moodle.demo.edu", "abc", "3") == "demo-cc"
    assert reg.tenant_for(CANVAS["issuer"], "42", "7:abc") == "other-cc"
    (tmp_path / "bad.yaml").write_text("tenants: [1]\n")
    with pytest.raises(lti_config.LtiConfigError, match="must be a mapping"):
        lti_config.load_registry(tmp_path, {lti_config.CONFIG_ENV: str(tmp_path / "bad.yaml")})


def test_catalog_loader_checks_the_lti_block():
    doc = {"institution": {"id": "demo-cc", "name": "Demo", "lti": {"platforms": [CANVAS]}}}
    problems: list[str] = []
    catalog = parse_institution_document("demo.yaml", doc, problems)
    assert problems == [] and catalog.institutions[0].id == "demo-cc"
    doc["institution"]["lti"] = {"platforms": [{**CANVAS, "deployment_ids": None}]}
    parse_institution_document("demo.yaml", doc, problems)
    assert problems and "demo.yaml, institution, lti, platform #1, deployment_ids" in problems[0]


def test_store_take_is_once_only_and_values_expire(tmp_path):
    store = LtiStore(make_engine(f"sqlite:///{tmp_path / 'app.db'}"))
    store.set("nonce-1", True, ttl=60)
    assert store.get("nonce-1") is True
    assert store.take("nonce-1") is True
    assert store.take("nonce-1") is False  # replay
    assert store.take("never-issued") is False
    store.set("short", {"a": 1}, ttl=1)
    time.sleep(1.1)
    assert store.get("short") is None and store.take("short") is False


def test_tool_key_from_pem_and_rejects():
    pem = lti_config.generate_private_pem()
    key = lti_config.tool_key_from_pem(pem)
    assert lti_config.tool_key_from_pem(pem).kid == key.kid  # stable across restarts
    jwk = key.jwk()
    assert jwk["kid"] == key.kid and jwk["alg"] == "RS256" and "d" not in jwk
    signed = jwt.encode({"x": 1}, key.private_pem, algorithm="RS256")
    assert jwt.decode(signed, jwt.PyJWK(jwk).key, algorithms=["RS256"]) == {"x": 1}
    with pytest.raises(lti_config.LtiConfigError, match="PEM"):
        lti_config.tool_key_from_pem("not a key")
    assert lti_config.tool_key({lti_config.PRIVATE_KEY_ENV: pem}).kid == key.kid


def _roles(*roles: str) -> dict:
    return {CLAIM + "roles": list(roles)}


@pytest.mark.parametrize(
    ("roles", "adviser"),
    [
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], False),
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"], True),
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator"], True),
        (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"], True),
        (["http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"], True),
        (["Instructor"], True),  # LTI 1.3 allows the short context role names
        (
            [
                "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty",
                "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
            ],
            False,
        ),
        ([], False),
    ],
)
def test_is_adviser(roles, adviser):
    assert lti.is_adviser(_roles(*roles)) is adviser


def test_sign_in_token_goes_through_the_portal_check():
    secret = "portal-secret-for-tests-0123456789abcdef"
    env = {tenants.portal_secret_env("demo-cc"): secret}
    claims = {"iss": "https://canvas.instructure.com", "sub": "a6d5-1", "name": "Ana"}
    token = lti.sign_in_token("demo-cc", claims, env=env)
    student = tenants.verify_portal_token(token, "demo-cc", env=env)
    assert student == tenants.StudentClaims("lti:canvas.instructure.com:a6d5-1", "Ana", None)
    with pytest.raises(tenants.InvalidToken):  # another tenant's audience
        tenants.verify_portal_token(
            token, "other-cc", env={**env, **{tenants.portal_secret_env("other-cc"): secret}}
        )
    old = lti.sign_in_token("demo-cc", claims, env=env, now=time.time() - lti.SIGN_IN_TTL - 60)
    with pytest.raises(tenants.InvalidToken, match="expired"):
        tenants.verify_portal_token(old, "demo-cc", env=env)
    with pytest.raises(lti.Refusal) as info:
        lti.sign_in_token("demo-cc", claims, env={})
    assert info.value.status == 503
