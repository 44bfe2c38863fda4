"""Links between records of different sources, computed at build time (pure functions).

- A training program names the credential it leads to ("Associated Credential Name" in the
  ETPL); ``link_programs_to_credentials`` finds that credential among ours by its full name or
  an unambiguous acronym, and records the rule and score. No fuzzy guess: an unclear name stays
  unlinked.
- ``ladders``: within one provider, a shorter program that leads into an associate degree in the
  same field (same CIP code, or the same 4-digit CIP family).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from knowledge.sources.records import TrainingProgramRecord

_WORD = re.compile(r"[a-z0-9+#]+")
# Words that do not tell one credential from another.
_FILLER = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "for",
        "in",
        "to",
        "certificate",
        "certification",
        "certified",
        "credential",
        "program",
        "training",
        "course",
        "exam",
        "license",
        "level",
        "i",
        "ii",
        "iii",
    ]
)
DEGREE_OUTCOMES = frozenset({"associate_degree", "bachelor_degree"})
# What can step into a degree: certificates, certifications, apprenticeships, licenses.
LADDER_STARTS = frozenset(
    {"college_certificate", "industry_certification", "apprenticeship", "license", "skill_gain"}
)


@dataclass(frozen=True)
class CredentialName:
    id: str
    name: str
    acronym: str | None = None


@dataclass(frozen=True)
class CredentialLink:
    credential_id: str
    rule: str  # "name" | "acronym"
    score: float


def normalise(name: str) -> str:
    return " ".join(_WORD.findall(name.lower()))


def _key_words(name: str) -> tuple[str, ...]:
    return tuple(w for w in _WORD.findall(name.lower()) if w not in _FILLER)


def _acronyms(c: CredentialName) -> set[str]:
    found = {c.acronym.lower()} if c.acronym else set()
    found |= {m.lower() for m in re.findall(r"\(([A-Za-z][A-Za-z0-9+\-]{1,9})\)", c.name)}
    return {a.replace("-", "") for a in found if len(a) >= 2}


def link_programs_to_credentials(
    programs: Iterable[TrainingProgramRecord], credentials: Iterable[CredentialName]
) -> dict[str, CredentialLink]:
    """program id -> the credential its stated credential name names, when that is clear."""
    by_name: dict[str, set[str]] = defaultdict(set)
    by_words: dict[tuple[str, ...], set[str]] = defaultdict(set)
    by_acronym: dict[str, set[str]] = defaultdict(set)
    for c in credentials:
        by_name[normalise(c.name)].add(c.id)
        words = _key_words(c.name)
        if len(words) >= 2:
            by_words[words].add(c.id)
        for a in _acronyms(c):
            by_acronym[a].add(c.id)
    links: dict[str, CredentialLink] = {}
    for p in programs:
        if not p.credential_name:
            continue
        name = normalise(p.credential_name)
        for rule, score, found in (
            ("name", 1.0, by_name.get(name, set())),
            ("name_words", 0.95, by_words.get(_key_words(p.credential_name), set())),
            ("acronym", 0.9, by_acronym.get(name.replace(" ", "").replace("-", ""), set())),
        ):
            if len(found) == 1:  # two credentials of that name or acronym: not clear, no link
                links[p.id] = CredentialLink(next(iter(found)), rule, score)
                break
    return links


def _cip_family(cip: str | None) -> str | None:
    return cip[:5] if cip and len(cip) >= 5 else None


def ladders(programs: Iterable[TrainingProgramRecord]) -> list[tuple[str, str, str]]:
    """(from program, to program, rule): within one provider, a certificate-type program and an
    associate degree in the same CIP ("same_cip") or 4-digit CIP family ("same_cip_family")."""
    by_provider: dict[str, list[TrainingProgramRecord]] = defaultdict(list)
    for p in programs:
        by_provider[p.provider_id].append(p)
    out: list[tuple[str, str, str]] = []
    for group in by_provider.values():
        degrees = [p for p in group if p.outcome == "associate_degree" and p.cip]
        if not degrees:
            continue
        for p in group:
            if p.outcome not in LADDER_STARTS or not p.cip:
                continue
            for d in degrees:
                if d.cip == p.cip:
                    out.append((p.id, d.id, "same_cip"))
                elif _cip_family(d.cip) == _cip_family(p.cip):
                    out.append((p.id, d.id, "same_cip_family"))
    return sorted(set(out))
