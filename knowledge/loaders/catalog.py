"""Read and validate the catalog YAML files (format: docs/catalog-format.md).

Validation is strict and every error names the file, the record and the field, so a college
editing its own file can fix it without reading code. Loading is all-or-nothing: any error and
nothing is returned.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge import lti_config

CREDENTIAL_TYPES = {
    "professional_certificate",
    "industry_certification",
    "digital_badge",
    "college_certificate",
    "apprenticeship",
    "license",
    "certificate_of_completion",
}
DELIVERY = {
    "online_self_paced",
    "online_instructor_led",
    "in_person",
    "hybrid",
    "testing_center",
    "online_proctored",
}
LEVELS = {"beginner", "intermediate", "advanced"}
PROVIDER_KINDS = {
    "employer",
    "vendor",
    "industry_body",
    "college",
    "nonprofit",
    "government",
    "platform",
    "professional_association",
}
ASSESSMENTS = {
    "proctored_exam",
    "projects",
    "quizzes",
    "completion",
    "practical_exam",
    "portfolio",
    "clinical_hours",
}
RECOGNITION_KINDS = {
    "employer_consortium",
    "named_employers",
    "industry_body",
    "government_framework",
    "licensure_requirement",
    "union_or_apprenticeship",
}
CREDIT_LEVELS = {"lower_division", "upper_division", "graduate", "vocational"}
PROGRAM_LEVELS = {"certificate", "associate", "bachelor", "master", "doctorate"}
ARTICULATION_KINDS = {"embedded", "transfer_credit", "prior_learning"}

# libyaml's loader when PyYAML was built with it (10x faster than the pure-Python safe loader).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SOC_RE = re.compile(r"^\d{2}-\d{4}\.\d{2}$")
MAX_TEXT = 5000


class CatalogError(ValueError):
    """One or more problems in catalog input; ``problems`` lists each as file/record/field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s) in catalog input:\n{shown}{more}")


@dataclass(frozen=True)
class Source:
    url: str
    recorded: dt.date


@dataclass(frozen=True)
class RecognitionRecord:
    kind: str
    recognized_by: str
    evidence: str
    source: Source


@dataclass(frozen=True)
class CreditRecord:
    issuer: str
    semester_hours: float | None
    level: str | None
    subject: str | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    source: Source


@dataclass(frozen=True)
class CredentialRecord:
    id: str
    provider_id: str
    name: str
    type: str
    description: str
    url: str
    source: Source
    platform: str | None = None
    delivery: tuple[str, ...] = ()
    level: str | None = None
    hours: float | None = None
    weeks: float | None = None
    cost_usd: float | None = None
    cost_note: str | None = None
    free: bool = False
    financial_aid: bool = False
    prerequisites: str | None = None
    assessment: tuple[str, ...] = ()
    verification: str | None = None
    renewal: str | None = None
    language: str = "en"
    verified: bool = False
    skills: tuple[str, ...] = ()
    occupations: tuple[str, ...] = ()
    recognition: tuple[RecognitionRecord, ...] = ()
    credit: tuple[CreditRecord, ...] = ()
    institution_id: str | None = None


@dataclass(frozen=True)
class ProviderRecord:
    id: str
    name: str
    kind: str
    url: str | None


@dataclass(frozen=True)
class ProgramRecord:
    id: str
    institution_id: str
    name: str
    level: str
    total_credits: float | None
    cost_note: str | None
    url: str | None
    source: Source


@dataclass(frozen=True)
class ArticulationRecord:
    credential: str
    program: str
    credits_awarded: float | None
    requirement: str | None
    kind: str
    source: Source


@dataclass(frozen=True)
class PathwayRecord:
    id: str
    institution_id: str | None
    name: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class InstitutionRecord:
    id: str
    name: str
    url: str | None
    example: bool
    branding: dict[str, Any]
    allowed_origins: tuple[str, ...]
    handoff_contact: str | None


@dataclass
class Catalog:
    providers: list[ProviderRecord] = field(default_factory=list)
    credentials: list[CredentialRecord] = field(default_factory=list)
    institutions: list[InstitutionRecord] = field(default_factory=list)
    programs: list[ProgramRecord] = field(default_factory=list)
    articulations: list[ArticulationRecord] = field(default_factory=list)
    pathways: list[PathwayRecord] = field(default_factory=list)

    def merge(self, other: Catalog) -> None:
        self.providers += other.providers
        self.credentials += other.credentials
        self.institutions += other.institutions
        self.programs += other.programs
        self.articulations += other.articulations
        self.pathways += other.pathways


class _Reader:
    """Typed field access over a mapping that records problems instead of raising."""

    def __init__(self, where: str, data: Any, problems: list[str]):
        self.where = where
        self.problems = problems
        if not isinstance(data, dict):
            problems.append(f"{where}: expected a mapping, got {type(data).__name__}")
            data = {}
        self.data: dict[str, Any] = data

    def fail(self, name: str, message: str) -> None:
        self.problems.append(f"{self.where}, field '{name}': {message}")

    def text(self, name: str, *, required: bool = True, limit: int = MAX_TEXT) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.fail(name, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(name, f"must be non-empty text, got {value!r}")
            return None
        if len(value) > limit:
            self.fail(name, f"is longer than {limit} characters")
            return None
        if "<" in value and re.search(r"<\s*/?\s*[a-zA-Z]", value):
            self.fail(name, "must be plain text (HTML tags are not allowed)")
            return None
        return value.strip()

    def ident(self, name: str) -> str | None:
        value = self.text(name)
        if value is not None and not ID_RE.match(value):
            self.fail(name, f"must be lowercase kebab-case, got {value!r}")
            return None
        return value

    def url(self, name: str, *, required: bool = True) -> str | None:
        value = self.text(name, required=required, limit=500)
        if value is not None and not re.match(r"^https?://[^\s]+$", value):
            self.fail(name, f"must be an http(s) URL, got {value!r}")
            return None
        return value

    def choice(self, name: str, allowed: set[str], *, required: bool = True) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.fail(name, f"is required (one of {sorted(allowed)})")
            return None
        if value not in allowed:
            self.fail(name, f"must be one of {sorted(allowed)}, got {value!r}")
            return None
        return str(value)

    def choices(self, name: str, allowed: set[str]) -> tuple[str, ...]:
        value = self.data.get(name) or []
        if not isinstance(value, list):
            self.fail(name, "must be a list")
            return ()
        bad = [v for v in value if v not in allowed]
        if bad:
            self.fail(name, f"unknown value(s) {bad}; allowed: {sorted(allowed)}")
            return ()
        return tuple(value)

    def number(self, name: str, *, maximum: float) -> float | None:
        """A non-negative number or null (= unknown). Never defaulted to zero."""
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(name, f"must be a number or null (unknown), got {value!r}")
            return None
        if value < 0 or value > maximum:
            self.fail(name, f"must be between 0 and {maximum}, got {value!r}")
            return None
        return float(value)

    def flag(self, name: str) -> bool:
        value = self.data.get(name, False)
        if not isinstance(value, bool):
            self.fail(name, f"must be true or false, got {value!r}")
            return False
        return value

    def strings(self, name: str, *, limit: int = 200) -> tuple[str, ...]:
        value = self.data.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(name, "must be a list of non-empty strings")
            return ()
        too_long = [v for v in value if len(v) > limit]
        if too_long:
            self.fail(name, f"entries longer than {limit} characters: {too_long[:3]}")
            return ()
        return tuple(v.strip() for v in value)

    def date(self, name: str, *, required: bool = True) -> dt.date | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.fail(name, "is required (ISO date)")
            return None
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(name, f"must be an ISO date (YYYY-MM-DD), got {value!r}")
            return None

    def source(self, name: str = "source") -> Source | None:
        raw = self.data.get(name)
        if raw is None:
            self.fail(name, "is required: {url, recorded}")
            return None
        sub = _Reader(f"{self.where}, field '{name}'", raw, self.problems)
        url = sub.url("url")
        recorded = sub.date("recorded")
        if url is None or recorded is None:
            return None
        return Source(url=url, recorded=recorded)

    def records(self, name: str) -> list[Any]:
        value = self.data.get(name) or []
        if not isinstance(value, list):
            self.fail(name, "must be a list")
            return []
        return value


def _recognition(where: str, raw: Any, problems: list[str]) -> RecognitionRecord | None:
    r = _Reader(where, raw, problems)
    kind = r.choice("kind", RECOGNITION_KINDS)
    by = r.text("recognized_by")
    evidence = r.text("evidence")
    source = r.source()
    if None in (kind, by, evidence, source):
        return None
    return RecognitionRecord(kind=kind, recognized_by=by, evidence=evidence, source=source)  # type: ignore[arg-type]


def _credit(where: str, raw: Any, problems: list[str]) -> CreditRecord | None:
    r = _Reader(where, raw, problems)
    issuer = r.text("issuer")
    hours = r.number("semester_hours", maximum=130)
    level = r.choice("level", CREDIT_LEVELS, required=False)
    subject = r.text("subject", required=False)
    valid_from = r.date("valid_from", required=False)
    valid_to = r.date("valid_to", required=False)
    source = r.source()
    if issuer is None or source is None:
        return None
    return CreditRecord(issuer, hours, level, subject, valid_from, valid_to, source)


def parse_credential(
    where: str, raw: Any, provider_id: str, problems: list[str], institution_id: str | None = None
) -> CredentialRecord | None:
    r = _Reader(where, raw, problems)
    before = len(problems)
    cid = r.ident("id")
    if cid:
        r.where = f"{where.rsplit(', record', 1)[0]}, record '{cid}'"
    occupations = r.strings("occupations", limit=12)
    for code in occupations:
        if not SOC_RE.match(code):
            r.fail("occupations", f"{code!r} is not an O*NET-SOC code like 15-1232.00")
    record = CredentialRecord(
        id=cid or "",
        provider_id=provider_id,
        name=r.text("name", limit=300) or "",
        type=r.choice("type", CREDENTIAL_TYPES) or "",
        description=r.text("description") or "",
        url=r.url("url") or "",
        source=r.source() or Source("", dt.date.min),
        platform=r.text("platform", required=False, limit=120),
        delivery=r.choices("delivery", DELIVERY),
        level=r.choice("level", LEVELS, required=False),
        hours=r.number("hours", maximum=10_000),
        weeks=r.number("weeks", maximum=520),
        cost_usd=r.number("cost_usd", maximum=100_000),
        cost_note=r.text("cost_note", required=False),
        free=r.flag("free"),
        financial_aid=r.flag("financial_aid"),
        prerequisites=r.text("prerequisites", required=False),
        assessment=r.choices("assessment", ASSESSMENTS),
        verification=r.text("verification", required=False),
        renewal=r.text("renewal", required=False),
        language=r.text("language", required=False, limit=10) or "en",
        verified=r.flag("verified"),
        skills=r.strings("skills"),
        occupations=occupations,
        recognition=tuple(
            x
            for i, raw_rec in enumerate(r.records("recognition"))
            if (x := _recognition(f"{r.where}, recognition #{i + 1}", raw_rec, problems))
        ),
        credit=tuple(
            x
            for i, raw_cr in enumerate(r.records("credit"))
            if (x := _credit(f"{r.where}, credit #{i + 1}", raw_cr, problems))
        ),
        institution_id=institution_id,
    )
    if record.free and record.cost_usd not in (None, 0.0):
        r.fail("cost_usd", "a free credential cannot have a positive cost")
    return record if len(problems) == before else None


def _load_yaml(path: Path, problems: list[str]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name}: cannot read: {exc}")
        return None
    try:
        return yaml.load(text, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        problems.append(f"{path.name}: invalid YAML: {exc}")
        return None


def parse_provider_document(name: str, doc: Any, problems: list[str]) -> Catalog:
    catalog = Catalog()
    top = _Reader(name, doc, problems)
    head = _Reader(f"{name}, provider", top.data.get("provider"), problems)
    pid = head.ident("id")
    pname = head.text("name")
    kind = head.choice("kind", PROVIDER_KINDS)
    purl = head.url("url", required=False)
    if pid and pname and kind:
        catalog.providers.append(ProviderRecord(pid, pname, kind, purl))
    for i, raw in enumerate(top.records("credentials")):
        rec = parse_credential(f"{name}, record #{i + 1}", raw, pid or "", problems)
        if rec:
            catalog.credentials.append(rec)
    return catalog


def parse_institution_document(name: str, doc: Any, problems: list[str]) -> Catalog:
    catalog = Catalog()
    top = _Reader(name, doc, problems)
    head = _Reader(f"{name}, institution", top.data.get("institution"), problems)
    iid = head.ident("id")
    iname = head.text("name")
    branding = head.data.get("branding") or {}
    if not isinstance(branding, dict):
        head.fail("branding", "must be a mapping")
        branding = {}
    if iid and head.data.get("lti") is not None:
        # Read at run time by knowledge/lti_config.py; checked here so a bad block fails the build.
        try:
            lti_config.parse_platforms(iid, head.data["lti"], f"{name}, institution, lti")
        except lti_config.LtiConfigError as exc:
            problems.append(str(exc))
    if iid and iname:
        catalog.institutions.append(
            InstitutionRecord(
                id=iid,
                name=iname,
                url=head.url("url", required=False),
                example=head.flag("example"),
                branding=branding,
                allowed_origins=head.strings("allowed_origins"),
                handoff_contact=head.text("handoff_contact", required=False),
            )
        )
    for i, raw in enumerate(top.records("programs")):
        r = _Reader(f"{name}, program #{i + 1}", raw, problems)
        pid, pname = r.ident("id"), r.text("name")
        level = r.choice("level", PROGRAM_LEVELS)
        total = r.number("total_credits", maximum=400)
        cost_note = r.text("cost_note", required=False)
        url = r.url("url", required=False)
        source = r.source()
        if pid and pname and level and source and iid:
            catalog.programs.append(
                ProgramRecord(pid, iid, pname, level, total, cost_note, url, source)
            )
    for i, raw in enumerate(top.records("articulations")):
        r = _Reader(f"{name}, articulation #{i + 1}", raw, problems)
        cred, prog = r.ident("credential"), r.ident("program")
        credits = r.number("credits_awarded", maximum=130)
        requirement = r.text("requirement", required=False)
        kind = r.choice("kind", ARTICULATION_KINDS)
        source = r.source()
        if cred and prog and kind and source:
            catalog.articulations.append(
                ArticulationRecord(cred, prog, credits, requirement, kind, source)
            )
    for i, raw in enumerate(top.records("pathways")):
        r = _Reader(f"{name}, pathway #{i + 1}", raw, problems)
        pw_id, pw_name, steps = r.ident("id"), r.text("name"), r.strings("steps")
        if pw_id and pw_name and steps:
            catalog.pathways.append(PathwayRecord(pw_id, iid, pw_name, steps))
    for i, raw in enumerate(top.records("credentials")):
        rec = parse_credential(
            f"{name}, credential #{i + 1}", raw, f"{iid}", problems, institution_id=iid
        )
        if rec:
            catalog.credentials.append(rec)
    if top.records("credentials") and iid and iname:
        # A college's own credentials are offered by the college as provider.
        catalog.providers.append(
            ProviderRecord(iid, iname, "college", head.url("url", required=False))
        )
    return catalog


def check_references(catalog: Catalog, problems: list[str]) -> None:
    """Cross-file checks: unique ids and references that resolve."""

    def dupes(kind: str, ids: list[str]) -> None:
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                problems.append(f"duplicate {kind} id {i!r}")
            seen.add(i)

    dupes("provider", [p.id for p in catalog.providers])
    dupes("credential", [c.id for c in catalog.credentials])
    dupes("institution", [i.id for i in catalog.institutions])
    dupes("program", [p.id for p in catalog.programs])
    dupes("pathway", [p.id for p in catalog.pathways])
    creds = {c.id for c in catalog.credentials}
    programs = {p.id for p in catalog.programs}
    for a in catalog.articulations:
        if a.credential not in creds:
            problems.append(f"articulation {a.credential}->{a.program}: unknown credential")
        if a.program not in programs:
            problems.append(f"articulation {a.credential}->{a.program}: unknown program")
    for pw in catalog.pathways:
        for step in pw.steps:
            if step not in creds and step not in programs:
                problems.append(f"pathway {pw.id!r}: step {step!r} is no credential or program")


def load_catalog(catalog_dir: Path) -> Catalog:
    """Load every provider and institution file; raise CatalogError listing all problems."""
    problems: list[str] = []
    catalog = Catalog()
    provider_files = sorted((catalog_dir / "providers").glob("*.yaml"))
    if not provider_files:
        problems.append(f"{catalog_dir / 'providers'}: no provider files found")
    for path in provider_files:
        doc = _load_yaml(path, problems)
        if doc is not None:
            part = parse_provider_document(path.name, doc, problems)
            if part.providers and part.providers[0].id != path.stem:
                problems.append(f"{path.name}: provider id {part.providers[0].id!r} != file name")
            catalog.merge(part)
    for path in sorted((catalog_dir / "institutions").glob("*.yaml")):
        doc = _load_yaml(path, problems)
        if doc is not None:
            catalog.merge(parse_institution_document(path.name, doc, problems))
    check_references(catalog, problems)
    if problems:
        raise CatalogError(problems)
    return catalog
