"""Imported records -> knowledge DB rows (plain dicts for ``insert``), kept apart from the build
so each mapping is in one place. Unknown values stay None; nothing is defaulted."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from knowledge.sources.links import CredentialLink
from knowledge.sources.records import CertificationRecord, TrainingProgramRecord

ZipPoint = Callable[[str], "tuple[float, float] | None"]


def certification_facts(c: CertificationRecord) -> dict[str, Any]:
    """The CareerOneStop facts a credential row carries, whether merged into a curated record
    or a record of its own."""
    return {
        "cert_type": c.cert_type,
        "exam_required": c.exam_required,
        "training_required": c.training_required,
        "renewal_years": c.renewal_years,
        "ceu_required": c.ceu_required,
        "exam_details": c.exam_details,
        "acronym": c.acronym,
    }


def merge_into_curated(row: dict[str, Any], c: CertificationRecord) -> dict[str, Any]:
    """A curated credential row that is the same credential as ``c``: curated facts win;
    CareerOneStop adds its id, exam and renewal facts, and its description where ours has none."""
    merged = dict(row)
    merged["external_ids"] = {**(row.get("external_ids") or {}), "careeronestop": c.external_id}
    for key, value in certification_facts(c).items():
        if merged.get(key) is None:
            merged[key] = value
    if not (merged.get("description") or "").strip() and c.description:
        merged["description"] = c.description
    if not merged.get("renewal") and c.renewal_years:
        merged["renewal"] = f"every {c.renewal_years:g} years (CareerOneStop)"
    return merged


def certification_row(c: CertificationRecord) -> dict[str, Any]:
    return {
        "id": c.id,
        "provider_id": c.org_id,
        "institution_id": None,
        "name": c.name,
        "type": "industry_certification",
        "description": c.description or "",
        "url": c.url or c.provenance.url,
        "platform": None,
        "delivery": [],
        "level": None,
        "hours": None,
        "weeks": None,
        "cost_usd": None,
        "cost_note": None,
        "free": False,
        "financial_aid": False,
        "prerequisites": None,
        "assessment": [],
        "verification": None,
        "renewal": f"every {c.renewal_years:g} years" if c.renewal_years else None,
        "language": "en",
        "source_url": c.provenance.url,
        "recorded": c.provenance.as_of,
        "verified": False,
        "source": c.provenance.source,
        "as_of": c.provenance.as_of,
        "external_ids": {"careeronestop": c.external_id},
        "quality_notes": list(c.quality_notes),
        **certification_facts(c),
    }


def certification_provider_rows(certs: Iterable[CertificationRecord]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for c in certs:
        seen.setdefault(
            c.org_id,
            {
                "id": c.org_id,
                "name": c.org_name,
                "kind": "certifying_organization",
                "url": c.org_url,
                "source": c.provenance.source,
                "acronym": c.org_acronym,
            },
        )
    return list(seen.values())


def program_provider_rows(programs: Iterable[TrainingProgramRecord]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for p in programs:
        seen.setdefault(
            p.provider_id,
            {
                "id": p.provider_id,
                "name": p.provider_name,
                "kind": p.provider_type,
                "url": None,
                "source": p.provenance.source,
                "acronym": None,
            },
        )
    return list(seen.values())


def program_row(p: TrainingProgramRecord, num: int, link: CredentialLink | None) -> dict[str, Any]:
    return {
        "id": p.id,
        "num": num,
        "provider_id": p.provider_id,
        "provider_type": p.provider_type,
        "name": p.name,
        "description": p.description,
        "url": p.url,
        "cip": p.cip,
        "outcome": p.outcome,
        "credential_name": p.credential_name,
        "credential_id": link.credential_id if link else None,
        "credential_match_rule": link.rule if link else None,
        "credential_match_score": link.score if link else None,
        "hours": p.hours,
        "weeks": p.weeks,
        "tuition_fees_usd": p.tuition_fees_usd,
        "books_supplies_usd": p.books_supplies_usd,
        "required_cost_usd": p.required_cost_usd,
        "optional_cost_usd": p.optional_cost_usd,
        "out_of_district_usd": p.out_of_district_usd,
        "cost_notes": list(p.cost_notes),
        "pell_eligible": p.pell_eligible,
        "prerequisites": p.prerequisites,
        "apprentices": p.apprentices,
        "source": p.provenance.source,
        "source_url": p.provenance.url,
        "as_of": p.provenance.as_of,
        "quality_notes": list(p.quality_notes),
    }


def offering_rows(p: TrainingProgramRecord, zip_point: ZipPoint) -> list[dict[str, Any]]:
    rows = []
    for o in p.offerings:
        point = zip_point(o.zip) if o.zip else None
        rows.append(
            {
                "program_id": p.id,
                "campus_id": o.campus_id,
                "campus": o.campus,
                "address": o.address,
                "city": o.city,
                "county": o.county,
                "state": o.state,
                "zip": o.zip,
                "lat": point[0] if point else None,
                "lon": point[1] if point else None,
                "delivery": o.delivery,
                "transit": o.transit,
                "childcare": o.childcare,
                "flexible_hours": o.flexible_hours,
                "source_program_id": o.source_program_id,
            }
        )
    return rows
