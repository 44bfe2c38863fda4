"""Search documents: what gets embedded and searched, read from the knowledge DB.

Two kinds share one index (one label space, ``num``): credentials (curated and CareerOneStop)
and training programs (Texas ETPL). Only occupations a source *states* go into the text;
inferred ones ("related to") would make a guess look like a fact to the ranker.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from knowledge import schema
from knowledge.config import Settings, get_settings
from knowledge.embed import EmbeddingCache, Encoder
from knowledge.index import make_index, save_index
from knowledge.sources import CIP_SOC_FILE
from knowledge.sources.careeronestop import certification_text_of

_TOKEN = re.compile(r"[a-z0-9+#]+")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class CredentialDoc:
    num: int
    id: str
    name: str
    provider: str
    institution_id: str | None
    skill_ids: tuple[str, ...]
    skill_labels: tuple[str, ...]
    occupation_codes: tuple[str, ...]
    text: str
    kind: str = "credential"  # or "program"


def compose_text(
    name: str, provider: str, description: str, skills: list[str], occupations: list[str]
) -> str:
    """The embedded text: name and provider first (they carry the most signal), then the rest."""
    parts = [f"{name} ({provider}).", description]
    if skills:
        parts.append("Skills: " + ", ".join(skills) + ".")
    if occupations:
        parts.append("Prepares for: " + ", ".join(occupations) + ".")
    return " ".join(parts)


_HAS_LETTER = re.compile(r"[A-Za-z]")


@functools.lru_cache(maxsize=4)
def cip_titles(path: Path) -> dict[str, str]:
    """CIP 2020 code -> its title ("Welding Technology/Welder"), from the NCES crosswalk the
    catalog vendors; {} when the file is absent (a deployment with its own sources only)."""
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return {
            row["CIP2020Code"].strip(): row["CIP2020Title"].strip().rstrip(".")
            for row in csv.DictReader(handle)
            if row.get("CIP2020Code") and row.get("CIP2020Title")
        }


def program_text(
    name: str,
    provider: str,
    description: str | None,
    field_title: str | None,
    credential_name: str | None,
    occupations: list[str],
) -> str:
    """A training program's embedded text: what it is, where, its field of study (the CIP title
    says "Nursing Assistant/Aide" where a name says "Healthcare Pathway I"), the credential it
    leads to (when the source names one: ETPL writes "0" for none) and its stated occupations."""
    parts = [f"{name} ({provider}).", description or ""]
    if field_title:
        parts.append(f"Field of study: {field_title}.")
    if credential_name and _HAS_LETTER.search(credential_name):
        parts.append(f"Leads to: {credential_name}.")
    if occupations:
        parts.append("Prepares for: " + ", ".join(occupations) + ".")
    return " ".join(p for p in parts if p)


def load_documents(
    engine: Engine, field_titles: Mapping[str, str] | None = None
) -> list[CredentialDoc]:
    if field_titles is None:
        field_titles = cip_titles(get_settings().reference_dir / CIP_SOC_FILE)
    with Session(engine, future=True) as s:
        creds = s.scalars(
            select(schema.Credential)
            .options(
                selectinload(schema.Credential.provider),
                selectinload(schema.Credential.skills).selectinload(schema.CredentialSkill.skill),
                selectinload(schema.Credential.occupations).selectinload(
                    schema.CredentialOccupation.occupation
                ),
            )
            .order_by(schema.Credential.num)
        ).all()
        docs = []
        for c in creds:
            skills = sorted(c.skills, key=lambda cs: -cs.weight)
            stated = [co for co in c.occupations if co.stated is not False]
            occs = [co.occupation.title for co in stated]
            if c.source == "careeronestop":
                # The same text the build encoded for its occupation links (one encoding).
                text = certification_text_of(c.name, c.acronym, c.provider.name, c.description)
            else:
                text = compose_text(
                    c.name, c.provider.name, c.description, [cs.skill.label for cs in skills], occs
                )
            docs.append(
                CredentialDoc(
                    num=c.num,
                    id=c.id,
                    name=c.name,
                    provider=c.provider.name,
                    institution_id=c.institution_id,
                    skill_ids=tuple(cs.skill_id for cs in skills),
                    skill_labels=tuple(cs.skill.label for cs in skills),
                    occupation_codes=tuple(co.code for co in stated),
                    text=text,
                )
            )
        programs = s.scalars(
            select(schema.TrainingProgram)
            .options(
                selectinload(schema.TrainingProgram.provider),
                selectinload(schema.TrainingProgram.occupations).selectinload(
                    schema.ProgramOccupation.occupation
                ),
            )
            .order_by(schema.TrainingProgram.num)
        ).all()
        for p in programs:
            title = field_titles.get(p.cip or "")
            occs = [po.occupation.title for po in p.occupations]
            docs.append(
                CredentialDoc(
                    num=p.num,
                    id=p.id,
                    name=p.name,
                    provider=p.provider.name,
                    institution_id=None,
                    skill_ids=(),
                    skill_labels=(),
                    occupation_codes=tuple(po.code for po in p.occupations),
                    text=program_text(
                        p.name, p.provider.name, p.description, title, p.credential_name, occs
                    ),
                    kind="program",
                )
            )
        return docs


def build_credential_index(
    settings: Settings,
    engine: Engine,
    fingerprint: str,
    encoder: Encoder | None = None,
    *,
    progress: bool = True,
) -> tuple[int, int]:
    """Embed every credential (re-using cached vectors) and write the index; returns (n, newly encoded)."""
    docs = load_documents(engine)
    cache = EmbeddingCache(settings.var_dir / "embeddings.npz")
    texts = [d.text for d in docs]
    vectors, fresh = cache.embed(encoder or Encoder(), texts, progress=progress)
    cache.save(keep=texts)
    index = make_index(vectors, np.array([d.num for d in docs], dtype="int64"))
    save_index(index, settings.index_dir, fingerprint)
    return len(docs), fresh
