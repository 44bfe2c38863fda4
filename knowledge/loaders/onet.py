"""O*NET 29.3 and BLS OEWS readers (tab-separated text as shipped in ../shared/data)."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class OccupationRecord:
    code: str
    title: str
    description: str
    job_zone: int | None = None
    typical_education: str | None = None
    median_wage_usd: float | None = None
    alternate_titles: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TechnologyRecord:
    code: str
    example: str
    commodity_code: str
    commodity_title: str
    hot: bool
    in_demand: bool


@dataclass(frozen=True)
class ElementImportance:
    code: str
    element_id: str
    element_name: str
    kind: str  # "skill" or "knowledge"
    importance: float  # O*NET IM scale, 1..5


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)


def read_technology(onet_dir: Path) -> list[TechnologyRecord]:
    return [
        TechnologyRecord(
            code=r["O*NET-SOC Code"],
            example=r["Example"].strip(),
            commodity_code=r["Commodity Code"],
            commodity_title=r["Commodity Title"].strip(),
            hot=r["Hot Technology"] == "Y",
            in_demand=r["In Demand"] == "Y",
        )
        for r in _rows(onet_dir / "technology_skills.tsv")
        if r["Example"].strip()
    ]


def read_element_importance(onet_dir: Path) -> list[ElementImportance]:
    out: list[ElementImportance] = []
    for kind, fname in (("skill", "skills.tsv"), ("knowledge", "knowledge.tsv")):
        for r in _rows(onet_dir / fname):
            if r["Scale ID"] != "IM" or r.get("Recommend Suppress") == "Y":
                continue
            out.append(
                ElementImportance(
                    code=r["O*NET-SOC Code"],
                    element_id=r["Element ID"],
                    element_name=r["Element Name"].strip(),
                    kind=kind,
                    importance=float(r["Data Value"]),
                )
            )
    return out


def _typical_education(onet_dir: Path) -> dict[str, str]:
    labels = {
        r["Category"]: r["Category Description"]
        for r in _rows(onet_dir / "education_training_and_experience_categories.tsv")
        if r["Scale ID"] == "RL"
    }
    best: dict[str, tuple[float, str]] = {}
    for r in _rows(onet_dir / "education_training_and_experience.tsv"):
        if r["Scale ID"] != "RL":
            continue
        share = float(r["Data Value"])
        if r["O*NET-SOC Code"] not in best or share > best[r["O*NET-SOC Code"]][0]:
            best[r["O*NET-SOC Code"]] = (share, labels.get(r["Category"], r["Category"]))
    return {code: label for code, (_, label) in best.items()}


def read_median_wages(bls_file: Path) -> dict[str, float]:
    """Annual median wage by 7-character SOC code; top-coded ('#') and missing ('*') are absent."""
    wages: dict[str, float] = {}
    for r in _rows(bls_file):
        if r["AREA"] != "99" or r["NAICS"] != "000000":
            continue
        raw = r["A_MEDIAN"].replace(",", "").strip()
        try:
            wages[r["OCC_CODE"]] = float(raw)
        except ValueError:
            continue
    return wages


def read_occupations(onet_dir: Path, bls_file: Path | None) -> list[OccupationRecord]:
    zones = {r["O*NET-SOC Code"]: int(r["Job Zone"]) for r in _rows(onet_dir / "job_zones.tsv")}
    education = _typical_education(onet_dir)
    wages = read_median_wages(bls_file) if bls_file and bls_file.exists() else {}
    alternates: dict[str, list[str]] = defaultdict(list)
    for r in _rows(onet_dir / "alternate_titles.tsv"):
        alternates[r["O*NET-SOC Code"]].append(r["Alternate Title"].strip())
    return [
        OccupationRecord(
            code=r["O*NET-SOC Code"],
            title=r["Title"].strip(),
            description=r["Description"].strip(),
            job_zone=zones.get(r["O*NET-SOC Code"]),
            typical_education=education.get(r["O*NET-SOC Code"]),
            median_wage_usd=wages.get(r["O*NET-SOC Code"][:7]),
            alternate_titles=alternates.get(r["O*NET-SOC Code"], []),
        )
        for r in _rows(onet_dir / "occupation_data.tsv")
    ]


def read_related(onet_dir: Path) -> list[tuple[str, str, str, int]]:
    """(code, related code, relatedness tier, rank) from related_occupations.tsv."""
    path = onet_dir / "related_occupations.tsv"
    if not path.exists():
        return []
    return [
        (r["O*NET-SOC Code"], r["Related O*NET-SOC Code"], r["Relatedness Tier"], int(r["Index"]))
        for r in _rows(path)
    ]
