"""Import a college's catalog (our YAML, CSV + mapping, or CTDL JSON-LD) into the catalog files.

Imports never write to the database directly: they become a normal YAML file under
``providers/`` or ``institutions/<id>.yaml``, so the DB is always rebuilt from files. The import
is all-or-nothing: every record is converted and validated with the catalog's own strict rules
(errors name file, record and field), the resulting file is checked together with the whole
catalog, and only then is the file replaced (atomically). ``plan_import`` writes nothing.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge.loaders.catalog import (
    ID_RE,
    YAML_LOADER,
    CatalogError,
    load_catalog,
    parse_credential,
    parse_institution_document,
    parse_provider_document,
)
from knowledge.loaders.convert import ConvertedRecord
from knowledge.loaders.csv_import import convert_csv, read_mapping
from knowledge.loaders.ctdl import convert_ctdl

FORMATS = ("auto", "stackwise", "csv", "ctdl")
_EXTENSIONS = {
    ".yaml": "stackwise",
    ".yml": "stackwise",
    ".csv": "csv",
    ".json": "ctdl",
    ".jsonld": "ctdl",
}


@dataclass(frozen=True)
class ImportPlan:
    """What an import would write: the full new text of one catalog file."""

    source: Path
    format: str
    target: Path
    text: str
    created: bool
    added: tuple[str, ...]
    updated: tuple[str, ...]
    skipped: tuple[str, ...] = ()

    def summary(self) -> str:
        action = "create" if self.created else "update"
        lines = [
            f"{self.source.name} ({self.format}): {action} {self.target} - "
            f"{len(self.added)} credential(s) added, {len(self.updated)} updated"
        ]
        lines += [f"  skipped: {s}" for s in self.skipped]
        return "\n".join(lines)


def detect_format(path: Path) -> str:
    """By extension, else by content: JSON -> ctdl, a comma-separated header -> csv, else YAML."""
    if path.suffix.lower() in _EXTENSIONS:
        return _EXTENSIONS[path.suffix.lower()]
    head = path.read_text(encoding="utf-8", errors="replace")[:4096].lstrip("\ufeff").lstrip()
    if head.startswith(("{", "[")):
        return "ctdl"
    first = head.splitlines()[0] if head else ""
    if "," in first and ":" not in first:
        return "csv"
    return "stackwise"


def onet_codes(reference_dir: Path) -> set[str] | None:
    """O*NET-SOC codes known to the build, or None when the reference data is not there."""
    path = reference_dir / "onet-29.3" / "occupation_data.tsv"
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["O*NET-SOC Code"] for row in csv.DictReader(fh, delimiter="\t")}


def plan_import(
    source: Path,
    catalog_dir: Path,
    *,
    fmt: str = "auto",
    mapping: Path | None = None,
    institution: str | None = None,
    today: dt.date | None = None,
    known_occupations: set[str] | None = None,
) -> ImportPlan:
    """Convert and validate ``source``; raise CatalogError listing every problem. Writes nothing."""
    today = today or dt.date.today()
    problems: list[str] = []
    if fmt not in FORMATS:
        raise CatalogError([f"unknown format {fmt!r} (one of {', '.join(FORMATS)})"])
    if not source.is_file():
        raise CatalogError([f"{source}: no such file"])
    if institution is not None and not ID_RE.match(institution):
        raise CatalogError([f"--institution: must be lowercase kebab-case, got {institution!r}"])
    fmt = detect_format(source) if fmt == "auto" else fmt
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError([f"{source.name}: cannot read: {exc}"]) from exc

    if fmt == "stackwise":
        plan = _plan_stackwise(source, text, catalog_dir, institution, known_occupations, problems)
    else:
        plan = _plan_converted(
            source, text, fmt, catalog_dir, mapping, institution, today, known_occupations, problems
        )
    if problems or plan is None:
        raise CatalogError(problems or [f"{source.name}: nothing to import"])
    _check_whole_catalog(plan, catalog_dir)
    return plan


def apply_import(plan: ImportPlan) -> None:
    """Replace the target file atomically (write a temporary file, then rename)."""
    plan.target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=plan.target.parent, prefix=f".{plan.target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(plan.text)
        os.replace(tmp, plan.target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def import_catalog(
    source: Path,
    catalog_dir: Path,
    *,
    fmt: str = "auto",
    mapping: Path | None = None,
    institution: str | None = None,
    dry_run: bool = False,
    today: dt.date | None = None,
    known_occupations: set[str] | None = None,
) -> ImportPlan:
    """Plan the import and, unless ``dry_run``, write the catalog file. All-or-nothing."""
    plan = plan_import(
        source,
        catalog_dir,
        fmt=fmt,
        mapping=mapping,
        institution=institution,
        today=today,
        known_occupations=known_occupations,
    )
    if not dry_run:
        apply_import(plan)
    return plan


# --- our own YAML format ---------------------------------------------------------------------


def _plan_stackwise(
    source: Path,
    text: str,
    catalog_dir: Path,
    institution: str | None,
    known_occupations: set[str] | None,
    problems: list[str],
) -> ImportPlan | None:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problems.append(f"{source.name}: invalid YAML: {exc}")
        return None
    if isinstance(doc, dict) and "provider" in doc:
        if institution is not None:
            problems.append(f"{source.name}: a provider file; --institution applies to CSV/CTDL")
            return None
        part = parse_provider_document(source.name, doc, problems)
        ids = [p.id for p in part.providers]
        folder = "providers"
    elif isinstance(doc, dict) and "institution" in doc:
        part = parse_institution_document(source.name, doc, problems)
        ids = [i.id for i in part.institutions]
        folder = "institutions"
        if institution is not None and ids and ids[0] != institution:
            problems.append(
                f"{source.name}, institution, field 'id': {ids[0]!r} but --institution is "
                f"{institution!r}"
            )
    else:
        problems.append(f"{source.name}: expected a 'provider:' or an 'institution:' document")
        return None
    for cred in part.credentials if known_occupations is not None else ():
        unknown = [c for c in cred.occupations if c not in known_occupations]
        if unknown:
            problems.append(
                f"{source.name}, record '{cred.id}', field 'occupations': {unknown} not in "
                "O*NET 29.3"
            )
    if problems or not ids:
        return None
    target = catalog_dir / folder / f"{ids[0]}.yaml"
    before = set(_credential_ids(_read_doc(target)))
    new = [c.id for c in part.credentials]
    return ImportPlan(
        source=source,
        format="stackwise",
        target=target,
        text=text if text.endswith("\n") else text + "\n",
        created=not target.exists(),
        added=tuple(i for i in new if i not in before),
        updated=tuple(i for i in new if i in before),
    )


# --- CSV and CTDL -----------------------------------------------------------------------------


def _plan_converted(
    source: Path,
    text: str,
    fmt: str,
    catalog_dir: Path,
    mapping_path: Path | None,
    institution: str | None,
    today: dt.date,
    known_occupations: set[str] | None,
    problems: list[str],
) -> ImportPlan | None:
    skipped: list[str] = []
    header: dict[str, Any] | None  # provider header, or institution header for a new file
    if fmt == "csv":
        if mapping_path is None:
            problems.append(f"{source.name}: a CSV import needs --mapping MAP.yaml")
            return None
        mapping = read_mapping(mapping_path, problems)
        if mapping is None:
            return None
        section = mapping.provider or {}
        if institution is None:
            owner = section.get("id") if isinstance(section.get("id"), str) else None
            if not owner:
                problems.append(
                    f"{mapping_path.name}, provider, field 'id': is required (or pass "
                    "--institution)"
                )
                return None
            if not ID_RE.match(owner):
                problems.append(
                    f"{mapping_path.name}, provider, field 'id': must be lowercase kebab-case, "
                    f"got {owner!r}"
                )
                return None
            header = {k: section.get(k) for k in ("id", "name", "kind", "url")}
            header["kind"] = header["kind"] or "college"
        else:
            owner = institution
            info = mapping.institution or section
            header = _institution_header(institution, info.get("name"), info.get("url"), info)
        records = convert_csv(
            source.name, text, mapping, owner_id=owner, today=today, problems=problems
        )
    else:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(f"{source.name}: invalid JSON: {exc}")
            return None
        result = convert_ctdl(
            source.name, doc, today=today, problems=problems, owner_id=institution
        )
        skipped = result.skipped
        records = result.records
        org = result.organization
        if institution is None:
            if org is None:
                return None
            owner = org.provider_id
            header = {"id": owner, "name": org.name, "kind": org.kind, "url": org.url}
        else:
            owner = institution
            header = _institution_header(
                institution, org.name if org else None, org.url if org else None, {}
            )
    if not records:
        return None
    # Conversion problems do not stop here: every record is validated so one run lists them all.
    credentials = _validate_records(
        records, owner, institution, known_occupations, catalog_dir, problems
    )
    if problems:
        return None
    folder = "institutions" if institution else "providers"
    target = catalog_dir / folder / f"{owner}.yaml"
    existing = _read_doc(target)
    if existing is None and target.exists():
        problems.append(f"{target}: existing file cannot be read as a catalog document")
        return None
    if institution and existing is None and not (header and header.get("name")):
        problems.append(
            f"institutions/{owner}.yaml does not exist and the import does not name the "
            "institution: add 'institution: {name: ..., url: ...}' to the mapping file"
        )
        return None
    doc, added, updated = _merge(
        existing, "institution" if institution else "provider", header, credentials
    )
    check = (parse_institution_document if institution else parse_provider_document)(
        target.name, doc, problems
    )
    if problems or not check.credentials:
        return None
    banner = _banner(target) or (
        f"# Imported by `stackwise catalog import` from {source.name} ({fmt}) on "
        f"{today.isoformat()}.\n# Re-importing replaces records with the same id; "
        "verified: false until someone re-reads them.\n"
    )
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return ImportPlan(
        source=source,
        format=fmt,
        target=target,
        text=banner + body,
        created=existing is None,
        added=tuple(added),
        updated=tuple(updated),
        skipped=tuple(skipped),
    )


class _Dumper(yaml.SafeDumper):
    """Plain YAML for people: no ``&id001`` anchors when the same value repeats."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _institution_header(iid: str, name: Any, url: Any, info: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": iid,
        "name": name,
        "url": url,
        "example": bool(info.get("example", False)),
        "branding": {"primary_color": None, "logo_url": None},
        "allowed_origins": [],
        "handoff_contact": None,
    }


def _validate_records(
    records: list[ConvertedRecord],
    owner: str,
    institution: str | None,
    known_occupations: set[str] | None,
    catalog_dir: Path,
    problems: list[str],
) -> list[dict[str, Any]]:
    """Validate each converted record with the catalog's own rules; return the clean dicts."""
    elsewhere = _ids_in_other_files(
        catalog_dir, owner, "institutions" if institution else "providers"
    )
    seen: dict[str, str] = {}
    clean: list[dict[str, Any]] = []
    for rec in records:
        before = len(problems)
        parsed = parse_credential(rec.where, rec.raw, owner, problems, institution_id=institution)
        for i in range(before, len(problems)):
            problems[i] = _with_hint(problems[i], rec.hints)
        label = f"{rec.where.rsplit(', record', 1)[0]}, record '{rec.raw.get('id')}'"
        cid = rec.raw.get("id")
        if isinstance(cid, str):
            if cid in seen:
                problems.append(f"{label}, field 'id': same id as {seen[cid]} (rename one)")
            seen.setdefault(cid, rec.where)
            if cid in elsewhere:
                problems.append(f"{label}, field 'id': already used in {elsewhere[cid]}")
        if parsed and known_occupations is not None:
            unknown = [c for c in parsed.occupations if c not in known_occupations]
            if unknown:
                problems.append(
                    _with_hint(
                        f"{label}, field 'occupations': {unknown} not in O*NET 29.3", rec.hints
                    )
                )
        if parsed and len(problems) == before:
            clean.append(_to_yaml(rec.raw))
    return clean


def _with_hint(problem: str, hints: dict[str, str]) -> str:
    """Append where our field came from: ``field 'cost_usd'`` -> ``... (column 'Cost')``."""
    for m in re.finditer(r"field '([^']+)'", problem):
        origin = hints.get(m.group(1))
        if origin:
            if origin in problem:
                return problem
            return f"{problem[: m.end()]} ({origin}){problem[m.end() :]}"
    return problem


_ORDER = (
    "id",
    "name",
    "type",
    "description",
    "url",
    "platform",
    "delivery",
    "level",
    "hours",
    "weeks",
    "cost_usd",
    "cost_note",
    "free",
    "financial_aid",
    "prerequisites",
    "assessment",
    "verification",
    "renewal",
    "language",
    "verified",
    "skills",
    "occupations",
    "source",
)


def _to_yaml(raw: dict[str, Any]) -> dict[str, Any]:
    """The record in the documented field order, lists as plain lists, unknowns kept as null."""
    raw = {"verified": False, **raw}
    out: dict[str, Any] = {}
    for key in _ORDER:
        if key in raw:
            value = list(raw[key]) if isinstance(raw[key], tuple) else raw[key]
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # 180, not 180.0
            out[key] = value
    return out


def _merge(
    existing: dict[str, Any] | None,
    head_key: str,
    header: dict[str, Any] | None,
    credentials: list[dict[str, Any]],
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Existing file + imported credentials: same id replaces in place, new ids are appended."""
    doc = copy.deepcopy(existing) if existing else {head_key: header}
    current = doc.get("credentials") or []
    index = {c.get("id"): i for i, c in enumerate(current) if isinstance(c, dict)}
    added, updated = [], []
    for cred in credentials:
        if cred["id"] in index:
            current[index[cred["id"]]] = cred
            updated.append(cred["id"])
        else:
            index[cred["id"]] = len(current)
            current.append(cred)
            added.append(cred["id"])
    doc["credentials"] = current
    return doc, added, updated


def _read_doc(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return doc if isinstance(doc, dict) else None


def _credential_ids(doc: dict[str, Any] | None) -> list[str]:
    creds = (doc or {}).get("credentials") or []
    return [c["id"] for c in creds if isinstance(c, dict) and isinstance(c.get("id"), str)]


def _ids_in_other_files(catalog_dir: Path, owner: str, folder: str) -> dict[str, str]:
    target = catalog_dir / folder / f"{owner}.yaml"
    out: dict[str, str] = {}
    for path in sorted(catalog_dir.glob("*/*.yaml")):
        if path != target:
            for cid in _credential_ids(_read_doc(path)):
                out.setdefault(cid, f"{path.parent.name}/{path.name}")
    return out


def _banner(path: Path) -> str:
    """The comment block at the top of an existing file (kept when the file is rewritten)."""
    if not path.exists():
        return ""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line)
    return "".join(lines)


def _check_whole_catalog(plan: ImportPlan, catalog_dir: Path) -> None:
    """Load the catalog as it would be after the import (in a temporary copy)."""
    with tempfile.TemporaryDirectory(prefix="stackwise-import-") as tmp:
        copy_dir = Path(tmp) / "catalog"
        if catalog_dir.exists():
            shutil.copytree(catalog_dir, copy_dir)
        target = copy_dir / plan.target.relative_to(catalog_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(plan.text, encoding="utf-8")
        try:
            load_catalog(copy_dir)
        except CatalogError as exc:
            raise CatalogError(
                [f"after importing {plan.source.name}: {p}" for p in exc.problems]
            ) from exc


__all__ = [
    "FORMATS",
    "ImportPlan",
    "apply_import",
    "detect_format",
    "import_catalog",
    "onet_codes",
    "plan_import",
]
