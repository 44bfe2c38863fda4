"""Adviser notifications for hand-offs: a durable outbox in the operational DB, e-mail (SMTP with
TLS) and a signed webhook, delivered at least once and deduplicated by the receiver.

- ``save_handoff`` writes the intake record and one outbox row per channel in one transaction,
  so a hand-off is never stored without its notifications (or the other way round).
- A worker (``bot/notify_worker.py``) claims due rows with a conditional UPDATE (only one worker
  can move a row from ``pending`` to ``sending``), sends, and marks the row ``sent``; a row left
  in ``sending`` by a crashed worker is claimed again once its lease has run out, and sent again
  with the same idempotency key (the row id; ``Message-ID`` for mail), which receivers dedup.
- The outbox holds no personal data: the message is rendered at send time from the intake
  record, so deleting a learner's intake records (knowledge/privacy.py) also cancels what was
  not sent yet. Error texts stored and logged name the channel and the failure, never a contact.

Pure parts (contact parsing, settings, payloads, signatures, backoff) take their inputs as
arguments; nothing connects at import time.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import json
import logging
import os
import random
import re
import smtplib
import socket
import ssl
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import JSON, Column, DateTime, Integer, String, Text, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base

from knowledge.intake import IntakeRecord, IntakeRecordRow
from knowledge.intake import ensure_schema as ensure_intake_schema

log = logging.getLogger(__name__)

NotifyBase = declarative_base()
CHANNELS = ("email", "webhook")
STATES = ("pending", "sending", "sent", "failed", "cancelled")
SIGNATURE_HEADER = "X-Stackwise-Signature"
EVENT = "handoff.created"
# How long a hand-off's notifications wait for the learner's answer to "how may an adviser
# reach you?" before they go out anyway (the contact is added when it comes in time).
CONTACT_WAIT_S = 10 * 60


# --- the learner's contact (pure) -------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    kind: str  # "email" | "phone"
    value: str  # normalized: the address as validated, or the number in E.164 (+15125550199)

    def display(self) -> str:
        if self.kind == "phone":
            number = phonenumbers.parse(self.value, "US")
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return self.value

    def stored(self) -> str:
        return f"{self.kind}:{self.value}"

    @classmethod
    def from_stored(cls, text: str | None) -> Contact | None:
        if not text or ":" not in text:
            return None
        kind, value = text.split(":", 1)
        return cls(kind, value) if kind in ("email", "phone") and value else None


_DECLINE = re.compile(
    r"^\s*(no|nope|nah|no thanks?|no thank you|skip|skip it|rather not|i'?d rather not|"
    r"don'?t|do not|none|not now|no contact|prefer not( to)?)\b[\s.!]*$",
    re.IGNORECASE,
)
_EMAIL_IN_TEXT = re.compile(r"[^\s<>,;()\"']+@[^\s<>,;()\"']+")


def is_decline(text: str) -> bool:
    return bool(_DECLINE.match(text or ""))


def parse_email(text: str) -> str | None:
    """The e-mail address in ``text`` (syntax only, no DNS: nothing leaves the machine)."""
    found = _EMAIL_IN_TEXT.search(text or "")
    if not found:
        return None
    try:
        return validate_email(found.group(0).rstrip("."), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def parse_us_phone(text: str) -> str | None:
    """A valid US number in any common format ((512) 555-0199, 512.555.0199, +1 512 555 0199),
    as E.164; None for anything else, numbers of other countries included."""
    if not text or not re.search(r"\d{3}", text) or len(text) > 40:
        return None
    try:
        number = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) or phonenumbers.region_code_for_number(
        number
    ) not in ("US",):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_contact(text: str) -> Contact | None:
    if "@" in (text or ""):
        address = parse_email(text)
        return Contact("email", address) if address else None
    phone = parse_us_phone((text or "").strip())
    return Contact("phone", phone) if phone else None


# --- settings (pure: from a mapping of environment variables) ---------------------------------


class ConfigError(ValueError):
    """A notification setting is malformed; the message names the variable, never a secret."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # "starttls" | "tls" | "none" (loopback only)
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never the password
        return f"SmtpSettings({self.security}://{self.host}:{self.port})"

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """``smtp+starttls://user:pass@host:587``, ``smtps://user:pass@host:465``, or
        ``smtp://host:port`` (no TLS: only to a relay on this machine)."""
        parts = urlsplit(url.strip())
        schemes = {"smtp+starttls": ("starttls", 587), "smtps": ("tls", 465), "smtp": ("none", 25)}
        if parts.scheme not in schemes or not parts.hostname:
            raise ConfigError(
                "STACKWISE_SMTP_URL must look like smtp+starttls://user:pass@host:587 or "
                "smtps://user:pass@host:465"
            )
        security, default_port = schemes[parts.scheme]
        try:
            port = parts.port or default_port
        except ValueError as exc:
            raise ConfigError("STACKWISE_SMTP_URL has a port that is not a number") from exc
        if security == "none" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigError(
                "STACKWISE_SMTP_URL: smtp:// (no TLS) is allowed only to a relay on this "
                "machine; use smtp+starttls:// or smtps://"
            )
        return cls(
            host=parts.hostname,
            port=port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def tenant_env(tenant_id: str, suffix: str) -> str:
    return f"STACKWISE_TENANT_{re.sub(r'[^A-Z0-9]', '_', tenant_id.upper())}_{suffix}"


@dataclass(frozen=True)
class Policy:
    """Retries: exponential backoff with jitter, at most ``max_attempts`` sends per row."""

    max_attempts: int = 8
    base_delay_s: float = 30.0
    max_delay_s: float = 3600.0
    lease_s: float = 300.0  # a row in "sending" longer than this was left by a crashed worker
    timeout_s: float = 20.0  # one SMTP conversation or webhook request

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds before the next try after ``attempts`` failed ones: base * 2^(n-1), capped,
        with "equal jitter" (half fixed, half random) so retries of many rows spread out."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempts - 1))
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


@dataclass(frozen=True)
class NotifyConfig:
    smtp: SmtpSettings | None
    smtp_from: str | None
    console_url: str  # the adviser console's public base URL, for the link in each message
    env: Mapping[str, str]
    policy: Policy = Policy()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, policy: Policy | None = None):
        env = os.environ if env is None else env
        url = env.get("STACKWISE_SMTP_URL", "").strip()
        sender = env.get("STACKWISE_SMTP_FROM", "").strip() or None
        if url and not sender:
            raise ConfigError("STACKWISE_SMTP_URL is set: set STACKWISE_SMTP_FROM too")
        if sender and parse_email(sender) is None:
            raise ConfigError("STACKWISE_SMTP_FROM is not an e-mail address")
        public = env.get("STACKWISE_PUBLIC_URL", "").strip().rstrip("/")
        if not public:
            public = f"http://127.0.0.1:{env.get('STACKWISE_WEB_PORT', '8000')}"
        return cls(
            smtp=SmtpSettings.from_url(url) if url else None,
            smtp_from=sender,
            console_url=public + "/console",
            env=env,
            policy=policy or Policy(),
        )

    def webhook(self, tenant_id: str) -> tuple[str, str] | None:
        """(URL, secret) of the tenant's webhook, or None when not configured."""
        url = self.env.get(tenant_env(tenant_id, "WEBHOOK_URL"), "").strip()
        if not url:
            return None
        secret = self.env.get(tenant_env(tenant_id, "WEBHOOK_SECRET"), "")
        name = tenant_env(tenant_id, "WEBHOOK")
        if urlsplit(url).scheme not in ("https", "http") or not urlsplit(url).hostname:
            raise ConfigError(f"{name}_URL is not an http(s) URL")
        if len(secret) < 16:
            raise ConfigError(f"{name}_SECRET must be set (16 characters or more)")
        return url, secret


# --- adviser addresses (console settings and the environment) --------------------------------


class TenantNotifyRow(NotifyBase):
    """Adviser addresses an admin set for a tenant (operational DB: survives a rebuild)."""

    __tablename__ = "tenant_notify_settings"
    institution_id = Column(String(80), primary_key=True)
    adviser_emails = Column(JSON, nullable=False)
    updated_at = Column(DateTime, nullable=False)


def clean_addresses(values: Iterable[str]) -> list[str]:
    """Validate adviser addresses (admin input); raises ValueError naming the bad one."""
    out: list[str] = []
    for raw in values:
        raw = raw.strip()
        if not raw:
            continue
        address = parse_email(raw)
        if address is None or raw.count("@") != 1:
            raise ValueError(f"not an e-mail address: {raw!r}")
        if address not in out:
            out.append(address)
    return out


def set_adviser_emails(app_engine: Engine, tenant_id: str, addresses: Iterable[str]) -> None:
    cleaned = clean_addresses(addresses)
    ensure_schema(app_engine)
    with Session(app_engine, future=True) as s, s.begin():
        row = s.get(TenantNotifyRow, tenant_id) or TenantNotifyRow(institution_id=tenant_id)
        row.adviser_emails = cleaned
        row.updated_at = _now()
        s.add(row)


def adviser_emails(app_engine: Engine, tenant_id: str, env: Mapping[str, str]) -> list[str]:
    """The console's list when an admin set one, else ``STACKWISE_TENANT_<ID>_ADVISER_EMAILS``
    (comma-separated)."""
    ensure_schema(app_engine)
    with Session(app_engine, future=True) as s:
        row = s.get(TenantNotifyRow, tenant_id)
        if row is not None:
            return list(row.adviser_emails)
    return clean_addresses(env.get(tenant_env(tenant_id, "ADVISER_EMAILS"), "").split(","))


# --- the outbox -------------------------------------------------------------------------------


class NotificationRow(NotifyBase):
    __tablename__ = "notifications"
    id = Column(String(36), primary_key=True)  # also the idempotency key
    intake_id = Column(String(36), nullable=False, index=True)
    institution_id = Column(String(80), nullable=False)
    channel = Column(String(10), nullable=False)
    state = Column(String(10), nullable=False, index=True)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, index=True)
    lease_until = Column(DateTime)
    claimed_by = Column(String(64))
    created_at = Column(DateTime, nullable=False)
    sent_at = Column(DateTime)
    last_error = Column(Text)  # what went wrong, for the log and the console; no personal data


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def ensure_schema(app_engine: Engine) -> None:
    ensure_intake_schema(app_engine)
    NotifyBase.metadata.create_all(app_engine)


def channels_for(app_engine: Engine, tenant_id: str | None, config: NotifyConfig) -> list[str]:
    """The channels a hand-off of this tenant notifies (none without a tenant)."""
    if not tenant_id:
        return []
    out = []
    if config.smtp and adviser_emails(app_engine, tenant_id, config.env):
        out.append("email")
    if config.webhook(tenant_id):
        out.append("webhook")
    return out


def save_handoff(
    app_engine: Engine,
    record: IntakeRecord,
    channels: Iterable[str],
    *,
    hold_s: float = 0.0,
    now: dt.datetime | None = None,
) -> list[str]:
    """Store the intake record and its outbox rows in one transaction; returns the row ids.
    ``hold_s`` delays them (waiting for the learner's contact; :func:`set_contact` releases)."""
    ensure_schema(app_engine)
    now = now or _now()
    due = now + dt.timedelta(seconds=hold_s)
    rows = [
        NotificationRow(
            id=str(uuid.uuid4()),
            intake_id=record.id,
            institution_id=record.institution_id or "",
            channel=channel,
            state="pending",
            attempts=0,
            next_attempt_at=due,
            created_at=now,
        )
        for channel in dict.fromkeys(channels)
        if channel in CHANNELS
    ]
    with Session(app_engine, future=True) as s, s.begin():
        s.add(IntakeRecordRow(**asdict(record)))
        s.add_all(rows)
        ids = [r.id for r in rows]
    return ids


def set_contact(
    app_engine: Engine, intake_id: str, contact: Contact | None, *, now: dt.datetime | None = None
) -> bool:
    """Record the learner's answer (a contact, or None when they declined) and release the
    hand-off's held notifications. False when the record is gone (deleted on request)."""
    ensure_schema(app_engine)
    now = now or _now()
    with Session(app_engine, future=True) as s, s.begin():
        row = s.get(IntakeRecordRow, intake_id)
        if row is None:
            return False
        row.contact = contact.stored() if contact else None
        s.execute(
            update(NotificationRow)
            .where(
                NotificationRow.intake_id == intake_id,
                NotificationRow.state == "pending",
                NotificationRow.attempts == 0,
                NotificationRow.next_attempt_at > now,
            )
            .values(next_attempt_at=now)
        )
    return True


def notifications(app_engine: Engine, intake_id: str | None = None) -> list[NotificationRow]:
    ensure_schema(app_engine)
    stmt = select(NotificationRow).order_by(NotificationRow.created_at, NotificationRow.id)
    if intake_id is not None:
        stmt = stmt.where(NotificationRow.intake_id == intake_id)
    with Session(app_engine, future=True, expire_on_commit=False) as s:
        rows = s.scalars(stmt).all()
        s.expunge_all()
        return list(rows)


def claim(
    app_engine: Engine,
    worker_id: str,
    *,
    policy: Policy,
    now: dt.datetime | None = None,
    limit: int = 20,
) -> list[NotificationRow]:
    """Claim due rows for this worker. Each row moves to ``sending`` by a conditional UPDATE
    that only one worker can win (the same on SQLite and PostgreSQL)."""
    ensure_schema(app_engine)
    now = now or _now()
    due = or_(
        (NotificationRow.state == "pending") & (NotificationRow.next_attempt_at <= now),
        (NotificationRow.state == "sending") & (NotificationRow.lease_until < now),
    )
    with Session(app_engine, future=True) as s:
        candidates = s.execute(
            select(NotificationRow.id, NotificationRow.state, NotificationRow.attempts)
            .where(due)
            .order_by(NotificationRow.next_attempt_at)
            .limit(limit)
        ).all()
    won: list[str] = []
    lease = now + dt.timedelta(seconds=policy.lease_s)
    for row_id, state, attempts in candidates:
        with app_engine.begin() as conn:
            result = conn.execute(
                update(NotificationRow)
                .where(
                    NotificationRow.id == row_id,
                    NotificationRow.state == state,
                    NotificationRow.attempts == attempts,
                    due,
                )
                .values(
                    state="sending",
                    attempts=attempts + 1,
                    lease_until=lease,
                    claimed_by=worker_id,
                )
            )
        if result.rowcount == 1:
            won.append(row_id)
    if not won:
        return []
    with Session(app_engine, future=True, expire_on_commit=False) as s:
        rows = s.scalars(select(NotificationRow).where(NotificationRow.id.in_(won))).all()
        s.expunge_all()
        return list(rows)


def _finish(app_engine: Engine, row: NotificationRow, worker_id: str, **values: Any) -> bool:
    """Update a row this worker still holds (False if its lease ran out and another took it)."""
    with app_engine.begin() as conn:
        result = conn.execute(
            update(NotificationRow)
            .where(
                NotificationRow.id == row.id,
                NotificationRow.state == "sending",
                NotificationRow.claimed_by == worker_id,
                NotificationRow.attempts == row.attempts,
            )
            .values(lease_until=None, **values)
        )
    return result.rowcount == 1


def mark_sent(app_engine: Engine, row: NotificationRow, worker_id: str) -> bool:
    return _finish(app_engine, row, worker_id, state="sent", sent_at=_now(), last_error=None)


def mark_failed_attempt(
    app_engine: Engine,
    row: NotificationRow,
    worker_id: str,
    error: str,
    *,
    retry: bool,
    policy: Policy,
    now: dt.datetime | None = None,
) -> str:
    """Record a failed try: back to ``pending`` after a backoff, or ``failed`` when it cannot
    succeed or the tries are used up. Returns the new state."""
    now = now or _now()
    if retry and row.attempts < policy.max_attempts:
        delay = policy.delay(row.attempts)
        _finish(
            app_engine,
            row,
            worker_id,
            state="pending",
            next_attempt_at=now + dt.timedelta(seconds=delay),
            last_error=error,
        )
        return "pending"
    _finish(app_engine, row, worker_id, state="failed", last_error=error)
    return "failed"


# --- what is sent (pure) ----------------------------------------------------------------------


def _intake(app_engine: Engine, intake_id: str) -> IntakeRecord | None:
    with Session(app_engine, future=True) as s:
        row = s.get(IntakeRecordRow, intake_id)
        if row is None:
            return None
        return IntakeRecord(
            **{c.name: getattr(row, c.name) for c in IntakeRecordRow.__table__.columns}
        )


def payload(
    row: NotificationRow, record: IntakeRecord, tenant_name: str, console_url: str
) -> dict[str, Any]:
    """The webhook's JSON body: flat, self-describing fields a CRM or helpdesk maps easily.
    The intake summary only, never the transcript."""
    contact = Contact.from_stored(record.contact)
    return {
        "event": EVENT,
        "id": row.id,
        "created_at": record.created_at.replace(tzinfo=dt.timezone.utc).isoformat(),
        "institution": {"id": record.institution_id, "name": tenant_name},
        "intake": {
            "id": record.id,
            "reference": record.id[:8].upper(),
            "reason": record.reason,
            "goal": record.goal,
            "goal_onet_code": record.goal_code,
            "skills": [s for s in record.skills if s.get("role") == "has"],
            "skills_lacking": [s for s in record.skills if s.get("role") == "lacks"],
            "skills_wanted": [s for s in record.skills if s.get("role") == "wants"],
            "constraints": {k: v for k, v in (record.constraints or {}).items() if v is not None},
            "recommendations": record.recommendations,
        },
        "learner": {
            "signed_in": bool(record.student_id),
            "student_id": record.student_id,
            "contact_email": contact.value if contact and contact.kind == "email" else None,
            "contact_phone": contact.value if contact and contact.kind == "phone" else None,
        },
        "console_url": f"{console_url}/intakes/{record.id}",
    }


def body_bytes(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the raw body>``, the value of X-Stackwise-Signature."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


_REASONS = {
    "requested": "asked to talk to an adviser",
    "failed_attempts": "the assistant could not understand them twice in a row",
}


def email_message(
    row: NotificationRow,
    record: IntakeRecord,
    tenant_name: str,
    sender: str,
    recipients: list[str],
    console_url: str,
) -> EmailMessage:
    data = payload(row, record, tenant_name, console_url)
    intake, learner = data["intake"], data["learner"]
    contact = Contact.from_stored(record.contact)
    lines = [
        f"A learner {_REASONS.get(record.reason, record.reason)}.",
        "",
        f"Reference: {intake['reference']}",
        f"Goal: {record.goal or 'not given'}"
        + (f" (O*NET {record.goal_code})" if record.goal_code else ""),
        "Skills: " + (", ".join(s["label"] for s in intake["skills"]) or "none given"),
    ]
    if intake["skills_lacking"]:
        lines.append("New to: " + ", ".join(s["label"] for s in intake["skills_lacking"]))
    for key, value in intake["constraints"].items():
        lines.append(f"{key.replace('_', ' ').capitalize()}: {value}")
    names = [r.get("name") or r.get("id") for r in intake["recommendations"] if r]
    if names:
        lines.append("Recommended: " + "; ".join(str(n) for n in names[:5]))
    lines.append("")
    if learner["signed_in"]:
        lines.append(f"Signed in through the portal as student {learner['student_id']}.")
    elif contact:
        lines.append(f"Contact ({contact.kind}, given with consent): {contact.display()}")
    else:
        lines.append("No contact given: the learner was pointed to the college's own contact.")
    lines += ["", f"Open the record in the adviser console: {data['console_url']}", ""]
    msg = EmailMessage()
    msg["Subject"] = f"[Stackwise] Hand-off {intake['reference']}: {record.goal or 'a learner'}"
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = email.utils.formatdate(localtime=False)
    # Stable across resends: a mail resent after a crash has the same Message-ID.
    msg["Message-ID"] = f"<{row.id}@{sender.rsplit('@', 1)[1]}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("\n".join(lines))
    return msg


# --- sending ----------------------------------------------------------------------------------


class DeliveryError(Exception):
    """One try failed. ``retry``: worth trying again (connection, 4xx SMTP, 5xx/429 HTTP)."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def send_email(
    smtp: SmtpSettings,
    msg: EmailMessage,
    *,
    timeout: float,
    tls_context: ssl.SSLContext | None = None,
) -> None:
    where = f"SMTP server {smtp.host}:{smtp.port}"
    context = tls_context or ssl.create_default_context()
    try:
        if smtp.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=timeout, context=context
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=context)
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            client.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"{where} refused the log-in ({exc.smtp_code})", retry=True) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"{where} does not offer STARTTLS", retry=False) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _ in exc.recipients.values()})
        raise DeliveryError(
            f"{where} refused the recipients ({codes})", retry=all(400 <= c < 500 for c in codes)
        ) from exc
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(
            f"{where} answered {exc.smtp_code}", retry=400 <= exc.smtp_code < 500
        ) from exc
    except ssl.SSLError as exc:
        raise DeliveryError(f"{where}: TLS failed ({exc.reason or exc})", retry=True) from exc
    except (OSError, smtplib.SMTPException) as exc:
        kind = "timed out" if isinstance(exc, socket.timeout) else type(exc).__name__
        raise DeliveryError(f"{where} could not be reached ({kind})", retry=True) from exc


RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


def post_webhook(client: httpx.Client, url: str, secret: str, body: bytes, key: str) -> None:
    """POST the signed body; raises DeliveryError. Redirects are not followed (the receiver's
    URL is configured exactly; a signed body is not forwarded elsewhere)."""
    host = urlsplit(url).hostname
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(secret, body),
        "Idempotency-Key": key,
        "X-Stackwise-Event": EVENT,
        "User-Agent": "Stackwise-Notifications/1",
    }
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"webhook at {host} timed out", retry=True) from exc
    except httpx.HTTPError as exc:  # refused, reset, not HTTP at all
        raise DeliveryError(
            f"webhook at {host} could not be reached ({type(exc).__name__})", retry=True
        ) from exc
    if 200 <= response.status_code < 300:
        return
    raise DeliveryError(
        f"webhook at {host} answered HTTP {response.status_code}",
        retry=response.status_code in RETRY_STATUS,
    )


@dataclass
class Deliverer:
    """Sends one claimed row; the parts a test swaps (TLS trust, the HTTP client) are here."""

    app_engine: Engine
    config: NotifyConfig
    tenant_name: Any  # Callable[[str], str]: the tenant's display name
    http: httpx.Client
    tls_context: ssl.SSLContext | None = None

    def send(self, row: NotificationRow) -> bool:
        """Send; False when there is nothing to send any more (the record was deleted)."""
        record = _intake(self.app_engine, row.intake_id)
        if record is None:
            return False
        name = self.tenant_name(row.institution_id) or row.institution_id
        if row.channel == "email":
            recipients = adviser_emails(self.app_engine, row.institution_id, self.config.env)
            if not self.config.smtp or not self.config.smtp_from or not recipients:
                raise DeliveryError("e-mail is no longer configured for this tenant", retry=True)
            msg = email_message(
                row, record, name, self.config.smtp_from, recipients, self.config.console_url
            )
            send_email(
                self.config.smtp,
                msg,
                timeout=self.config.policy.timeout_s,
                tls_context=self.tls_context,
            )
        else:
            hook = self.config.webhook(row.institution_id)
            if hook is None:
                raise DeliveryError("the webhook is no longer configured", retry=True)
            body = body_bytes(payload(row, record, name, self.config.console_url))
            post_webhook(self.http, hook[0], hook[1], body, row.id)
        return True


def run_once(deliverer: Deliverer, worker_id: str, *, limit: int = 20) -> dict[str, int]:
    """Claim due rows, send each, record the outcome. Returns counts by outcome. Errors are
    logged in one line each (which row, which channel, what failed), without a traceback."""
    engine, policy = deliverer.app_engine, deliverer.config.policy
    counts = {"sent": 0, "retry": 0, "failed": 0, "cancelled": 0}
    for row in claim(engine, worker_id, policy=policy, limit=limit):
        label = f"notification {row.id} ({row.channel}, tenant {row.institution_id})"
        try:
            if not deliverer.send(row):
                _finish(engine, row, worker_id, state="cancelled", last_error="record deleted")
                counts["cancelled"] += 1
                log.info("%s cancelled: its intake record was deleted", label)
                continue
        except (DeliveryError, ConfigError) as exc:
            retry = exc.retry if isinstance(exc, DeliveryError) else True
            state = mark_failed_attempt(
                engine, row, worker_id, str(exc), retry=retry, policy=policy
            )
            if state == "failed":
                counts["failed"] += 1
                log.error("%s failed for good after %d attempt(s): %s", label, row.attempts, exc)
            else:
                counts["retry"] += 1
                log.warning(
                    "%s attempt %d/%d failed: %s; will retry",
                    label,
                    row.attempts,
                    policy.max_attempts,
                    exc,
                )
            continue
        if mark_sent(engine, row, worker_id):
            counts["sent"] += 1
            log.info("%s sent (attempt %d)", label, row.attempts)
        else:
            log.warning("%s sent, but its lease had run out (another worker may resend)", label)
    return counts
