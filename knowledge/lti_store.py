"""Short-lived LTI values (nonces, launch state, the platforms' key sets) in the operational DB.

Why the DB and not process memory: the OIDC login request and the launch that follows are two
requests that a load balancer, or the web app's several workers, may send to different processes;
a nonce issued by one must be checkable, and spendable once only, by any other. Each value expires
(rows past their time are deleted on every write), and :meth:`LtiStore.take` deletes a value in
the same statement that reads it, so two launches racing with one nonce cannot both win.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import JSON, Column, DateTime, String, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base

LtiBase = declarative_base()
DEFAULT_TTL = 3600
MAX_TTL = 7 * 86400


class LtiValueRow(LtiBase):
    __tablename__ = "lti_values"
    key = Column(String(64), primary_key=True)  # SHA-256 of the caller's key
    value = Column(JSON)
    expires_at = Column(DateTime, nullable=False, index=True)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class LtiStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        LtiBase.metadata.create_all(engine)

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        ttl = min(max(1, int(ttl or DEFAULT_TTL)), MAX_TTL)
        now = _now()
        with Session(self.engine, future=True) as s, s.begin():
            s.execute(delete(LtiValueRow).where(LtiValueRow.expires_at < now))
            row = s.get(LtiValueRow, _key(key))
            if row is None:
                row = LtiValueRow(key=_key(key))
                s.add(row)
            row.value = value
            row.expires_at = now + dt.timedelta(seconds=ttl)

    def get(self, key: str) -> Any:
        with Session(self.engine, future=True) as s:
            row = s.scalars(
                select(LtiValueRow).where(
                    LtiValueRow.key == _key(key), LtiValueRow.expires_at >= _now()
                )
            ).first()
            return None if row is None else row.value

    def take(self, key: str) -> bool:
        """True once for a value that exists and has not expired; it is gone afterwards."""
        with Session(self.engine, future=True) as s, s.begin():
            result = s.execute(
                delete(LtiValueRow).where(
                    LtiValueRow.key == _key(key), LtiValueRow.expires_at >= _now()
                )
            )
            return result.rowcount == 1
