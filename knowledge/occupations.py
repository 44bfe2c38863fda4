"""Match a learner's goal ("data analyst", "work in a hospital lab") to an O*NET occupation."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from knowledge import schema

_WORD = re.compile(r"[a-z0-9+#]+")
_FILLER = {
    "a",
    "an",
    "the",
    "to",
    "be",
    "become",
    "becoming",
    "i",
    "want",
    "would",
    "like",
    "work",
    "as",
    "in",
    "of",
    "and",
    "job",
    "jobs",
    "career",
    "my",
    "goal",
    "is",
    "get",
    "into",
    "role",
    "position",
    "some",
    "kind",
    "sort",
    "maybe",
    "wanna",
    "im",
    "i'm",
    "am",
    "do",
    "doing",
    "for",
    "me",
    "someday",
}
_PLURAL = re.compile(r"(?<=[a-z]{3})s$")


def _tokens(text: str) -> list[str]:
    return [_PLURAL.sub("", t) for t in _WORD.findall(text.lower()) if t not in _FILLER]


@dataclass(frozen=True)
class OccupationMatch:
    code: str
    title: str
    matched_title: str
    score: float


class OccupationMatcher:
    """IDF-weighted token matching over O*NET titles and alternate titles."""

    def __init__(
        self, titles: list[tuple[str, str, str, bool]], coverage: dict[str, int] | None = None
    ) -> None:
        # (code, official title, title text, is_official)
        self._titles = titles
        # Credentials in the catalog preparing for each occupation: breaks ties between equally
        # good titles ("data analyst" is an alternate title of three occupations).
        self._coverage = coverage or {}
        self._toks = [set(_tokens(t[2])) for t in titles]
        postings: dict[str, list[int]] = defaultdict(list)
        for i, toks in enumerate(self._toks):
            for tok in toks:
                postings[tok].append(i)
        n = len(titles) or 1
        self._postings = postings
        self._idf = {tok: math.log(n / len(ids)) + 1 for tok, ids in postings.items()}

    @classmethod
    def from_engine(cls, engine: Engine) -> OccupationMatcher:
        with engine.connect() as conn:
            occ = conn.execute(select(schema.Occupation.code, schema.Occupation.title)).all()
            official = {code: title for code, title in occ}
            alt = conn.execute(
                select(schema.OccupationTitle.code, schema.OccupationTitle.title)
            ).all()
            coverage = dict(
                conn.execute(
                    select(schema.CredentialOccupation.code, func.count()).group_by(
                        schema.CredentialOccupation.code
                    )
                ).all()
            )
        titles = [(c, t, t, True) for c, t in occ] + [(c, official[c], t, False) for c, t in alt]
        return cls(titles, coverage)

    def match(self, text: str, limit: int = 3) -> list[OccupationMatch]:
        q = set(_tokens(text))
        if not q:
            return []
        scores: dict[int, float] = defaultdict(float)
        for tok in q:
            for i in self._postings.get(tok, ()):
                scores[i] += self._idf[tok]
        qw = sum(self._idf.get(t, 1.0) for t in q)
        best: dict[str, OccupationMatch] = {}
        for i, s in scores.items():
            tw = sum(self._idf[t] for t in self._toks[i])
            # Dice-style overlap: rewards titles that cover the query and little else.
            score = 2 * s / (qw + tw)
            code, official, text_title, is_official = self._titles[i]
            if is_official:
                score += 0.02
            if code not in best or score > best[code].score:
                best[code] = OccupationMatch(code, official, text_title, round(score, 4))
        # Scores are rounded (and ties broken by coverage, then code) so the answer does not
        # depend on the order floating-point sums were taken in.
        return sorted(
            best.values(), key=lambda m: (-m.score, -self._coverage.get(m.code, 0), m.code)
        )[:limit]

    def best(self, text: str, threshold: float = 0.5) -> OccupationMatch | None:
        found = self.match(text, 1)
        return found[0] if found and found[0].score >= threshold else None


@dataclass(frozen=True)
class GapSkill:
    skill_id: str
    label: str
    importance: float
    taught_by: tuple[str, ...]  # credential ids in the catalog that teach it


@dataclass(frozen=True)
class SkillGap:
    code: str
    title: str
    have: tuple[str, ...]
    missing: tuple[GapSkill, ...]
    suggested: tuple[str, ...]  # credential ids that teach the most missing skills


def skill_gap(
    engine: Engine, code: str, user_skill_ids: set[str], limit: int = 6
) -> SkillGap | None:
    """Most important skills of an occupation (O*NET importance) that the user lacks, and the
    credentials that teach most of them (those preparing for the occupation first)."""
    with engine.connect() as conn:
        title = conn.execute(
            select(schema.Occupation.title).where(schema.Occupation.code == code)
        ).scalar()
        if title is None:
            return None
        rows = conn.execute(
            select(
                schema.OccupationSkill.skill_id,
                schema.Skill.label,
                schema.OccupationSkill.importance,
            )
            .join(schema.Skill, schema.Skill.id == schema.OccupationSkill.skill_id)
            .where(schema.OccupationSkill.code == code)
            .order_by(schema.OccupationSkill.importance.desc(), schema.Skill.label)
        ).all()
        have = tuple(label for sid, label, _ in rows if sid in user_skill_ids)
        wanted = [(sid, label, imp) for sid, label, imp in rows if sid not in user_skill_ids]
        teachers: dict[str, list[str]] = defaultdict(list)
        if wanted:
            for cid, sid in conn.execute(
                select(schema.CredentialSkill.credential_id, schema.CredentialSkill.skill_id).where(
                    schema.CredentialSkill.skill_id.in_([w[0] for w in wanted])
                )
            ):
                teachers[sid].append(cid)
        preparing = set(
            conn.execute(
                select(schema.CredentialOccupation.credential_id).where(
                    schema.CredentialOccupation.code == code
                )
            ).scalars()
        )
    # Equal importance (O*NET flags many tools alike): skills the catalog can teach come first.
    wanted.sort(key=lambda w: (-w[2], -len(teachers.get(w[0], ())), w[1]))
    missing = tuple(
        GapSkill(sid, label, round(imp, 2), tuple(sorted(teachers.get(sid, []))))
        for sid, label, imp in wanted[:limit]
    )
    covered: dict[str, float] = defaultdict(float)
    for m in missing:
        for cid in m.taught_by:
            covered[cid] += m.importance
    suggested = tuple(sorted(covered, key=lambda c: (-(c in preparing), -covered[c], c))[:3])
    return SkillGap(code, title, have, missing, suggested)


@dataclass(frozen=True)
class OccupationFacts:
    code: str
    title: str
    median_wage_usd: float | None
    typical_education: str | None
    job_zone: int | None
    related: tuple[tuple[str, str], ...]  # (code, title)


def occupation_facts(engine: Engine, code: str, related_limit: int = 4) -> OccupationFacts | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(
                schema.Occupation.title,
                schema.Occupation.median_wage_usd,
                schema.Occupation.typical_education,
                schema.Occupation.job_zone,
            ).where(schema.Occupation.code == code)
        ).first()
        if row is None:
            return None
        related = conn.execute(
            select(schema.OccupationRelation.related_code, schema.Occupation.title)
            .join(
                schema.Occupation, schema.Occupation.code == schema.OccupationRelation.related_code
            )
            .where(schema.OccupationRelation.code == code)
            .order_by(schema.OccupationRelation.rank)
            .limit(related_limit)
        ).all()
    return OccupationFacts(code, row[0], row[1], row[2], row[3], tuple((c, t) for c, t in related))
