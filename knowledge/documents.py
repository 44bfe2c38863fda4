"""Search documents: what gets embedded and searched, read from the knowledge DB.

Two kinds share one index (one label space, ``num``): credentials (curated and CareerOneStop)
and training programs (Texas ETPL). Only occupations a source *states* go into the text;
inferred ones ("related to") would make a guess look like a fact to the ranker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from knowledge import schema
from knowledge.config import Settings
from knowledge.embed import EmbeddingCache, Encoder
from knowledge.index import make_index, save_index
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


def load_documents(engine: Engine) -> list[CredentialDoc]:
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
            description = p.description or ""
            if p.credential_name:
                description = f"{description} Leads to: {p.credential_name}.".strip()
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
                    text=compose_text(
                        p.name,
                        p.provider.name,
                        description,
                        [],
                        [po.occupation.title for po in p.occupations],
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
