"""Links between catalog records that the conversation follows: a program's ladder into a
degree, the programs that lead to a credential, a record's occupations (stated or inferred),
and each source's own as-of date. Read-only queries over the knowledge DB."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.engine import Engine

from knowledge import schema


@dataclass(frozen=True)
class OccupationLink:
    code: str
    title: str
    # True: the source names this occupation ("prepares you for"); False: we reached it
    # from text (encoder) or through the CIP-SOC crosswalk ("related to").
    stated: bool
    rule: str | None
    score: float | None


def occupation_links(engine: Engine, record_id: str, kind: str) -> list[OccupationLink]:
    """A credential's or a program's occupations, stated ones first, then by score."""
    Occ = schema.Occupation
    if kind == "program":
        PO = schema.ProgramOccupation
        stmt = (
            select(PO.code, Occ.title, PO.rule)
            .join(Occ, Occ.code == PO.code)
            .where(PO.program_id == record_id)
        )
        with engine.connect() as conn:
            rows = conn.execute(stmt).all()
        links = [OccupationLink(r.code, r.title, r.rule == "stated", r.rule, None) for r in rows]
    else:
        CO = schema.CredentialOccupation
        stmt = (
            select(CO.code, Occ.title, CO.stated, CO.rule, CO.score)
            .join(Occ, Occ.code == CO.code)
            .where(CO.credential_id == record_id)
        )
        with engine.connect() as conn:
            rows = conn.execute(stmt).all()
        links = [
            OccupationLink(r.code, r.title, r.stated is not False, r.rule, r.score) for r in rows
        ]
    return sorted(links, key=lambda link: (not link.stated, -(link.score or 0.0), link.code))


def ladder_targets(engine: Engine, program_id: str) -> list[tuple[str, str]]:
    """(longer program id, rule) for each program at the same provider this one leads into."""
    L = schema.ProgramLadder
    stmt = select(L.to_program, L.rule).where(L.from_program == program_id).order_by(L.rule)
    with engine.connect() as conn:
        return [(r.to_program, r.rule) for r in conn.execute(stmt)]


def programs_leading_to(engine: Engine, credential_id: str) -> list[str]:
    """Ids of the training programs that name this credential as what they lead to."""
    P = schema.TrainingProgram
    stmt = select(P.id).where(P.credential_id == credential_id).order_by(P.id)
    with engine.connect() as conn:
        return list(conn.execute(stmt).scalars())


def source_dates(engine: Engine) -> dict[str, date | None]:
    """Each loaded catalog source's as-of date (the date of the data set it was built from)."""
    S = schema.CatalogSource
    with engine.connect() as conn:
        return {r.name: r.as_of for r in conn.execute(select(S.name, S.as_of))}
