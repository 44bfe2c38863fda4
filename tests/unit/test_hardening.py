"""Issue 19's pure parts: the session rule, strict JSON, the channel's answer when Rasa says
nothing, and static files that are files."""

from __future__ import annotations

import asyncio
import os

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sanic.exceptions import NotFound

from bot.channels import NO_REPLY_TEXT, answering_failures
from bot.web.guard import Refused, check_session_proof, non_finite, strict_loads
from bot.web.hardening import static_file
from knowledge import tenants


def test_session_secret_is_bound_to_the_id_and_the_key(monkeypatch):
    monkeypatch.setenv("STACKWISE_SECRET_KEY", "k1")
    secret = tenants.session_secret("abcdef123456")
    assert tenants.verify_session_secret(secret, "abcdef123456")
    assert not tenants.verify_session_secret(secret, "abcdef123457")
    assert not tenants.verify_session_secret(None, "abcdef123456")
    assert not tenants.verify_session_secret("é" * 40, "abcdef123456")
    monkeypatch.setenv("STACKWISE_SECRET_KEY", "k2")
    assert not tenants.verify_session_secret(secret, "abcdef123456")


def test_one_session_rule(monkeypatch):
    monkeypatch.setenv("STACKWISE_SECRET_KEY", "k1")
    sid = "anon-session-1"
    with pytest.raises(Refused) as refused:
        check_session_proof(sid, metadata=None, secret=None)
    assert refused.value.status == 403 and "secret" in refused.value.message
    assert check_session_proof(sid, metadata=None, secret=tenants.session_secret(sid)) is None
    assert check_session_proof(sid, metadata=None, secret=None, exempt=True) is None
    # Signed-in: only the signed blob counts, for exempt clients too.
    student = tenants.student_session_id("demo-cc", "s-1")
    for exempt in (False, True):
        with pytest.raises(Refused):
            check_session_proof(
                student, metadata=None, secret=tenants.session_secret(student), exempt=exempt
            )
    blob = tenants.sign_metadata(student, tenant_id="demo-cc", student=tenants.StudentClaims("s-1"))
    claims = check_session_proof(student, metadata={tenants.METADATA_KEY: blob}, secret=None)
    assert claims["student_id"] == "s-1"


def test_stock_client_switch_is_per_tenant_origin_and_never_for_students(monkeypatch):
    monkeypatch.setenv("STACKWISE_SECRET_KEY", "k1")
    # Other tests (the browser suite's stock-client page) open origins for their own tenant.
    for name in [n for n in os.environ if n.endswith("_STOCK_CLIENT_ORIGINS")]:
        monkeypatch.delenv(name)
    origin = "https://College.example"
    with pytest.raises(Refused):
        check_session_proof("anon-session-2", metadata=None, secret=None, origin=origin)
    monkeypatch.setenv(
        "STACKWISE_TENANT_DEMO_CC_STOCK_CLIENT_ORIGINS", "https://college.example, not an origin"
    )
    assert tenants.stock_client_origins() == frozenset({"https://college.example"})
    assert check_session_proof("anon-session-2", metadata=None, secret=None, origin=origin) is None
    with pytest.raises(Refused):
        check_session_proof(
            "anon-session-2", metadata=None, secret=None, origin="https://x.example"
        )
    with pytest.raises(Refused):
        check_session_proof("st-" + "a" * 40, metadata=None, secret=None, origin=origin)


@pytest.mark.parametrize("text", ["NaN", '{"x": NaN}', "[Infinity]", '{"a": [-Infinity]}'])
def test_strict_json_refuses_non_finite_numbers(text):
    with pytest.raises(ValueError):
        strict_loads(text)


def test_non_finite_finds_nan_anywhere():
    assert non_finite({"a": [1, {"b": float("nan")}]})
    assert non_finite([float("inf")])
    assert not non_finite({"a": [1, 2.5, "NaN", None, True]})


def test_a_message_answered_with_nothing_gets_the_default_answer():
    async def silent(message: UserMessage) -> None:
        return None

    async def answers(message: UserMessage) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": "hello"})

    async def run(handler) -> list[dict]:
        out = CollectingOutputChannel()
        await answering_failures(handler)(UserMessage("I know Python", out, "s-1"))
        return out.messages

    assert [m["text"] for m in asyncio.run(run(silent))] == [NO_REPLY_TEXT]
    assert [m["text"] for m in asyncio.run(run(answers))] == ["hello"]


def test_static_files_are_files_under_the_root(tmp_path):
    (tmp_path / "a.css").write_text("x")
    (tmp_path / "sub").mkdir()
    outside = tmp_path.parent / f"{tmp_path.name}-secret.txt"
    outside.write_text("secret")
    assert asyncio.run(static_file(tmp_path, "a.css")).status == 200
    for name in (
        "",
        ".",
        "sub",
        "sub/",
        "../" + outside.name,
        "a.css\x00",
        "nope.css",
        "/etc/passwd",
    ):
        with pytest.raises(NotFound):
            asyncio.run(static_file(tmp_path, name))
