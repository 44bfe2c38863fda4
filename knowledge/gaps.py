"""Concrete skill gaps: what to learn for an occupation, what the learner has, what teaches it.

O*NET rates every occupation on the same 35 skills and 33 knowledge areas ("Reading
Comprehension", "Computers and Electronics"), which every job has; a learner needs the tools and
methods. So items are ranked in tiers, and the O*NET areas come last:

0. technology O*NET flags **In Demand** for this occupation (from its job postings);
1. tools and methods the catalog's credentials for this occupation teach (their skill lists),
   more credentials first;
2. **Hot Technology** the occupation lists (a flag across all occupations), the ones fewer
   occupations list first, so Excel and Outlook come after the trade's own software;
3. other technology the occupation lists;
4. O*NET technical skills and subject knowledge (Repairing, Medicine and Dentistry), by
   importance;
5. O*NET's general skills and areas (the basic, social, problem-solving, systems and resource
   skills of the content model, and knowledge every job draws on), by importance.

Each missing item names up to three catalog records that teach it: credentials whose skill list
has it (those preparing for the occupation first), then credentials and programs whose name
contains every distinctive word of the item ("Tableau" -> "Tableau Desktop Specialist").
Everything is loaded once per search object; an answer is a few dictionary look-ups.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import select

from knowledge import schema
from knowledge.loaders.onet import read_technology
from knowledge.recommend import CredentialSearch
from knowledge.taxonomy import skill_key

Kind = Literal["tool", "method", "area", "general"]
CONCRETE: frozenset[str] = frozenset({"tool", "method"})

# O*NET content-model skills that are not technical (2.A basic, 2.B.1 social, 2.B.2 complex
# problem solving, 2.B.4 systems, 2.B.5 resource management) and knowledge areas every job draws
# on. The technical skills (2.B.3: Repairing, Programming ...) and subject knowledge (Medicine
# and Dentistry, Mechanical ...) are "area": substantive, but not a tool or a method.
GENERAL_AREAS: frozenset[str] = frozenset(
    {
        # 2.A basic skills
        "Reading Comprehension",
        "Active Listening",
        "Writing",
        "Speaking",
        "Mathematics",
        "Science",
        "Critical Thinking",
        "Active Learning",
        "Learning Strategies",
        "Monitoring",
        # 2.B.1 social skills
        "Social Perceptiveness",
        "Coordination",
        "Persuasion",
        "Negotiation",
        "Instructing",
        "Service Orientation",
        # 2.B.2, 2.B.4, 2.B.5
        "Complex Problem Solving",
        "Problem solving",
        "Judgment and Decision Making",
        "Systems Analysis",
        "Systems Evaluation",
        "Time Management",
        "Management of Financial Resources",
        "Management of Material Resources",
        "Management of Personnel Resources",
        # knowledge every job draws on
        "Computers and Electronics",
        "English Language",
        "Customer and Personal Service",
        "Administration and Management",
        "Administrative",
        "Education and Training",
        "Personnel and Human Resources",
        "Communications and Media",
        "Public Safety and Security",
    }
)
_ONET_AREA_ORIGINS = frozenset({"onet_skill", "onet_knowledge", "onet_element"})
# Soft skills some curated credentials list: true, but not what a learner asks "what to learn".
_SOFT = frozenset(
    skill_key(s)
    for s in (
        "Teamwork",
        "Communication",
        "Communication skills",
        "Customer service",
        "Professionalism",
        "Leadership",
        "Work ethic",
        "Workplace safety",
        "Interpersonal skills",
    )
)
_TOKEN = re.compile(r"[a-z0-9][a-z0-9+#]*")
# Words that say nothing about which tool a name is about.
_NAME_STOP = frozenset({"software", "the", "and", "of", "for", "a", "an", "to", "in", "on"})
MAX_TEACHERS = 3


@dataclass(frozen=True)
class Teacher:
    id: str
    name: str
    provider: str
    kind: str  # "credential" or "program"
    for_goal: bool  # prepares for this occupation (stated by its source)
    rule: str  # "skill_list" (the record lists the skill) or "name" (its name names it)


@dataclass(frozen=True)
class GapItem:
    skill_id: str
    label: str
    kind: Kind
    tier: int
    why: str  # plain words: where the item comes from
    category: str | None = None  # O*NET commodity class ("Business intelligence ... software")
    have: bool = False
    similar_have: tuple[str, ...] = ()  # learner's tools of the same O*NET class
    taught_by: tuple[Teacher, ...] = ()

    @property
    def concrete(self) -> bool:
        return self.kind in CONCRETE


@dataclass(frozen=True)
class Gap:
    code: str
    title: str
    have: tuple[GapItem, ...]  # what the learner has, in rank order
    missing: tuple[GapItem, ...]  # what to learn, best first, with what teaches each
    sources: tuple[str, ...]  # "O*NET 29.3 technology skills", ...

    @property
    def top(self) -> tuple[GapItem, ...]:
        """Have and missing together in rank order (what the occupation asks for)."""
        return tuple(sorted(self.have + self.missing, key=lambda i: i.tier))


@dataclass(frozen=True)
class _Tech:
    skill_id: str
    commodity: str
    hot: bool
    in_demand: bool


_WHY = {
    0: "in demand in job postings for this occupation (O*NET)",
    2: "a hot technology this occupation uses (O*NET)",
    3: "software this occupation uses (O*NET)",
    4: "an important technical skill or subject for this occupation (O*NET)",
    5: "a general skill every job uses (O*NET)",
}


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _fold_key(label: str) -> frozenset[str]:
    """Distinctive words, singular: "Active directory software" and "Microsoft Active
    Directory" share {active, directory}; "operating systems" is "Operating system software"."""
    return frozenset(
        re.sub(r"(?<=[a-z]{3})s$", "", w) for w in _tokens(label) if w not in _NAME_STOP
    )


def _folds_into(small: frozenset[str], big: frozenset[str]) -> bool:
    return bool(small) and small <= big and (len(small) >= 2 or small == big)


class GapFinder:
    """Skill gaps over one knowledge DB; build once per process (``for_search``)."""

    def __init__(self, search: CredentialSearch, reference_dir: Path) -> None:
        engine = search.engine
        with engine.connect() as conn:
            self.titles = dict(
                conn.execute(select(schema.Occupation.code, schema.Occupation.title)).all()
            )
            self.skills: dict[str, tuple[str, str, str]] = {
                sid: (label, type_, origin or "")
                for sid, label, type_, origin in conn.execute(
                    select(
                        schema.Skill.id, schema.Skill.label, schema.Skill.type, schema.Skill.origin
                    )
                )
            }
            by_key: dict[str, set[str]] = defaultdict(set)
            for sid, alias in conn.execute(
                select(schema.SkillAlias.skill_id, schema.SkillAlias.alias)
            ):
                by_key[skill_key(alias)].add(sid)
            occ_skills: dict[str, dict[str, float]] = defaultdict(dict)
            for code, sid, imp in conn.execute(
                select(
                    schema.OccupationSkill.code,
                    schema.OccupationSkill.skill_id,
                    schema.OccupationSkill.importance,
                )
            ):
                occ_skills[code][sid] = imp or 0.0
            taught: dict[str, list[tuple[str, float]]] = defaultdict(list)
            for cid, sid, weight in conn.execute(
                select(
                    schema.CredentialSkill.credential_id,
                    schema.CredentialSkill.skill_id,
                    schema.CredentialSkill.weight,
                )
            ):
                taught[sid].append((cid, weight or 0.0))
        for sid, (label, _, _) in self.skills.items():
            by_key[skill_key(label)].add(sid)
        self._by_key = dict(by_key)
        self._occ_skills = dict(occ_skills)
        # Technology per occupation, with the occupation's own In Demand flag (not in the DB's
        # skills table, whose flag says "in demand somewhere").
        tech: dict[str, dict[str, _Tech]] = defaultdict(dict)
        listed_by: Counter[str] = Counter()
        self._commodity: dict[str, str] = {}
        for t in read_technology(reference_dir / "onet-29.3"):
            sid = self._resolve(t.example, occ_skills.get(t.code, {}))
            if sid is None or t.code not in self.titles:
                continue
            old = tech[t.code].get(sid)
            tech[t.code][sid] = _Tech(
                sid,
                t.commodity_title,
                t.hot or bool(old and old.hot),
                t.in_demand or bool(old and old.in_demand),
            )
            self._commodity.setdefault(sid, t.commodity_title)
        for per_code in tech.values():
            listed_by.update(per_code.keys())
        self._tech = dict(tech)
        self._listed_by = listed_by
        # The catalog: who teaches each skill, and what each occupation's credentials teach.
        self._docs = {d.id: d for d in search.docs}
        self._taught = {
            sid: sorted(rows, key=lambda r: (-r[1], r[0])) for sid, rows in taught.items() if rows
        }
        methods: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        name_index: dict[str, set[str]] = defaultdict(set)
        for d in search.docs:
            for code in d.occupation_codes:
                if d.kind == "credential":
                    for sid in d.skill_ids:
                        methods[code][sid].add(d.id)
            for tok in set(_tokens(d.name)):
                name_index[tok].add(d.id)
        self._methods = {code: dict(per) for code, per in methods.items()}
        self._name_index = dict(name_index)
        self._fold = {sid: _fold_key(label) for sid, (label, _, _) in self.skills.items()}
        self._ranked_cache: dict[str, list[tuple[tuple, str, int, str]]] = {}
        self._folded: dict[str, dict[str, tuple[str, ...]]] = {}

    # -- construction helpers --------------------------------------------------------------
    def _resolve(self, label: str, prefer: dict[str, float]) -> str | None:
        ids = self._by_key.get(skill_key(label))
        if not ids:
            return None
        inside = sorted(i for i in ids if i in prefer)
        return inside[0] if inside else sorted(ids)[0]

    def resolve_learner(self, skills: Iterable[str]) -> set[str]:
        """Skill ids for what the learner has: ids as given, labels and aliases looked up."""
        out: set[str] = set()
        for s in skills:
            if s in self.skills:
                out.add(s)
            else:
                out.update(self._by_key.get(skill_key(s), ()))
        return out

    # -- ranking ---------------------------------------------------------------------------
    def _kind(self, sid: str) -> Kind:
        label, type_, origin = self.skills[sid]
        if origin in _ONET_AREA_ORIGINS:
            return "general" if label in GENERAL_AREAS else "area"
        if skill_key(label) in _SOFT:
            return "general"
        return "tool" if type_ == "technology" else "method"

    def _ranked(self, code: str) -> list[tuple[tuple, str, int, str]]:
        """(sort key, skill id, tier, why) for everything the occupation asks for."""
        cached = self._ranked_cache.get(code)
        if cached is not None:
            return cached
        tech = self._tech.get(code, {})
        methods = {sid: set(creds) for sid, creds in self._methods.get(code, {}).items()}
        # A catalog skill that names one of the occupation's O*NET tools is that tool: its
        # credentials count for the tool and it is not listed twice.
        # The same for O*NET's own class names under an In Demand product ("Active directory
        # software" under "Microsoft Active Directory").
        folded: dict[str, set[str]] = defaultdict(set)
        for sid in [m for m in set(methods) | set(tech) if m in self.skills]:
            if sid in tech and tech[sid].in_demand:
                continue
            into = [
                t
                for t in tech
                if t != sid
                and (sid not in tech or tech[t].in_demand)
                and _folds_into(self._fold[sid], self._fold.get(t, frozenset()))
            ]
            for t in into:
                methods.setdefault(t, set()).update(methods.get(sid, ()))
                folded[t].add(sid)
                folded[t].update(folded.pop(sid, ()))
            if into:
                methods.pop(sid, None)
        self._folded[code] = {t: tuple(sorted(f)) for t, f in folded.items()}
        gone = {f for fs in folded.values() for f in fs}
        weights = self._occ_skills.get(code, {})
        out = []
        for sid in (set(weights) | set(tech) | set(methods)) - gone:
            if sid not in self.skills:
                continue
            kind = self._kind(sid)
            support = len(methods.get(sid, ()))
            teachers = len(self._taught.get(sid, ()))
            t = tech.get(sid)
            if t is not None and t.in_demand:
                tier = 0
            elif support and kind in CONCRETE:
                tier = 1
            elif t is not None and t.hot:
                tier = 2
            elif t is not None or (kind in CONCRETE and sid in weights):
                tier = 3
            elif kind == "area":
                tier = 4
            else:
                tier = 5
            if tier == 1:
                why = f"taught by {support} credential{'s' if support > 1 else ''} for this job"
            elif tier == 0 and support:
                why = f"{_WHY[0]}; taught by credentials for this job"
            else:
                why = _WHY[tier]
            # O*NET class names ("Operating system software") after named products.
            is_class = t is not None and skill_key(t.commodity) == skill_key(self.skills[sid][0])
            key = (
                tier,
                is_class,
                -support,
                -round(weights.get(sid, 0.0), 3) if tier >= 4 else 0.0,
                # Fewer occupations listing a tool: more this job's own (Excel is everyone's).
                self._listed_by.get(sid, 0) if tier <= 3 else 0,
                -teachers,
                self.skills[sid][0].lower(),
            )
            out.append((key, sid, tier, why))
        out.sort()
        self._ranked_cache[code] = out
        return out

    def _teachers(self, sid: str, code: str) -> tuple[Teacher, ...]:
        words = [w for w in _tokens(self.skills[sid][0]) if w not in _NAME_STOP]
        named: set[str] = set()
        # One-letter names ("C", "R") would match too much by name; the skill lists cover them.
        if words and max(len(w) for w in words) >= 2:
            named = set.intersection(*(self._name_index.get(w, set()) for w in words))
        found: list[tuple[tuple, Teacher]] = []
        listed = dict(self._taught.get(sid, ()))
        for other in self._folded.get(code, {}).get(sid, ()):
            for cid, weight in self._taught.get(other, ()):
                listed[cid] = max(weight, listed.get(cid, 0.0))
        for cid in set(listed) | named:
            d = self._docs.get(cid)
            if d is None:
                continue
            for_goal = code in d.occupation_codes
            rule = "skill_list" if cid in listed else "name"
            # For this occupation first; then a record named after the item (it is about it)
            # before one that lists it among many.
            key = (not for_goal, cid not in named, -listed.get(cid, 0.0), len(d.name), d.name)
            found.append((key, self._teacher(d, for_goal, rule)))
        found.sort(key=lambda f: f[0])
        return tuple(t for _, t in found[:MAX_TEACHERS])

    @staticmethod
    def _teacher(d, for_goal: bool, rule: str = "name") -> Teacher:
        return Teacher(d.id, d.name, d.provider, d.kind, for_goal, rule)

    def gap(self, code: str, learner_skills: Iterable[str] = (), limit: int = 8) -> Gap | None:
        title = self.titles.get(code)
        if title is None:
            return None
        has = self.resolve_learner(learner_skills)
        learner_classes: dict[str, list[str]] = defaultdict(list)
        for sid in sorted(has):
            if sid in self._commodity:
                learner_classes[self._commodity[sid]].append(self.skills[sid][0])
        tech = self._tech.get(code, {})
        have: list[GapItem] = []
        missing: list[GapItem] = []
        for _, sid, tier, why in self._ranked(code):
            label = self.skills[sid][0]
            category = tech[sid].commodity if sid in tech else self._commodity.get(sid)
            also = self._folded.get(code, {}).get(sid, ())
            if sid in has or any(
                h in also or _folds_into(self._fold[h], self._fold[sid]) for h in has
            ):
                have.append(GapItem(sid, label, self._kind(sid), tier, why, category, True))
                continue
            if len(missing) >= limit:
                continue
            similar = tuple(learner_classes.get(category, ())) if category else ()
            missing.append(
                GapItem(
                    sid,
                    label,
                    self._kind(sid),
                    tier,
                    why,
                    category,
                    False,
                    similar,
                    self._teachers(sid, code),
                )
            )
        sources = ["O*NET 29.3 technology skills, skills and knowledge"]
        if self._methods.get(code):
            sources.append("skill lists of the catalog's credentials for this occupation")
        return Gap(code, title, tuple(have), tuple(missing), tuple(sources))

    def technology_codes(self) -> list[str]:
        """Occupations with O*NET technology-skill data."""
        return sorted(self._tech)


_finders: weakref.WeakKeyDictionary[CredentialSearch, GapFinder] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def finder_for(search: CredentialSearch, reference_dir: Path | None = None) -> GapFinder:
    """The GapFinder for this search object, built on first use (about a second)."""
    with _lock:
        found = _finders.get(search)
        if found is None:
            if reference_dir is None:
                from knowledge.config import get_settings

                reference_dir = get_settings().reference_dir
            found = _finders[search] = GapFinder(search, reference_dir)
        return found


def skill_gap(
    occupation_code: str,
    learner_skills: Iterable[str],
    search: CredentialSearch,
    limit: int = 8,
) -> Gap | None:
    """What to learn for an occupation: ``learner_skills`` are skill ids or labels; None for an
    unknown occupation code."""
    return finder_for(search).gap(occupation_code, learner_skills, limit)
