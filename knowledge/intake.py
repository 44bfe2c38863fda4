"""Intake records: what an adviser needs after a conversation (skills with roles, goal,
constraints, recommendations, reason for hand-off), stored in the operational DB.

The operational DB is separate from the knowledge DB, which `stackwise build` rebuilds from files.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import JSON, Column, DateTime, String, Text, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base

AppBase = declarative_base()
STATUSES = ("new", "contacted", "closed")


class IntakeRecordRow(AppBase):
    __tablename__ = "intake_records"
    id = Column(String(36), primary_key=True)
    created_at = Column(DateTime, nullable=False, index=True)
    sender_id = Column(String(128), nullable=False, index=True)  # the tracker's conversation id
    institution_id = Column(String(80), index=True)
    student_id = Column(String(128), index=True)  # verified portal claim, when signed in
    reason = Column(String(40), nullable=False)
    status = Column(String(20), nullable=False, default="new")
    skills = Column(JSON, nullable=False)  # [{"label", "skill_id", "role"}]
    goal = Column(Text)
    goal_code = Column(String(12))
    constraints = Column(JSON, nullable=False)
    recommendations = Column(JSON, nullable=False)  # [{"id", "name"}]
    notes = Column(Text)
    # How the learner agreed to be reached ("email:..." / "phone:+1..."), asked at a hand-off;
    # deleted with the record (knowledge/privacy.py), never logged.
    contact = Column(String(320))


@dataclass
class IntakeRecord:
    sender_id: str
    reason: str  # "requested" | "failed_attempts" | "completed_intake"
    skills: list[dict[str, Any]] = field(default_factory=list)
    goal: str | None = None
    goal_code: str | None = None
    constraints: dict[str, Any] = field(default_factory=dict)
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    institution_id: str | None = None
    student_id: str | None = None
    status: str = "new"
    notes: str | None = None
    contact: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    )


def ensure_schema(engine: Engine) -> None:
    AppBase.metadata.create_all(engine)
    # The operational DB has no migrations (create_all only adds tables): add the column that
    # came after the table to a database made before it.
    if "contact" not in {c["name"] for c in inspect(engine).get_columns("intake_records")}:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE intake_records ADD COLUMN contact VARCHAR(320)"))


def save_intake(engine: Engine, record: IntakeRecord) -> str:
    ensure_schema(engine)
    with Session(engine, future=True) as s, s.begin():
        s.add(IntakeRecordRow(**asdict(record)))
    return record.id


def list_intakes(
    engine: Engine, *, institution_id: str | None = None, sender_id: str | None = None
) -> list[IntakeRecord]:
    ensure_schema(engine)
    stmt = select(IntakeRecordRow).order_by(IntakeRecordRow.created_at.desc())
    if institution_id is not None:
        stmt = stmt.where(IntakeRecordRow.institution_id == institution_id)
    if sender_id is not None:
        stmt = stmt.where(IntakeRecordRow.sender_id == sender_id)
    with Session(engine, future=True) as s:
        rows = s.scalars(stmt).all()
        return [
            IntakeRecord(**{c.name: getattr(r, c.name) for c in IntakeRecordRow.__table__.columns})
            for r in rows
        ]


def upsert_intake(engine: Engine, record: IntakeRecord) -> str:
    """Save, or update the open record of the same conversation and reason (no duplicates)."""
    ensure_schema(engine)
    with Session(engine, future=True) as s, s.begin():
        existing = s.scalars(
            select(IntakeRecordRow).where(
                IntakeRecordRow.sender_id == record.sender_id,
                IntakeRecordRow.reason == record.reason,
                IntakeRecordRow.status == "new",
            )
        ).first()
        if existing is None:
            s.add(IntakeRecordRow(**asdict(record)))
            return record.id
        for name in (
            "skills",
            "goal",
            "goal_code",
            "constraints",
            "recommendations",
            "institution_id",
            "student_id",
        ):
            setattr(existing, name, getattr(record, name))
        return existing.id
