"""Adviser console accounts: users (argon2id password hashes, role adviser or admin, institution)
and login sessions, in the operational DB (``STACKWISE_APP_DATABASE_URL``).

Session tokens are random and stored only as SHA-256 hashes; each session has its own CSRF token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, String, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base

AccountBase = declarative_base()
ROLES = ("adviser", "admin")
MIN_PASSWORD_CHARS = 10
SESSION_TTL = dt.timedelta(hours=8)
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class UserRow(AccountBase):
    __tablename__ = "users"
    id = Column(String(36), primary_key=True)
    email = Column(String(320), nullable=False, unique=True, index=True)
    password_hash = Column(String(200), nullable=False)
    role = Column(String(20), nullable=False)
    institution_id = Column(String(80), index=True)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False)


class SessionRow(AccountBase):
    __tablename__ = "user_sessions"
    token_hash = Column(String(64), primary_key=True)
    user_id = Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False, index=True)


@dataclass(frozen=True)
class User:
    id: str
    email: str
    role: str
    institution_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_see(self, institution_id: str | None) -> bool:
        """Admins see every record; an adviser only their institution's."""
        return self.is_admin or (
            self.institution_id is not None and institution_id == self.institution_id
        )


@dataclass(frozen=True)
class LoginSession:
    user: User
    csrf_token: str
    expires_at: dt.datetime


class AccountError(ValueError):
    pass


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _user(row: UserRow) -> User:
    return User(id=row.id, email=row.email, role=row.role, institution_id=row.institution_id)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def ensure_schema(engine: Engine) -> None:
    AccountBase.metadata.create_all(engine)


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise AccountError(f"not an e-mail address: {email!r}")
    return email


def add_user(
    engine: Engine,
    email: str,
    password: str,
    role: str,
    institution_id: str | None = None,
    *,
    replace: bool = False,
) -> User:
    """Create a user (or, with replace, reset an existing user's password, role, institution)."""
    email = normalize_email(email)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if role == "adviser" and not institution_id:
        raise AccountError("an adviser needs an institution (--institution ID)")
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    ensure_schema(engine)
    with Session(engine, future=True) as s, s.begin():
        row = s.scalars(select(UserRow).where(UserRow.email == email)).first()
        if row is not None and not replace:
            raise AccountError(f"a user {email} already exists")
        if row is None:
            row = UserRow(id=str(uuid.uuid4()), email=email, created_at=_now())
            s.add(row)
        else:  # a reset ends the user's sessions
            s.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
        row.password_hash = _hasher.hash(password)
        row.role = role
        row.institution_id = institution_id or None
        row.active = True
        s.flush()
        return _user(row)


def list_users(engine: Engine) -> list[User]:
    ensure_schema(engine)
    with Session(engine, future=True) as s:
        return [_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.email)).all()]


def authenticate(engine: Engine, email: str, password: str) -> User | None:
    """The user if the e-mail and password match an active account, else None."""
    try:
        email = normalize_email(email)
    except AccountError:
        email = ""
    ensure_schema(engine)
    with Session(engine, future=True) as s, s.begin():
        row = s.scalars(select(UserRow).where(UserRow.email == email)).first() if email else None
        try:
            _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or not row.active:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        return _user(row)


def create_session(engine: Engine, user: User, ttl: dt.timedelta = SESSION_TTL) -> tuple[str, str]:
    """A new login session: (session token for the cookie, CSRF token for forms)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = _now()
    ensure_schema(engine)
    with Session(engine, future=True) as s, s.begin():
        s.execute(delete(SessionRow).where(SessionRow.expires_at < now))
        s.add(
            SessionRow(
                token_hash=_token_hash(token),
                user_id=user.id,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + ttl,
            )
        )
    return token, csrf


def get_session(engine: Engine, token: str | None) -> LoginSession | None:
    if not token or len(token) > 200:
        return None
    ensure_schema(engine)
    with Session(engine, future=True) as s:
        sess = s.get(SessionRow, _token_hash(token))
        if sess is None or sess.expires_at < _now():
            return None
        row = s.get(UserRow, sess.user_id)
        if row is None or not row.active:
            return None
        return LoginSession(user=_user(row), csrf_token=sess.csrf_token, expires_at=sess.expires_at)


def end_session(engine: Engine, token: str | None) -> None:
    if not token:
        return
    ensure_schema(engine)
    with Session(engine, future=True) as s, s.begin():
        s.execute(delete(SessionRow).where(SessionRow.token_hash == _token_hash(token)))
