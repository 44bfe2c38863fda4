"""Credit and stacking facts: does a credential count toward a degree, and where?"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from knowledge import schema
from knowledge.recommend import credential_facts


@dataclass
class DegreeCredit:
    credential_id: str
    credential_name: str
    credit_recommendations: list[dict[str, Any]] = field(default_factory=list)
    articulations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def counts_toward_degree(self) -> bool | None:
        """True when stored data shows credit; None means nothing is recorded (not 'no')."""
        return True if (self.credit_recommendations or self.real_articulations) else None

    @property
    def real_articulations(self) -> list[dict[str, Any]]:
        return [a for a in self.articulations if not a["example"]]


def degree_credit(
    engine: Engine, credential_id: str, institution: str | None = None
) -> DegreeCredit | None:
    """Credit recommendations and articulations recorded for one credential.

    Example-institution articulations are only included when that institution is the tenant.
    """
    with Session(engine, future=True) as s:
        c = s.scalars(
            select(schema.Credential)
            .where(schema.Credential.id == credential_id)
            .options(
                selectinload(schema.Credential.provider),
                selectinload(schema.Credential.recognitions),
                selectinload(schema.Credential.credit_recommendations),
                selectinload(schema.Credential.articulations)
                .selectinload(schema.Articulation.program)
                .selectinload(schema.DegreeProgram.institution),
            )
        ).first()
        if c is None:
            return None
        facts = credential_facts(c)
        tenant_programs = {
            a.program.id
            for a in c.articulations
            if institution and a.program.institution_id == institution
        }
        artics = [
            a
            for a, raw in zip(facts["articulations"], c.articulations, strict=True)
            if not a["example"] or raw.program.id in tenant_programs
        ]
        return DegreeCredit(c.id, c.name, facts["credit"], artics)
