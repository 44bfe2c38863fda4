"""Credit and stacking facts: does a credential count toward a degree, and where?"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from knowledge import schema
from knowledge.recommend import load_facts


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


# Credential id -> facts (``load_facts``); servers pass ``CredentialSearch.facts`` (cached).
FactsLookup = Callable[[list[str]], dict[str, dict[str, Any]]]


def degree_credit(
    engine: Engine,
    credential_id: str,
    institution: str | None = None,
    facts_for: FactsLookup | None = None,
) -> DegreeCredit | None:
    """Credit recommendations and articulations recorded for one credential.

    Example-institution articulations are only included when that institution is the tenant.
    """
    lookup = facts_for or partial(load_facts, engine)
    facts = lookup([credential_id]).get(credential_id)
    if facts is None:
        return None
    artics = [
        a for a in facts["articulations"] if not a["example"] or a["institution_id"] == institution
    ]
    return DegreeCredit(facts["id"], facts["name"], facts["credit"], artics)


@dataclass
class StackPlan:
    """Credentials to take, then a degree program they count toward, with totals.

    Totals add only known numbers; whatever is unknown is listed by name so the bot can say so.
    """

    credentials: list[dict[str, Any]]
    program: dict[str, Any] | None
    credits_awarded: float = 0.0
    credits_unknown: list[str] = field(default_factory=list)
    known_cost_usd: float = 0.0
    cost_unknown: list[str] = field(default_factory=list)
    cost_monthly: list[str] = field(default_factory=list)  # subscriptions: no fixed total
    known_hours: float = 0.0
    hours_unknown: list[str] = field(default_factory=list)

    @property
    def remaining_credits(self) -> float | None:
        total = (self.program or {}).get("total_credits")
        return None if total is None else max(0.0, total - self.credits_awarded)


@dataclass(frozen=True)
class _Link:
    """One articulation: a credential counting toward a program."""

    credential_id: str
    credits: float | None
    program_id: str
    program_name: str
    level: str
    total_credits: float | None
    program_source: str
    institution_id: str
    institution_name: str
    example: bool


def _links(engine: Engine, credential_ids: list[str], institution: str | None) -> list[_Link]:
    stmt = (
        select(schema.Articulation, schema.DegreeProgram, schema.Institution)
        .join(schema.DegreeProgram, schema.DegreeProgram.id == schema.Articulation.program_id)
        .join(schema.Institution, schema.Institution.id == schema.DegreeProgram.institution_id)
        .where(schema.Articulation.credential_id.in_(credential_ids))
    )
    with Session(engine, future=True) as s:
        # Example institutions only for their own tenant; real ones for everyone.
        return [
            _Link(
                a.credential_id,
                a.credits_awarded,
                p.id,
                p.name,
                p.level,
                p.total_credits,
                p.source_url,
                i.id,
                i.name,
                i.example,
            )
            for a, p, i in s.execute(stmt).all()
            if not i.example or i.id == institution
        ]


def stack_plan(
    engine: Engine,
    candidates: list[str],
    goal_code: str | None = None,
    institution: str | None = None,
    facts_for: FactsLookup | None = None,
) -> StackPlan:
    """Choose the program that the most candidate credentials count toward (the tenant's
    programs first) and total what is known about the stack."""
    links = _links(engine, candidates, institution)
    if not links and goal_code:
        # None of the candidates articulate: look at credentials for the same occupation that do.
        with engine.connect() as conn:
            related = list(
                conn.execute(
                    select(schema.CredentialOccupation.credential_id).where(
                        schema.CredentialOccupation.code == goal_code
                    )
                ).scalars()
            )
        links = _links(engine, related, institution)
    program = None
    chosen: list[str] = candidates[:1]
    credits_by_cred: dict[str, float | None] = {}
    if links:
        score: dict[str, tuple[int, int, float]] = {}
        for link in links:
            tenant = 1 if institution and link.institution_id == institution else 0
            _, count, credits = score.get(link.program_id, (0, 0, 0.0))
            score[link.program_id] = (tenant, count + 1, credits + (link.credits or 0.0))
        best = max(score, key=lambda p: score[p])
        for link in (x for x in links if x.program_id == best):
            program = {
                "id": link.program_id,
                "name": link.program_name,
                "level": link.level,
                "total_credits": link.total_credits,
                "source": link.program_source,
                "institution": link.institution_name,
                "institution_id": link.institution_id,
                "example": link.example,
            }
            credits_by_cred[link.credential_id] = link.credits
        in_program = [c for c in candidates if c in credits_by_cred]
        extra = [c for c in credits_by_cred if c not in candidates]
        chosen = (in_program or candidates[:1]) + extra[: max(0, 2 - len(in_program))]
    facts = (facts_for or partial(load_facts, engine))(chosen)
    plan = StackPlan(credentials=[facts[c] for c in chosen if c in facts], program=program)
    for f in plan.credentials:
        if f["cost_usd"] is None:
            plan.cost_unknown.append(f["name"])
        elif f["cost_note"] and re.search(r"\bmonth", f["cost_note"], re.IGNORECASE):
            plan.cost_monthly.append(f["name"])
        else:
            plan.known_cost_usd += f["cost_usd"]
        if f["hours"] is None:
            plan.hours_unknown.append(f["name"])
        else:
            plan.known_hours += f["hours"]
        if program is not None and f["id"] in credits_by_cred:
            credits = credits_by_cred[f["id"]]
            if credits is None:
                plan.credits_unknown.append(f["name"])
            else:
                plan.credits_awarded += credits
    return plan
