"""Convert a college's CSV export into Stackwise catalog records, through a column mapping.

The mapping is a small YAML file (format: docs/catalog-format.md, "Importing a college's
catalog"): ``columns`` maps our field -> CSV column, ``defaults`` gives fixed values for fields
the CSV lacks, ``provider`` / ``institution`` describe who offers the credentials. List fields are
split on ``;``. An empty cell is null (unknown), never 0.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.loaders.convert import ConvertedRecord, credential_id, normalize_soc

TEXT_FIELDS = {
    "id",
    "name",
    "type",
    "description",
    "url",
    "platform",
    "level",
    "cost_note",
    "prerequisites",
    "verification",
    "renewal",
    "language",
}
NUMBER_FIELDS = {"hours", "weeks", "cost_usd"}
BOOL_FIELDS = {"free", "financial_aid", "verified"}
LIST_FIELDS = {"delivery", "assessment", "skills", "occupations"}
SOURCE_FIELDS = {"source_url", "recorded"}
FIELDS = TEXT_FIELDS | NUMBER_FIELDS | BOOL_FIELDS | LIST_FIELDS | SOURCE_FIELDS
REQUIRED_COLUMNS = ("name", "source_url")
TRUE = {"true", "yes", "y", "1", "x"}
FALSE = {"false", "no", "n", "0"}


@dataclass(frozen=True)
class CsvMapping:
    columns: dict[str, str]
    defaults: dict[str, Any] = field(default_factory=dict)
    provider: dict[str, Any] | None = None
    institution: dict[str, Any] | None = None
    separator: str = ";"


def read_mapping(path: Path, problems: list[str]) -> CsvMapping | None:
    """Read and check a mapping file; problems name the mapping file and the field."""
    name = path.name
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(f"{name}: cannot read mapping: {exc}")
        return None
    if not isinstance(doc, dict):
        problems.append(f"{name}: expected a mapping of our field -> CSV column")
        return None
    before = len(problems)
    columns = doc.get("columns", doc if "columns" not in doc else None)
    if not isinstance(columns, dict):
        problems.append(f"{name}, field 'columns': must map our field -> CSV column")
        return None
    extra = {"defaults", "provider", "institution", "separator"} if "columns" in doc else set()
    columns = {k: v for k, v in columns.items() if k not in extra}
    for key, column in columns.items():
        if key not in FIELDS:
            problems.append(
                f"{name}, field {key!r}: not a catalog field (allowed: {', '.join(sorted(FIELDS))})"
            )
        elif not isinstance(column, str) or not column.strip():
            problems.append(f"{name}, field {key!r}: must name a CSV column, got {column!r}")
    for key in REQUIRED_COLUMNS:
        if key not in columns:
            problems.append(f"{name}, field {key!r}: a column is required")
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        problems.append(f"{name}, field 'defaults': must be a mapping of our field -> value")
        defaults = {}
    for key in defaults:
        if key not in FIELDS - SOURCE_FIELDS - {"id", "name"}:
            problems.append(f"{name}, defaults, field {key!r}: cannot have a default")
    sections: dict[str, dict[str, Any] | None] = {}
    for section in ("provider", "institution"):
        value = doc.get(section)
        if value is not None and not isinstance(value, dict):
            problems.append(f"{name}, field {section!r}: must be a mapping (id, name, ...)")
            value = None
        sections[section] = value
    separator = doc.get("separator", ";")
    if not isinstance(separator, str) or not separator:
        problems.append(f"{name}, field 'separator': must be a non-empty string")
        separator = ";"
    if len(problems) > before:
        return None
    return CsvMapping(
        columns={k: v.strip() for k, v in columns.items()},
        defaults=dict(defaults),
        provider=sections["provider"],
        institution=sections["institution"],
        separator=separator,
    )


def _number(text: str) -> float:
    cleaned = text.replace("$", "").replace(",", "").replace("USD", "").strip()
    return float(cleaned)


def convert_csv(
    name: str,
    text: str,
    mapping: CsvMapping,
    *,
    owner_id: str,
    today: dt.date,
    problems: list[str],
) -> list[ConvertedRecord]:
    """Convert every data row; problems name the CSV file, the record and the field (column)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    if not header:
        problems.append(f"{name}: empty CSV (a header row is required)")
        return []
    reader.fieldnames = header
    missing = {f: c for f, c in mapping.columns.items() if c not in header}
    for fld, column in missing.items():
        problems.append(f"{name}, field '{fld}': column {column!r} is not in the header {header}")
    if missing:
        return []
    records: list[ConvertedRecord] = []
    for index, row in enumerate(reader, 1):
        line = reader.line_num

        def cell(fld: str, row: dict[str, Any] = row) -> str | None:
            value = row.get(mapping.columns[fld])
            value = value.strip() if isinstance(value, str) else None
            return value or None

        title = cell("name")
        explicit_id = cell("id") if "id" in mapping.columns else None
        cid = explicit_id or (credential_id(owner_id, title) if title and owner_id else None)
        label = f"{name}, record '{cid}'" if cid else f"{name}, record #{index}"
        raw: dict[str, Any] = {
            k: v for k, v in mapping.defaults.items() if k not in mapping.columns
        }
        raw["id"] = cid
        for fld in mapping.columns:
            if fld in ("id", "source_url", "recorded"):
                continue
            value = cell(fld)
            where = f"{label} (line {line}), field '{fld}' (column {mapping.columns[fld]!r})"
            if fld in TEXT_FIELDS:
                raw[fld] = value
            elif fld in NUMBER_FIELDS:
                if value is None:
                    raw[fld] = None  # empty cell = unknown, never 0
                    continue
                try:
                    raw[fld] = _number(value)
                except ValueError:
                    problems.append(f"{where}: must be a number or empty (unknown), got {value!r}")
            elif fld in BOOL_FIELDS:
                if value is None:
                    continue  # the catalog default (false)
                if value.lower() in TRUE | FALSE:
                    raw[fld] = value.lower() in TRUE
                else:
                    problems.append(f"{where}: must be yes/no (or true/false), got {value!r}")
            elif fld in LIST_FIELDS:
                items = [v.strip() for v in (value or "").split(mapping.separator) if v.strip()]
                if fld == "occupations":
                    items = [normalize_soc(v) or v for v in items]
                raw[fld] = items
        recorded: Any = today
        if "recorded" in mapping.columns and (text_date := cell("recorded")):
            try:
                recorded = dt.date.fromisoformat(text_date)
            except ValueError:
                problems.append(
                    f"{label} (line {line}), field 'recorded' (column "
                    f"{mapping.columns['recorded']!r}): must be an ISO date, got {text_date!r}"
                )
        raw["source"] = {"url": cell("source_url"), "recorded": recorded}
        hints = {f: f"column {c!r}" for f, c in mapping.columns.items()}
        if "source_url" in mapping.columns:
            hints["source"] = f"column {mapping.columns['source_url']!r}"
        records.append(ConvertedRecord(where=f"{name}, record #{index}", raw=raw, hints=hints))
    if not records:
        problems.append(f"{name}: no data rows")
    return records
