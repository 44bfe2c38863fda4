"""Input checks, rate limits and client addresses (bot/web/guard.py), and the security settings."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bot.web.guard import (
    MAX_BODY,
    Guard,
    RateLimiter,
    Refused,
    check_metadata,
    check_sender,
    check_text,
    parse_json_object,
    printable,
)
from knowledge.config import Security, get_settings

HYPO = hsettings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def refused(fn, *args, **kwargs) -> Refused:
    with pytest.raises(Refused) as info:
        fn(*args, **kwargs)
    return info.value


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"", 400, "valid JSON"),
        (b"{not json", 400, "valid JSON"),
        (b"\xff\xfe", 400, "valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'"text"', 400, "JSON object"),
        (b"null", 400, "JSON object"),
        (b"[" * 100_000, 413, "larger than"),
        (b"{" + b" " * MAX_BODY + b"}", 413, "larger than"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_refused_clearly(body, status, needle):
    exc = refused(parse_json_object, body)
    assert exc.status == status and needle in exc.message
    assert exc.body() == {"error": exc.message}


def test_deeply_nested_json_is_a_400_not_a_crash():
    exc = refused(parse_json_object, b"[" * 30_000 + b"]" * 30_000)
    assert exc.status == 400 and "nested too deeply" in exc.message


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        (None, "non-empty string"),
        (42, "non-empty string"),
        (["hi"], "non-empty string"),
        ({"text": "hi"}, "non-empty string"),
        ("", "non-empty string"),
        (" \n\t ", "non-empty string"),
        ("x" * 2001, "too long (2001 characters; the limit is 2000)"),
        ("hello\x00world", "control character (U+0000)"),
        ("bell \x07", "control character (U+0007)"),
        ("esc \x1b[31mred", "control character (U+001B)"),
        ("del \x7f", "control character (U+007F)"),
        ("c1 \x85 in the middle", "control character (U+0085)"),
        ("lone \ud800 surrogate", "not valid Unicode"),
    ],
)
def test_bad_messages_are_refused_with_the_reason(value, needle):
    exc = refused(check_text, value, 2000)
    assert exc.status == 400 and needle in exc.message


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "'; DROP TABLE users; --",
        "1 OR 1=1",
        "Hola, quiero ser analista de datos",
        "我想成为数据分析师",
        "أريد أن أصبح محلل بيانات",
        "🙂👩🏽‍💻🏳️‍🌈",
        "e\u0301 combining, zero\u200bwidth, rtl \u202eoverride",
        "two\nlines\tand a tab",
        "x" * 2000,
    ],
)
def test_hostile_and_foreign_text_is_just_text(text):
    assert check_text(text, 2000) == text


@HYPO
@given(st.text(max_size=300))
def test_any_text_is_either_accepted_as_storable_text_or_refused_with_400(text):
    try:
        out = check_text(text, 200)
    except Refused as exc:
        assert exc.status == 400 and exc.message
        return
    assert out == text.strip() and 0 < len(out) <= 200
    out.encode("utf-8")  # storable: no lone surrogates
    assert json.loads(json.dumps(out)) == out
    assert not any(ord(c) < 32 and c not in "\t\n\r" for c in out)


@pytest.mark.parametrize("sender", ["a", "web-0123", "st-abc", "x" * 64, "a.b:c_d-e"])
def test_good_senders(sender):
    assert check_sender(sender) == sender


@pytest.mark.parametrize(
    "sender", [None, "", 5, "x" * 65, "<script>", "a b", "../etc", "é", "a\x00", ["a"]]
)
def test_bad_senders(sender):
    assert "'sender' must be" in refused(check_sender, sender).message


def test_metadata_must_be_an_object():
    assert check_metadata(None) is None
    assert check_metadata({"a": 1}) == {"a": 1}
    assert refused(check_metadata, "x").status == 400


def test_printable_escapes_controls_for_logs():
    assert printable("a\x1b[2Jb\u202e") == "a\\u001b[2Jb\\u202e"
    assert printable("x" * 100, 10) == "x" * 10 + "…"


def test_token_bucket_allows_bursts_then_refills():
    rl = RateLimiter(per_min=6)  # 6 at once, then one every 10 s
    assert [rl.hit("k", now=100.0) for _ in range(6)] == [None] * 6
    wait = rl.hit("k", now=100.0)
    assert wait == pytest.approx(10.0)
    assert rl.hit("other", now=100.0) is None  # keys are independent
    assert rl.hit("k", now=105.0) == pytest.approx(5.0)
    assert rl.hit("k", now=110.0) is None
    assert rl.hit("k", now=110.0) is not None


def test_token_bucket_off_and_bounded():
    assert RateLimiter(0).hit("k") is None
    rl = RateLimiter(per_min=1, max_keys=3)
    for i in range(10):
        rl.hit(f"k{i}", now=0.0)
    assert len(rl._buckets) == 3


def guard(**kw) -> Guard:
    return Guard(Security(**kw))


def test_client_ip_uses_forwarded_for_only_from_trusted_proxies():
    g = guard()
    assert g.client_ip("203.0.113.9") == "203.0.113.9"
    # An untrusted peer cannot claim another address.
    assert g.client_ip("203.0.113.9", "198.51.100.1") == "203.0.113.9"
    # A trusted proxy (loopback by default) passes the client on; client-supplied entries to
    # the left of what the proxy appended are ignored.
    assert g.client_ip("127.0.0.1", "198.51.100.1") == "198.51.100.1"
    assert g.client_ip("127.0.0.1", "6.6.6.6, 198.51.100.1") == "198.51.100.1"
    assert g.client_ip("127.0.0.1", "198.51.100.1, 127.0.0.1") == "198.51.100.1"
    assert g.client_ip("::ffff:127.0.0.1", "2001:db8::1") == "2001:db8::1"
    assert g.client_ip("127.0.0.1", "garbage") == "127.0.0.1"
    assert g.client_ip("127.0.0.1", "") == "127.0.0.1"
    g = guard(trusted_proxies=("10.0.0.0/8",))
    assert g.client_ip("127.0.0.1", "198.51.100.1") == "127.0.0.1"
    assert g.client_ip("10.1.2.3", "198.51.100.1") == "198.51.100.1"


def test_ip_and_session_limits_and_loopback_exemption():
    g = guard(ip_per_min=3, session_per_min=2)
    for _ in range(50):
        g.check_ip("127.0.0.1")
        g.check_session("::1", "bench-1")
    g.check_ip("198.51.100.7")
    g.check_ip("198.51.100.7")
    g.check_ip("198.51.100.7")
    exc = refused(g.check_ip, "198.51.100.7")
    assert exc.status == 429 and "too many requests" in exc.message
    assert exc.headers()["Retry-After"] == "20" and exc.body()["retry_after_s"] == 20
    g.check_session("198.51.100.8", "s1")
    g.check_session("198.51.100.9", "s1")  # the conversation counts, whatever the address
    exc = refused(g.check_session, "198.51.100.10", "s1")
    assert exc.status == 429 and "faster than the advisor can answer" in exc.message
    g = guard(ip_per_min=1, exempt=())
    g.check_ip("127.0.0.1")
    assert refused(g.check_ip, "127.0.0.1").status == 429


def test_login_limits_apply_to_loopback_too():
    g = guard(login_per_min=2, login_ip_per_min=100)
    g.check_login("127.0.0.1", "a@x.edu")
    g.check_login("127.0.0.1", "A@X.edu ")
    exc = refused(g.check_login, "127.0.0.1", "a@x.edu")
    assert exc.status == 429 and "log-in attempts" in exc.message
    g.check_login("127.0.0.1", "b@x.edu")
    g = guard(login_per_min=100, login_ip_per_min=1)
    g.check_login("198.51.100.1", "a@x.edu")
    assert refused(g.check_login, "198.51.100.1", "b@x.edu").status == 429


@pytest.fixture()
def fresh_settings(monkeypatch):
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_security_settings_from_env(fresh_settings):
    env = {
        "STACKWISE_RASA_HOST": "0.0.0.0",
        "STACKWISE_RASA_TOKEN": "t0ken",
        "STACKWISE_RATE_LIMIT_IP_PER_MIN": "0",
        "STACKWISE_RATE_LIMIT_SESSION_PER_MIN": "12.5",
        "STACKWISE_RATE_LIMIT_EXEMPT": "",
        "STACKWISE_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1",
        "STACKWISE_PUBLIC_SOCKET_URL": "https://chat.college.edu/",
        "STACKWISE_WIDGET_SOCKETS": "0",
    }
    for k, v in env.items():
        fresh_settings.setenv(k, v)
    s = get_settings()
    sec = s.security
    assert sec.rasa_host == "0.0.0.0" and sec.rasa_token == "t0ken"
    assert "t0ken" not in repr(s)  # a secret is never printed with the settings
    assert sec.ip_per_min == 0 and sec.session_per_min == 12.5
    assert sec.exempt == () and sec.trusted_proxies == ("10.0.0.0/8", "192.168.1.1")
    assert s.public_socket_url == "https://chat.college.edu" and s.widget_sockets is False


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("STACKWISE_TRUSTED_PROXIES", "localhost", "not an IP address"),
        ("STACKWISE_RATE_LIMIT_EXEMPT", "10.0.0.0/33", "not an IP address"),
        ("STACKWISE_RATE_LIMIT_IP_PER_MIN", "-1", ">= 0"),
        ("STACKWISE_RATE_LIMIT_LOGIN_PER_MIN", "lots", "must be a number"),
        ("STACKWISE_WIDGET_SOCKETS", "maybe", "1/0"),
    ],
)
def test_bad_security_settings_are_named(fresh_settings, name, value, needle):
    fresh_settings.setenv(name, value)
    with pytest.raises(ValueError, match=needle):
        get_settings()
