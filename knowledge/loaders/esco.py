"""ESCO 1.2.0 skill collections (CSV as distributed by the European Commission)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

COLLECTIONS = {
    "digitalSkillsCollection_en.csv": "digital",
    "transversalSkillsCollection_en.csv": "transversal",
    "greenSkillsCollection_en.csv": "green",
    "languageSkillsCollection_en.csv": "language",
    "digCompSkillsCollection_en.csv": "digital",
    "researchSkillsCollection_en.csv": "research",
}

# ESCO's collection CSVs join alternative labels with " | " (the full skills CSV uses newlines).
ALT_SEPARATOR = re.compile(r"\n| \| ")


@dataclass(frozen=True)
class EscoSkill:
    uri: str
    label: str
    alt_labels: tuple[str, ...]
    skill_type: str
    collection: str


def read_esco_skills(esco_dir: Path) -> list[EscoSkill]:
    seen: set[str] = set()
    out: list[EscoSkill] = []
    for fname, collection in COLLECTIONS.items():
        path = esco_dir / fname
        if not path.exists():
            continue
        with path.open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                uri = r["conceptUri"]
                if uri in seen or r.get("status", "released") != "released":
                    continue
                seen.add(uri)
                alts = tuple(
                    a.strip() for a in ALT_SEPARATOR.split(r.get("altLabels") or "") if a.strip()
                )
                out.append(
                    EscoSkill(
                        uri=uri,
                        label=r["preferredLabel"].strip(),
                        alt_labels=alts,
                        skill_type=(r.get("skillType") or "skill").split("/")[0],
                        collection=collection,
                    )
                )
    return out
