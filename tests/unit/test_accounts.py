"""Console accounts: argon2 hashes, roles, sessions, visibility; CSV export escaping."""

from __future__ import annotations

import datetime as dt

import pytest

from knowledge import accounts
from knowledge.db import make_engine


@pytest.fixture()
def engine(tmp_path):
    e = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    yield e
    e.dispose()


def test_add_and_authenticate(engine):
    user = accounts.add_user(engine, "Ada@Example.edu", "correct horse battery", "adviser", "ecc")
    assert user.email == "ada@example.edu" and user.role == "adviser"
    from sqlalchemy.orm import Session

    with Session(engine, future=True) as s:
        row = s.get(accounts.UserRow, user.id)
        assert row.password_hash.startswith("$argon2id$")
        assert "correct horse" not in row.password_hash
    assert accounts.authenticate(engine, "ada@example.edu", "correct horse battery") == user
    assert accounts.authenticate(engine, "ADA@example.edu ", "correct horse battery") == user
    assert accounts.authenticate(engine, "ada@example.edu", "wrong password!!") is None
    assert accounts.authenticate(engine, "nobody@example.edu", "correct horse battery") is None
    assert accounts.authenticate(engine, "not-an-email", "x") is None


@pytest.mark.parametrize(
    "email, password, role, institution, message",
    [
        ("a@b.edu", "short", "adviser", "ecc", "at least"),
        ("a@b.edu", "long enough pw", "boss", "ecc", "role"),
        ("a@b.edu", "long enough pw", "adviser", None, "institution"),
        ("not an email", "long enough pw", "admin", None, "e-mail"),
    ],
)
def test_add_user_validation(engine, email, password, role, institution, message):
    with pytest.raises(accounts.AccountError, match=message):
        accounts.add_user(engine, email, password, role, institution)


def test_duplicate_and_replace(engine):
    accounts.add_user(engine, "a@b.edu", "first password", "admin")
    with pytest.raises(accounts.AccountError, match="already exists"):
        accounts.add_user(engine, "a@b.edu", "second password", "admin")
    user = accounts.authenticate(engine, "a@b.edu", "first password")
    token, _ = accounts.create_session(engine, user)
    accounts.add_user(engine, "a@b.edu", "second password", "admin", replace=True)
    assert accounts.get_session(engine, token) is None  # a reset ends sessions
    assert accounts.authenticate(engine, "a@b.edu", "second password") is not None
    assert [u.email for u in accounts.list_users(engine)] == ["a@b.edu"]


def test_sessions(engine):
    user = accounts.add_user(engine, "a@b.edu", "long enough pw", "adviser", "ecc")
    token, csrf = accounts.create_session(engine, user)
    sess = accounts.get_session(engine, token)
    assert sess is not None and sess.user == user and sess.csrf_token == csrf
    assert accounts.get_session(engine, token + "x") is None
    assert accounts.get_session(engine, None) is None
    accounts.end_session(engine, token)
    assert accounts.get_session(engine, token) is None
    old, _ = accounts.create_session(engine, user, ttl=dt.timedelta(seconds=-1))
    assert accounts.get_session(engine, old) is None


def test_visibility():
    adviser = accounts.User("1", "a@b.edu", "adviser", "ecc")
    admin = accounts.User("2", "c@d.edu", "admin", None)
    assert adviser.can_see("ecc") and not adviser.can_see("wgu") and not adviser.can_see(None)
    assert admin.can_see("ecc") and admin.can_see(None)
    assert not accounts.User("3", "e@f.edu", "adviser", None).can_see(None)


def test_csv_export_escapes_formulas():
    from bot.web.console import csv_cell, to_csv

    assert csv_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    for risky in ("+1", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(risky).startswith("'")
    assert csv_cell("plain") == "plain" and csv_cell(None) == ""
    out = to_csv(
        [
            {
                "id": "r1",
                "goal": "=cmd|' /C calc'!A0",
                "skills": [{"label": "@Excel", "role": "has"}],
                "constraints": {"budget": "-300"},
                "recommendations": [{"id": "c1", "name": "+Cert", "reason": "fits"}],
                "notes": "<script>",
            }
        ]
    )
    assert "\"'=cmd|' /C calc'!A0\"" in out
    assert '"\'@Excel (has)"' in out
    assert '"budget=-300"' in out  # not at the start of the cell
    assert '"\'+Cert (fits)"' in out


def test_transcript_from_tracker():
    from bot.web.console import transcript_from_tracker

    lines = transcript_from_tracker(
        {
            "events": [
                {"event": "user", "text": "hi"},
                {"event": "action", "name": "x"},
                {
                    "event": "bot",
                    "text": "Here",
                    "data": {
                        "buttons": [{"title": "More", "payload": "/ask_more"}],
                        "custom": {"type": "credential_cards", "cards": [{"name": "A+"}]},
                    },
                },
            ]
        }
    )
    assert [x["who"] for x in lines] == ["Learner", "Stackwise"]
    assert lines[1]["cards"] == ["A+"] and lines[1]["buttons"] == ["More"]
