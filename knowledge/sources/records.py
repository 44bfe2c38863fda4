"""Typed records that every catalog source produces (curated YAML, Texas ETPL, CareerOneStop).

A *credential* is what a learner earns (CTDL ``ceterms:Credential``); a *training program* is a
learning opportunity offered by a provider (CTDL ``ceterms:LearningOpportunityProfile``) that may
lead to a credential. The two are kept apart here and in the DB (``knowledge/schema.py``).
Every record carries its provenance: the source's name, the URL it came from and an as-of date.
Unknown numbers are ``None``, never 0 or a guess; why a value was rejected goes into
``quality_notes``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Provenance:
    source: str  # a catalog source's name: "curated", "texas-etpl", "careeronestop"
    url: str  # where this record's facts can be read (its own page, else the data set)
    as_of: dt.date  # the date the source states for the record (ETPL last update, file date)


@dataclass(frozen=True)
class Offering:
    """One place (or mode) a training program is offered: an ETPL campus row."""

    campus_id: str | None
    campus: str | None
    address: str | None
    city: str | None
    county: str | None
    state: str | None
    zip: str | None  # 5 digits
    delivery: str | None  # "in_person" | "hybrid" | "online_instructor_led" | None if unknown
    transit: bool | None = None  # public transit nearby (ETPL flag; None: not stated)
    childcare: bool | None = None  # onsite childcare
    flexible_hours: bool | None = None  # evening / weekend / flexible hours
    source_program_id: str | None = None  # the ETPL Program ID of this row


@dataclass(frozen=True)
class TrainingProgramRecord:
    """A learning opportunity from a provider (an ETPL program, grouped over its campuses)."""

    id: str  # stable, e.g. "etpl-<provider id>-<program id>"
    provider_id: str  # stable provider id, e.g. "etpl-provider-<Provider ID>"
    provider_name: str
    provider_type: str  # "community_college" | "university" | "private_for_profit" | ...
    name: str
    description: str | None
    url: str | None  # program page, normalised to http(s)
    cip: str | None  # "NN.NNNN"
    occupations: tuple[str, ...]  # O*NET-SOC "NN-NNNN.NN", stated by the source
    outcome: str | None  # one of knowledge.loaders.catalog.CREDENTIAL_TYPES + "associate_degree",
    #                      "bachelor_degree", "employment_only", "skill_gain", "diploma"; None: unknown
    credential_name: str | None  # the credential it leads to, as the source names it
    hours: float | None  # contact hours
    weeks: float | None
    tuition_fees_usd: float | None
    books_supplies_usd: float | None
    required_cost_usd: float | None  # tuition and fees + books and supplies, when both are known
    optional_cost_usd: float | None
    out_of_district_usd: float | None  # out-of-district tuition and fees
    cost_notes: tuple[str, ...]  # the source's own descriptions of the costs
    pell_eligible: bool | None
    prerequisites: str | None
    apprentices: int | None
    offerings: tuple[Offering, ...]
    provenance: Provenance
    quality_notes: tuple[str, ...] = ()  # e.g. "weeks 99999 rejected: sentinel value"


@dataclass(frozen=True)
class CertificationRecord:
    """A certification from a certifying organization (CareerOneStop Certification Finder)."""

    id: str  # "cos-<CERT_ID>"
    external_id: str  # CareerOneStop CERT_ID
    name: str
    acronym: str | None
    url: str | None
    description: str | None
    org_id: str  # "cos-org-<ORG_ID>"
    org_name: str
    org_acronym: str | None
    org_url: str | None
    cert_type: str | None  # "core" | "advanced" | "specialty" | "product"
    training_required: bool | None
    exam_required: bool | None
    renewal_years: float | None
    ceu_required: bool | None
    reexam_required: bool | None
    cpd_required: bool | None
    exam_details: str | None
    provenance: Provenance
    quality_notes: tuple[str, ...] = ()


@dataclass
class SourceReport:
    """What a source's import found: counts of records and of values each rule rejected."""

    source: str
    records: int = 0
    known: dict[str, int] = field(default_factory=dict)  # field -> records with a known value
    rejected: dict[str, int] = field(default_factory=dict)  # rule -> values rejected by it
    notes: list[str] = field(default_factory=list)
