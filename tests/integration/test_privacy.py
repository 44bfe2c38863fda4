"""Privacy against the running stack and the real `stackwise` command (issue 8): a learner
deletes their data in the chat, an admin deletes by session or student id and purges expired
data, and nothing a learner types reaches a log file.

The stack (tests/integration/conftest.py) runs with the tracker store `stackwise serve`
configures: SQLite at `<var>/tracker.db`, Rasa's `events` table."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, select

from knowledge import tenants
from knowledge.db import make_engine
from knowledge.intake import IntakeRecord, list_intakes, save_intake
from knowledge.privacy import EVENTS
from tests.integration.chat import Chat
from tests.privacy_stores import postgres_database

pytestmark = pytest.mark.integration
STACKWISE = str(Path(sys.executable).with_name("stackwise"))


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [STACKWISE, "privacy", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def secret() -> tuple[str, str]:
    """A made-up name and email no log line could hold by chance."""
    tag = uuid.uuid4().hex[:8]
    return f"Quenby Zorblax{tag}", f"zq.{tag}@example.org"


@pytest.fixture
def chat(stack) -> Chat:
    return Chat(f"http://127.0.0.1:{stack.ports.rasa}")


@pytest.fixture
def tracker_engine(stack, settings):
    engine = make_engine(settings.tracker_store_url)
    yield engine
    engine.dispose()


def events_of(engine, sender: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(EVENTS.c.data).where(EVENTS.c.sender_id == sender).order_by(EVENTS.c.id)
        ).scalars()
        return [json.loads(r) for r in rows]


def user_texts(tracker: dict) -> list[str]:
    return [e.get("text") for e in tracker.get("events", []) if e.get("event") == "user"]


def personal_conversation(chat: Chat) -> tuple[str, str]:
    name, email = secret()
    chat.say("hi")
    chat.say(f"my name is {name}, email me at {email}. I know Excel and some SQL")
    chat.say("I want to become a data analyst")
    # Answer first: the goal's recommendations file a "completed_intake" record; the hand-off
    # files a "requested" one. Deletion must remove all of them.
    chat.say("talk to an adviser")
    return name, email


def test_learner_deletes_their_data_after_confirming(chat, stack, settings, tracker_engine):
    name, email = personal_conversation(chat)
    stored = json.dumps(events_of(tracker_engine, chat.sender))
    assert email in stored, "the conversation is in the SQL tracker store"
    saved = len(list_intakes(make_engine(settings.app_database_url), sender_id=chat.sender))
    assert saved >= 1

    ask = chat.say("please delete my data")
    assert "can't be undone" in ask, chat.dump()
    buttons = [b["payload"] for m in chat.last for b in m.get("buttons", [])]
    assert buttons == ["/affirm", "/deny"], chat.dump()
    assert events_of(tracker_engine, chat.sender), "nothing is deleted before the yes"

    done = chat.say("/affirm")
    records = f"the {saved} record{'s' if saved != 1 else ''} I saved"
    assert "deleted this conversation" in done and records in done, chat.dump()

    assert events_of(tracker_engine, chat.sender) == []
    assert list_intakes(make_engine(settings.app_database_url), sender_id=chat.sender) == []
    fresh = chat.tracker()
    assert user_texts(fresh) == [] and fresh["slots"].get("goal") is None
    # Talking again starts from scratch.
    chat.say("hi")
    stored = json.dumps(events_of(tracker_engine, chat.sender))
    assert email not in stored and name not in stored and "data analyst" not in stored


def test_learner_can_change_their_mind(chat, tracker_engine):
    chat.say("hi")
    chat.say("I know Python and want to be a web developer")
    chat.say("forget everything I told you")
    kept = chat.say("no")
    assert "nothing was deleted" in kept, chat.dump()
    assert any(e.get("text") == "forget everything I told you" for e in chat.tracker()["events"])
    assert "web developer" in json.dumps(events_of(tracker_engine, chat.sender))


def test_admin_deletes_a_session(chat, stack, settings, tracker_engine):
    _, email = personal_conversation(chat)
    assert events_of(tracker_engine, chat.sender)
    saved = len(list_intakes(make_engine(settings.app_database_url), sender_id=chat.sender))
    assert saved >= 1

    out = cli("delete", "--session", chat.sender, "--json")

    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["conversations"] == 1 and report["intake_records"] == saved
    assert report["tracker_events"] > 5
    assert events_of(tracker_engine, chat.sender) == []
    assert list_intakes(make_engine(settings.app_database_url), sender_id=chat.sender) == []
    assert user_texts(chat.tracker()) == []


def test_no_personal_data_in_logs(stack, settings):
    """Chat through Rasa and through the web app (chat proxy, search with ?q=), then read every
    log file: neither what the learner typed nor their conversation id is there."""
    name, email = secret()
    rasa_chat = Chat(f"http://127.0.0.1:{stack.ports.rasa}")
    personal_conversation(rasa_chat)
    rasa_chat.say(f"I'm {name}, can you delete my data")
    rasa_chat.tracker()  # the conversation id in a URL of Rasa's HTTP API
    web = f"http://127.0.0.1:{stack.ports.web}"
    web_sender = f"web-{uuid.uuid4().hex[:12]}"
    for text in ("hi", f"I am {name} ({email}) and I know Excel", "I want to be a nurse"):
        r = httpx.post(
            f"{web}/api/chat",
            json={
                "sender": web_sender,
                "message": text,
                "session_secret": tenants.session_secret(web_sender),
            },
            timeout=60,
        )
        assert r.status_code == 200, r.text
    r = httpx.get(f"{web}/api/credentials/search", params={"q": f"{email} {name}"}, timeout=60)
    assert r.status_code in (200, 400), r.text
    httpx.get(f"{web}/no-such-page", params={"q": email}, timeout=30)

    logs = sorted(settings.var_dir.joinpath("logs").glob("*.log"))
    names = {p.name for p in logs}
    assert {"actions.log", "web.log", "proxy.log"} <= names
    assert any(n.startswith("rasa") for n in names)  # rasa.log, or rasa-1.log, rasa-2.log, ...
    for path in logs:
        text = path.read_text(errors="replace")
        for needle in (name, email, email.split("@")[0], rasa_chat.sender, web_sender):
            assert needle not in text, f"{needle!r} is in {path.name}"


# -- the admin command on its own stores -------------------------------------------------------


def seed_conversation(engine, sender: str, at: float, *slots: tuple[str, str]) -> None:
    """Events as Rasa's SQLTrackerStore stores them (type, timestamp, JSON data)."""
    rows = [
        {"event": "action", "name": "action_session_start", "timestamp": at},
        {"event": "session_started", "timestamp": at},
        {"event": "user", "text": "my email is someone@example.org", "timestamp": at + 1},
        *({"event": "slot", "name": n, "value": v, "timestamp": at + 1} for n, v in slots),
        {"event": "action", "name": "action_listen", "timestamp": at + 2},
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(EVENTS),
            [
                {
                    "sender_id": sender,
                    "type_name": r["event"],
                    "timestamp": r["timestamp"],
                    "action_name": r.get("name") if r["event"] == "action" else None,
                    "data": json.dumps(r),
                }
                for r in rows
            ],
        )


def count(engine, sender: str) -> int:
    with engine.connect() as conn:
        stmt = select(func.count()).select_from(EVENTS).where(EVENTS.c.sender_id == sender)
        return conn.execute(stmt).scalar_one()


def test_cli_purge_deletes_what_is_past_the_retention_period(tmp_path):
    env = {
        "STACKWISE_VAR_DIR": str(tmp_path),
        "STACKWISE_TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        "STACKWISE_APP_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "STACKWISE_RETENTION_DAYS": "30",
    }
    tracker = make_engine(env["STACKWISE_TRACKER_STORE_URL"])
    app = make_engine(env["STACKWISE_APP_DATABASE_URL"])
    EVENTS.metadata.create_all(tracker)
    now = dt.datetime.now(dt.timezone.utc)
    seed_conversation(tracker, "old", (now - dt.timedelta(days=40)).timestamp())
    seed_conversation(tracker, "new", (now - dt.timedelta(days=2)).timestamp())
    save_intake(
        app,
        IntakeRecord(
            sender_id="old",
            reason="requested",
            created_at=(now - dt.timedelta(days=40)).replace(tzinfo=None),
        ),
    )
    save_intake(app, IntakeRecord(sender_id="new", reason="requested"))
    (tmp_path / "logs").mkdir()
    old_day = (now - dt.timedelta(days=40)).date().isoformat()
    (tmp_path / "logs" / "rasa.log").write_text(
        f"{old_day} 10:00:00 INFO x - old\n{now.date().isoformat()} 10:00:00 INFO x - today\n"
    )
    try:
        off = cli("purge", **{**env, "STACKWISE_RETENTION_DAYS": "0"})
        assert off.returncode == 0 and "retention is off" in off.stdout
        assert count(tracker, "old") == 4

        out = cli("purge", "--json", **env)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == {
            "older_than_days": 30,
            "conversations": 1,
            "tracker_events": 4,
            "intake_records": 1,
            "log_lines": 1,
        }
        assert (count(tracker, "old"), count(tracker, "new")) == (0, 4)
        assert [r.sender_id for r in list_intakes(app)] == ["new"]
        assert "old" not in (tmp_path / "logs" / "rasa.log").read_text()

        everything = cli("purge", "--older-than-days", "0", **env)
        assert everything.returncode == 0 and "0 days" in everything.stdout, everything.stdout
        assert count(tracker, "new") == 0
    finally:
        tracker.dispose()
        app.dispose()


def test_cli_deletes_a_student_on_postgresql(tmp_path):
    """Scale-out configuration: the tracker store on PostgreSQL."""
    with postgres_database() as url:
        env = {
            "STACKWISE_VAR_DIR": str(tmp_path),
            "STACKWISE_TRACKER_STORE_URL": url,
            "STACKWISE_APP_DATABASE_URL": url,
        }
        tracker = make_engine(url)
        EVENTS.metadata.create_all(tracker)
        now = dt.datetime.now(dt.timezone.utc).timestamp()
        seed_conversation(tracker, "st-1", now, ("tenant", "college-a"), ("student_id", "S-1"))
        seed_conversation(tracker, "st-2", now, ("tenant", "college-a"), ("student_id", "S-2"))
        save_intake(
            tracker,
            IntakeRecord(
                sender_id="st-1", reason="requested", student_id="S-1", institution_id="college-a"
            ),
        )
        try:
            bad = cli("delete", "--session", "st-1", "--institution", "college-a", **env)
            assert bad.returncode == 2 and "--institution goes with --student" in bad.stderr

            out = cli("delete", "--student", "S-1", "--institution", "college-a", **env)
            assert out.returncode == 0, out.stderr
            assert "1 conversation(s), 6 tracker event(s), 1 intake record(s)" in out.stdout
            assert (count(tracker, "st-1"), count(tracker, "st-2")) == (0, 6)
            assert list_intakes(tracker) == []
        finally:
            tracker.dispose()
