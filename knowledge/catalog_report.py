"""What the built catalog knows, per source: the share of records with a known cost, duration,
format, occupation and place, and how many values each import rule rejected
(``stackwise catalog report``). Read from the DB, so it describes what the bot actually uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from knowledge import schema

FIELDS = ("cost", "duration", "format", "occupation", "place")


@dataclass
class SourceFigures:
    name: str
    title: str
    credit: str
    url: str
    as_of: str | None
    records: int
    known: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    merged: int = 0  # curated records that also carry this source's facts (CareerOneStop)

    def share(self, name: str) -> float | None:
        return self.known[name] / self.records if self.records and name in self.known else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "credit": self.credit,
            "url": self.url,
            "as_of": self.as_of,
            "records": self.records,
            "known": self.known,
            "share": {f: self.share(f) for f in FIELDS if f in self.known},
            "rejected": self.rejected,
            "notes": self.notes,
            "merged": self.merged,
        }


def _credential_figures(conn, source: str) -> tuple[int, dict[str, int]]:
    C = schema.Credential
    rows = conn.execute(
        select(C.id, C.cost_usd, C.free, C.hours, C.weeks, C.delivery).where(C.source == source)
    ).all()
    with_occ = set(
        conn.execute(
            select(schema.CredentialOccupation.credential_id)
            .join(C, C.id == schema.CredentialOccupation.credential_id)
            .where(C.source == source)
        ).scalars()
    )
    return len(rows), {
        "cost": sum(1 for r in rows if r.cost_usd is not None),
        "duration": sum(1 for r in rows if r.hours is not None or r.weeks is not None),
        "format": sum(1 for r in rows if r.delivery),
        "occupation": sum(1 for r in rows if r.id in with_occ),
        "place": 0,  # credentials are exams and courses, not bound to a campus
    }


def _program_figures(conn, source: str) -> tuple[int, dict[str, int]]:
    P, Off = schema.TrainingProgram, schema.ProgramOffering
    rows = conn.execute(
        select(P.id, P.required_cost_usd, P.hours, P.weeks).where(P.source == source)
    ).all()
    ids = {r.id for r in rows}
    offerings = conn.execute(select(Off.program_id, Off.delivery, Off.city, Off.zip)).all()
    with_format = {o.program_id for o in offerings if o.delivery and o.program_id in ids}
    with_place = {o.program_id for o in offerings if (o.city or o.zip) and o.program_id in ids}
    with_occ = set(conn.execute(select(schema.ProgramOccupation.program_id)).scalars()) & ids
    return len(rows), {
        "cost": sum(1 for r in rows if r.required_cost_usd is not None),
        "duration": sum(1 for r in rows if r.hours is not None or r.weeks is not None),
        "cost_and_duration": sum(
            1
            for r in rows
            if r.required_cost_usd is not None and (r.hours is not None or r.weeks is not None)
        ),
        "format": len(with_format),
        "occupation": len(with_occ),
        "place": len(with_place),
    }


@dataclass(frozen=True)
class SourceCredit:
    name: str
    title: str
    credit: str
    url: str
    as_of: str | None
    records: int | None


def catalog_sources(engine: Engine) -> list[SourceCredit]:
    """The sources the DB was built from, with their credit lines (footer, about page)."""
    with engine.connect() as conn:
        rows = conn.execute(select(schema.CatalogSource).order_by(schema.CatalogSource.name)).all()
    return [
        SourceCredit(
            r.name, r.title, r.credit, r.url, r.as_of.isoformat() if r.as_of else None, r.records
        )
        for r in rows
    ]


def catalog_report(engine: Engine) -> list[SourceFigures]:
    """One entry per catalog source the DB was built from."""
    out = []
    with engine.connect() as conn:
        sources = conn.execute(select(schema.CatalogSource)).all()
        for s in sources:
            programs = conn.execute(
                select(func.count())
                .select_from(schema.TrainingProgram)
                .where(schema.TrainingProgram.source == s.name)
            ).scalar_one()
            records, known = (
                _program_figures(conn, s.name) if programs else _credential_figures(conn, s.name)
            )
            report = s.report or {}
            figures = SourceFigures(
                name=s.name,
                title=s.title,
                credit=s.credit,
                url=s.url,
                as_of=s.as_of.isoformat() if s.as_of else None,
                records=records,
                known=known,
                rejected=dict(report.get("rejected") or {}),
                notes=list(report.get("notes") or []),
            )
            if s.name == "careeronestop":
                ids = conn.execute(
                    select(schema.Credential.external_ids).where(
                        schema.Credential.source == "curated"
                    )
                ).scalars()
                figures.merged = sum(1 for x in ids if x and "careeronestop" in x)
            out.append(figures)
    return out


def format_report(figures: list[SourceFigures]) -> str:
    lines = []
    for f in figures:
        lines.append(f"{f.name}: {f.records:,} records (as of {f.as_of or 'per record'})")
        for name in (*FIELDS, "cost_and_duration"):
            if name in f.known:
                lines.append(f"  known {name:<18} {f.known[name]:>6,}  {f.share(name):6.1%}")
        if f.merged:
            lines.append(f"  merged into curated records: {f.merged:,}")
        for rule, n in sorted(f.rejected.items(), key=lambda kv: -kv[1]):
            lines.append(f"  rejected by {rule:<28} {n:>6,}")
        lines += [f"  {note}" for note in f.notes]
    total = sum(f.records for f in figures)
    lines.append(f"total: {total:,} credentials and programs")
    return "\n".join(lines)
