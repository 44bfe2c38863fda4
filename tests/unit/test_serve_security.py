"""`stackwise serve` and Rasa's HTTP API: a non-loopback Rasa needs a token (and gets it without
a command line showing it); the checking channels replace Rasa's own."""

from __future__ import annotations

import dataclasses
import sys

import pytest
import yaml

from bot.supervisor import (
    REST_CHANNEL,
    SOCKET_CHANNEL,
    InsecureConfig,
    Ports,
    Stack,
    check_rasa_exposure,
    is_loopback,
    rasa_local_url,
    runtime_credentials,
)
from knowledge.config import REPO_ROOT, Security


def with_security(settings, **kw):
    return dataclasses.replace(settings, security=Security(**kw))


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_needs_no_token(settings, host):
    assert is_loopback(host)
    check_rasa_exposure(with_security(settings, rasa_host=host))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "rasa.internal"])
def test_anything_else_needs_a_token(settings, host):
    with pytest.raises(InsecureConfig, match="set STACKWISE_RASA_TOKEN"):
        check_rasa_exposure(with_security(settings, rasa_host=host))
    check_rasa_exposure(with_security(settings, rasa_host=host, rasa_token="x" * 32))


def test_serve_refuses_to_start_an_exposed_rasa_without_token(settings, tmp_path):
    stack = Stack(with_security(settings, rasa_host="0.0.0.0"), Ports(1, 2, 3), tmp_path / "logs")
    with pytest.raises(InsecureConfig, match="STACKWISE_RASA_HOST=0.0.0.0"):
        stack.start()
    assert stack.procs == {}


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:5005"),
        ("0.0.0.0", "http://127.0.0.1:5005"),
        ("::", "http://127.0.0.1:5005"),
        ("10.0.0.5", "http://10.0.0.5:5005"),
        ("fd00::5", "http://[fd00::5]:5005"),
    ],
)
def test_other_processes_reach_rasa_where_it_listens(settings, host, url):
    assert rasa_local_url(with_security(settings, rasa_host=host), 5005) == url


def test_runtime_credentials_use_the_checking_channels(tmp_path):
    out = runtime_credentials(REPO_ROOT / "credentials.yml", tmp_path / "credentials.yml")
    creds = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert "rest" not in creds and "socketio" not in creds
    assert REST_CHANNEL in creds and SOCKET_CHANNEL in creds
    assert creds[SOCKET_CHANNEL]["session_persistence"] is True


def test_rasa_run_adds_the_token_from_the_environment(monkeypatch):
    import rasa.__main__

    from bot import rasa_run

    seen: list[list[str]] = []
    monkeypatch.setattr(rasa.__main__, "main", lambda: seen.append(list(sys.argv)))
    monkeypatch.setattr(sys, "argv", ["bot.rasa_run", "run", "--enable-api"])
    monkeypatch.setattr(
        rasa_run, "get_settings", lambda: type("S", (), {"security": Security(rasa_token="tok")})
    )
    assert rasa_run.main() == 0
    assert seen == [["rasa", "run", "--enable-api", "--auth-token", "tok"]]
    monkeypatch.setattr(rasa_run, "get_settings", lambda: type("S", (), {"security": Security()}))
    monkeypatch.setattr(sys, "argv", ["bot.rasa_run", "run"])
    rasa_run.main()
    assert seen[-1] == ["rasa", "run"]


def test_rasa_is_started_through_rasa_run():
    """The token must never be on a command line: serve starts `python -m bot.rasa_run`."""
    source = (REPO_ROOT / "bot" / "supervisor.py").read_text(encoding="utf-8")
    assert '"bot.rasa_run"' in source and '"--auth-token"' not in source
