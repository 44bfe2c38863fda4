"""Adviser notifications: contacts, settings, signatures, the outbox (claims, holds, privacy), and
the hand-off conversation on tracker fixtures (tests/unit/test_actions.py style) over a small
knowledge DB with one college and a temporary operational DB."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

import actions.handoff as handoff
from knowledge import notifications as nt
from knowledge import schema
from knowledge.db import make_engine
from knowledge.intake import IntakeRecord, list_intakes
from knowledge.privacy import erase_conversations

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "trackers"
POLICY = nt.Policy(max_attempts=3, base_delay_s=10, max_delay_s=60, lease_s=30)

# --- contacts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jane.doe@gmail.com", nt.Contact("email", "jane.doe@gmail.com")),
        ("sure, it's Jane@Example.EDU.", nt.Contact("email", "Jane@example.edu")),
        ("(512) 555-0199", nt.Contact("phone", "+15125550199")),
        ("512.867.5309", nt.Contact("phone", "+15128675309")),
        ("+1 512 867 5309", nt.Contact("phone", "+15128675309")),
        ("5128675309", nt.Contact("phone", "+15128675309")),
        ("jane@localhost", None),  # no dot after the @
        ("jane at gmail dot com", None),
        ("867-5309", None),  # no area code
        ("123-456-7890", None),  # not a valid US number
        ("+44 20 7946 0958", None),  # not a US number
        ("I want to be a nurse", None),
    ],
)
def test_parse_contact(text, expected):
    assert nt.parse_contact(text) == expected


def test_declines_and_display():
    assert all(nt.is_decline(t) for t in ("no", "No thanks", "skip", "I'd rather not", "nope."))
    assert not nt.is_decline("no, call me at 512 555 0199")
    assert nt.Contact("phone", "+15125550199").display() == "(512) 555-0199"
    assert nt.Contact.from_stored("phone:+15125550199") == nt.Contact("phone", "+15125550199")
    assert nt.Contact.from_stored("declined") is None


# --- settings ---------------------------------------------------------------------------------


def test_smtp_urls():
    s = nt.SmtpSettings.from_url("smtp+starttls://ad%40college.edu:p%3Ass@mail.college.edu:587")
    assert (s.host, s.port, s.security, s.username, s.password) == (
        "mail.college.edu",
        587,
        "starttls",
        "ad@college.edu",
        "p:ss",
    )
    assert "p:ss" not in repr(s)
    assert nt.SmtpSettings.from_url("smtps://u:p@mail.college.edu").port == 465
    assert nt.SmtpSettings.from_url("smtp://127.0.0.1:2525").security == "none"
    for bad in ("smtp://mail.college.edu:25", "http://mail.college.edu", "smtps://:x@"):
        with pytest.raises(nt.ConfigError) as err:
            nt.SmtpSettings.from_url(bad)
        assert "STACKWISE_SMTP_URL" in str(err.value)


def test_config_from_env_and_webhook():
    env = {
        "STACKWISE_SMTP_URL": "smtps://u:p@mail.college.edu",
        "STACKWISE_SMTP_FROM": "stackwise@college.edu",
        "STACKWISE_PUBLIC_URL": "https://advise.college.edu/",
        "STACKWISE_TENANT_DEMO_CC_WEBHOOK_URL": "https://crm.college.edu/hooks/stackwise",
        "STACKWISE_TENANT_DEMO_CC_WEBHOOK_SECRET": "s" * 32,
    }
    config = nt.NotifyConfig.from_env(env)
    assert config.console_url == "https://advise.college.edu/console"
    assert config.webhook("demo-cc") == ("https://crm.college.edu/hooks/stackwise", "s" * 32)
    assert config.webhook("other") is None
    with pytest.raises(nt.ConfigError, match="SMTP_FROM"):
        nt.NotifyConfig.from_env({"STACKWISE_SMTP_URL": env["STACKWISE_SMTP_URL"]})
    weak = dict(env, STACKWISE_TENANT_DEMO_CC_WEBHOOK_SECRET="short")
    with pytest.raises(nt.ConfigError, match="WEBHOOK_SECRET"):
        nt.NotifyConfig.from_env(weak).webhook("demo-cc")


def test_signature_is_hmac_sha256_of_the_body():
    body = nt.body_bytes({"b": 1, "a": "é"})
    want = hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert nt.signature("secret", body) == f"sha256={want}"
    assert body == '{"a":"é","b":1}'.encode()


def test_backoff_grows_with_jitter_and_is_capped():
    rng = random.Random(1)
    delays = [POLICY.delay(n, rng) for n in range(1, 7)]
    for n, d in enumerate(delays, start=1):
        ceiling = min(60, 10 * 2 ** (n - 1))
        assert ceiling / 2 <= d <= ceiling
    assert len({round(POLICY.delay(3, rng), 6) for _ in range(20)}) > 1  # jittered


# --- the outbox -------------------------------------------------------------------------------


@pytest.fixture()
def app_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    yield engine
    engine.dispose()


def _record(**kw) -> IntakeRecord:
    base = dict(
        sender_id="conv-1",
        reason="requested",
        skills=[{"label": "Excel", "skill_id": "microsoft-excel", "role": "has"}],
        goal="Data analyst",
        goal_code="15-2051.01",
        constraints={"budget": "300", "format": "online", "weekly_hours": None},
        recommendations=[{"id": "google-data-analytics", "name": "Google Data Analytics"}],
        institution_id="demo-cc",
    )
    return IntakeRecord(**(base | kw))


def test_save_handoff_writes_record_and_rows_in_one_transaction(app_engine):
    nt.ensure_schema(app_engine)
    record = _record()
    # A failing transaction (the same record id twice) leaves neither record nor rows.
    nt.save_handoff(app_engine, record, ["email"])
    with pytest.raises(Exception):  # noqa: B017 - the integrity error of the driver
        nt.save_handoff(app_engine, record, ["webhook"])
    rows = nt.notifications(app_engine)
    assert [(r.intake_id, r.channel, r.state) for r in rows] == [(record.id, "email", "pending")]
    assert len(list_intakes(app_engine)) == 1


def test_held_rows_wait_for_the_contact_then_go(app_engine):
    now = dt.datetime(2026, 5, 1, 12, 0)
    record = _record()
    nt.save_handoff(app_engine, record, ["email", "webhook"], hold_s=600, now=now)
    assert nt.claim(app_engine, "w1", policy=POLICY, now=now + dt.timedelta(seconds=5)) == []
    assert nt.set_contact(
        app_engine,
        record.id,
        nt.Contact("email", "jane@gmail.com"),
        now=now + dt.timedelta(seconds=5.5),
    )
    claimed = nt.claim(app_engine, "w1", policy=POLICY, now=now + dt.timedelta(seconds=6))
    assert sorted(r.channel for r in claimed) == ["email", "webhook"]
    assert list_intakes(app_engine)[0].contact == "email:jane@gmail.com"


def test_a_row_is_claimed_once_and_reclaimed_after_a_lost_lease(app_engine):
    now = dt.datetime(2026, 5, 1, 12, 0)
    nt.save_handoff(app_engine, _record(), ["webhook"], now=now)
    (row,) = nt.claim(app_engine, "w1", policy=POLICY, now=now)
    assert nt.claim(app_engine, "w2", policy=POLICY, now=now) == []  # held by w1
    later = now + dt.timedelta(seconds=POLICY.lease_s + 1)  # w1 crashed before marking it
    (again,) = nt.claim(app_engine, "w2", policy=POLICY, now=later)
    assert again.id == row.id and again.attempts == 2 and again.claimed_by == "w2"
    assert not nt.mark_sent(app_engine, row, "w1")  # the old claim cannot finish it
    assert nt.mark_sent(app_engine, again, "w2")
    assert [r.state for r in nt.notifications(app_engine)] == ["sent"]


def test_failures_back_off_then_give_up(app_engine):
    now = dt.datetime(2026, 5, 1, 12, 0)
    nt.save_handoff(app_engine, _record(), ["email"], now=now)
    for attempt in range(1, POLICY.max_attempts + 1):
        (row,) = nt.claim(app_engine, "w", policy=POLICY, now=now)
        assert row.attempts == attempt
        state = nt.mark_failed_attempt(
            app_engine,
            row,
            "w",
            "SMTP server x:25 answered 451",
            retry=True,
            policy=POLICY,
            now=now,
        )
        (stored,) = nt.notifications(app_engine)
        if attempt < POLICY.max_attempts:
            assert state == "pending" and stored.next_attempt_at > now
            now = stored.next_attempt_at
        else:
            assert state == "failed" and stored.last_error == "SMTP server x:25 answered 451"


def test_deleting_the_learners_data_removes_the_contact_and_cancels_sending(app_engine, caplog):
    record = _record(contact="phone:+15125550199")
    nt.save_handoff(app_engine, record, ["webhook"])
    report = erase_conversations(
        tracker_engine=None, app_engine=app_engine, log_dir=None, conversation_ids=["conv-1"]
    )
    assert report.intake_records == 1 and list_intakes(app_engine) == []
    config = nt.NotifyConfig.from_env(
        {
            "STACKWISE_TENANT_DEMO_CC_WEBHOOK_URL": "http://127.0.0.1:9/hook",
            "STACKWISE_TENANT_DEMO_CC_WEBHOOK_SECRET": "x" * 20,
        },
        policy=POLICY,
    )
    deliverer = nt.Deliverer(app_engine, config, lambda _id: "Demo CC", http=None)
    with caplog.at_level("INFO"):
        assert nt.run_once(deliverer, "w")["cancelled"] == 1
    assert [r.state for r in nt.notifications(app_engine)] == ["cancelled"]
    assert "5125550199" not in caplog.text


def test_payload_and_mail_carry_the_summary_not_the_transcript(app_engine):
    record = _record(contact="phone:+15125550199")
    nt.save_handoff(app_engine, record, ["email"])
    (row,) = nt.notifications(app_engine)
    data = nt.payload(row, record, "Demo CC", "https://advise.college.edu/console")
    assert data["id"] == row.id and data["event"] == "handoff.created"
    assert data["learner"]["contact_phone"] == "+15125550199"
    assert data["intake"]["constraints"] == {"budget": "300", "format": "online"}
    assert data["console_url"] == f"https://advise.college.edu/console/intakes/{record.id}"
    msg = nt.email_message(row, record, "Demo CC", "sw@college.edu", ["ad@college.edu"], "c")
    body = msg.get_content()
    assert "Data analyst" in body and "(512) 555-0199" in body and "Google Data Analytics" in body
    assert msg["Message-ID"] == f"<{row.id}@college.edu>"
    assert "transcript" not in json.dumps(data)


def test_adviser_addresses_console_first_then_environment(app_engine):
    env = {"STACKWISE_TENANT_DEMO_CC_ADVISER_EMAILS": "a@college.edu, b@college.edu"}
    assert nt.adviser_emails(app_engine, "demo-cc", env) == ["a@college.edu", "b@college.edu"]
    nt.set_adviser_emails(app_engine, "demo-cc", ["desk@college.edu", ""])
    assert nt.adviser_emails(app_engine, "demo-cc", env) == ["desk@college.edu"]
    with pytest.raises(ValueError, match="not an e-mail"):
        nt.set_adviser_emails(app_engine, "demo-cc", ["desk at college"])


# --- the hand-off conversation ----------------------------------------------------------------


@pytest.fixture()
def college(tmp_path, app_engine, monkeypatch):
    """A knowledge DB with one college, its advisers' address, and e-mail configured."""
    knowledge = make_engine(f"sqlite:///{tmp_path / 'knowledge.db'}")
    schema.Base.metadata.create_all(knowledge)
    with Session(knowledge, future=True) as s, s.begin():
        s.add(
            schema.Institution(
                id="demo-cc",
                name="Demo Community College",
                url="https://demo.edu/",
                handoff_contact="advising@demo.edu, (512) 555-0100",
            )
        )
    nt.set_adviser_emails(app_engine, "demo-cc", ["advisers@demo.edu"])
    monkeypatch.setenv("STACKWISE_SMTP_URL", "smtp://127.0.0.1:2525")
    monkeypatch.setenv("STACKWISE_SMTP_FROM", "stackwise@demo.edu")
    svc = SimpleNamespace(engine=knowledge, app_engine=app_engine)
    monkeypatch.setattr(handoff, "services", lambda: svc)
    yield svc
    knowledge.dispose()


def tracker(text: str, intent: str = "human_handoff", loop: str | None = None, **slots):
    data = json.loads((FIXTURES / "after_recommendations.json").read_text())
    data["slots"].update({"tenant": "demo-cc", **slots})
    data["latest_message"] = {"text": text, "intent": {"name": intent, "confidence": 0.9}}
    if loop:
        data["active_loop"] = {"name": loop}
        data["slots"]["requested_slot"] = "learner_contact"
    return Tracker.from_dict(data)


def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, t, {})
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    follow = [e["name"] for e in events if e.get("event") == "followup"]
    return "\n".join(m.get("text") or "" for m in dispatcher.messages), slots, follow


def validate(text: str, **slots) -> tuple[str, dict]:
    dispatcher = CollectingDispatcher()
    out = handoff.ValidateHandoffContactForm().validate_learner_contact(
        text, dispatcher, tracker(text, "inform", handoff.CONTACT_FORM, **slots), {}
    )
    return "\n".join(m.get("text") or "" for m in dispatcher.messages), out


def test_handoff_asks_for_a_contact_and_holds_the_notification(college):
    text, slots, follow = run(handoff.ActionHandoff(), tracker("I want a person"))
    assert follow == ["handoff_contact_form"] and "get in touch" not in text
    (record,) = list_intakes(college.app_engine)
    assert slots["handoff_id"] == record.id and record.id[:8].upper() in text
    (row,) = nt.notifications(college.app_engine, record.id)
    assert row.channel == "email" and row.next_attempt_at > dt.datetime.utcnow()


def test_email_is_validated_then_stored_and_released(college):
    _, slots, _ = run(handoff.ActionHandoff(), tracker("I want a person"))
    reply, out = validate("jane@localhost")
    assert out == {"learner_contact": None, "handoff_contact_tries": 1.0}
    assert "doesn't look like an e-mail address" in reply
    _, out = validate("it's jane.doe@gmail.com")
    assert out == {"learner_contact": "email:jane.doe@gmail.com"}
    done = tracker("", "inform", **(slots | out))
    text, cleared, _ = run(handoff.ActionHandoffContact(), done)
    assert "e-mail you at jane.doe@gmail.com" in text and cleared["learner_contact"] is None
    assert list_intakes(college.app_engine)[0].contact == "email:jane.doe@gmail.com"
    (row,) = nt.notifications(college.app_engine)
    assert row.next_attempt_at <= dt.datetime.utcnow()


def test_phone_is_accepted_in_a_common_format(college):
    _, out = validate("(512) 867-5309")
    assert out == {"learner_contact": "phone:+15128675309"}
    _, slots, _ = run(handoff.ActionHandoff(), tracker("I want a person"))
    text, _, _ = run(handoff.ActionHandoffContact(), tracker("", "inform", **(slots | out)))
    assert "call or text you at (512) 867-5309" in text


def test_a_low_confidence_contact_answer_is_taken_by_the_fallback(college):
    t = tracker("512 867 5309", "nlu_fallback", handoff.CONTACT_FORM)
    _, slots, _ = run(handoff.ActionFallback(), t)
    assert slots == {"learner_contact": "phone:+15128675309"}


def test_signed_in_student_is_not_asked(college):
    text, slots, follow = run(handoff.ActionHandoff(), tracker("advisor please", student_id="S1"))
    assert follow == [] and "college record" in text and "learner_contact" not in slots
    (row,) = nt.notifications(college.app_engine)
    assert row.next_attempt_at <= dt.datetime.utcnow()  # not held: nothing to wait for


def test_no_contact_gives_the_colleges_contact(college):
    _, slots, _ = run(handoff.ActionHandoff(), tracker("I want a person"))
    _, out = validate("no thanks")
    assert out == {"learner_contact": "declined"}
    text, _, _ = run(handoff.ActionHandoffContact(), tracker("", "inform", **(slots | out)))
    assert "advising@demo.edu, (512) 555-0100" in text and "will contact you" not in text
    assert list_intakes(college.app_engine)[0].contact is None
    # Two answers that are neither: taken as no, not asked a third time.
    _, out = validate("hmm what", handoff_contact_tries=1.0)
    assert out["learner_contact"] == "declined"


def test_two_misunderstood_messages_hand_off_and_ask(college):
    text, slots, follow = run(
        handoff.ActionFallback(), tracker("qwer", "nlu_fallback", failed_attempts=1)
    )
    assert "bring in a person" in text and follow == ["handoff_contact_form"]
    assert list_intakes(college.app_engine)[0].reason == "failed_attempts"
