"""Search-quality judgments as rules over record facts, for a catalog too big to list by id.

``bench/data/search_queries.yaml`` holds learner-phrased queries. Older queries judge curated
credentials by id (``relevant: {id: grade}``); newer ones add ``rules``: a record's grade is the
highest grade of the rules it satisfies (and of its ``relevant`` entry). Grades: 2 = ideal,
1 = relevant (a learner would accept it). This module is pure: it sees plain dicts, never the
search engine, the DB or the importers.

Facts dict (one per catalog record; the bench builds them from the catalog sources):

    id                 str            record id ("comptia-a-plus", "etpl-<prov>-<prog>", "cos-<id>")
    source             str            "curated" | "texas-etpl" | "careeronestop"
    kind               str            "program" (a training program) | "credential"
    name               str            the record's name
    credential_name    str | None     programs: the credential it leads to, as the source names it
    provider           str | None     provider / certifying organization name
    cip                str | None     "NN.NNNN" (programs)
    occupations        list[str]      O*NET-SOC codes "NN-NNNN.NN" the source states
    outcome            str | None     programs: TrainingProgramRecord.outcome; credentials: their
                                      type (curated CredentialRecord.type; CareerOneStop
                                      certifications: "industry_certification")
    required_cost_usd  float | None   required cost, when known (curated: cost_usd, 0 when free)
    delivery           list[str]      delivery modes of the record (catalog DELIVERY vocabulary)
    offerings          list[dict]     programs: one per campus, keys city, zip, lat, lon
                                      (floats or None), delivery (str or None), flexible_hours,
                                      childcare, transit (bool or None); credentials: []
    pell_eligible      bool | None

Match keys of a rule (every key given must hold):

    cip        list of CIP prefixes: the record's cip starts with one ("48.05" matches 48.0508)
    soc        list of O*NET-SOC prefixes: one of the record's occupations starts with one
    name       regex, searched case-insensitively in name and in credential_name
    org        regex, searched case-insensitively in provider
    source     a source name or a list of them
    outcome    list: the record's outcome is one of them
    ids        list of record ids: the record's id is one of them
    max_cost   number: required_cost_usd is known and <= it (unknown cost never satisfies it)
    pell_eligible  true: pell_eligible is True
    near       {place, miles}: an offering is online, or has coordinates within ``miles`` of
               ``place`` (a "City, TX" or a 5-digit ZIP, located by ``resolve_place``)
    delivery   list: the offering's delivery is one of them
    flexible_hours, childcare, transit   true: the offering's flag is True (None never counts)

The offering keys (near, delivery, flexible_hours, childcare, transit) must hold for one and the
same offering: "evening welding near Houston" means an evening class near Houston, not a Houston
class and an evening class elsewhere. A record without offerings (a credential) is checked as a
single offering that has the record's delivery modes, no location and unknown flags, so an online
credential is "near" everywhere and an exam-only one is near nowhere. An offering without
coordinates is located by its ZIP (else its city) through ``resolve_place``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ResolvePlace = Callable[[str], "tuple[float, float] | None"]

SOURCES = frozenset({"curated", "texas-etpl", "careeronestop"})
OUTCOMES = frozenset(
    {
        # knowledge.loaders.catalog.CREDENTIAL_TYPES
        "professional_certificate",
        "industry_certification",
        "digital_badge",
        "college_certificate",
        "apprenticeship",
        "license",
        "certificate_of_completion",
        # program-only outcomes (knowledge/sources/records.py)
        "associate_degree",
        "bachelor_degree",
        "employment_only",
        "skill_gain",
        "diploma",
    }
)
DELIVERY = frozenset(
    {
        "online_self_paced",
        "online_instructor_led",
        "in_person",
        "hybrid",
        "testing_center",
        "online_proctored",
    }
)
ONLINE = frozenset({"online_self_paced", "online_instructor_led", "online_proctored"})
FLAGS = ("flexible_hours", "childcare", "transit")
MATCH_KEYS = frozenset(
    {"cip", "soc", "name", "org", "source", "outcome", "ids", "max_cost", "pell_eligible", "near"}
    | {"delivery", *FLAGS}
)
TAGS = frozenset({"local", "cost", "schedule", "national", "online", "typo", "long"})
CIP_PREFIX = re.compile(r"^\d{2}(\.\d{1,4})?$")
SOC_PREFIX = re.compile(r"^\d{2}(-\d{1,4}(\.\d{1,2})?)?$")
ZIP_RE = re.compile(r"^\d{5}$")
EARTH_MILES = 3958.8


class JudgmentError(ValueError):
    """A query file problem; the message names the query."""


@dataclass(frozen=True)
class Near:
    place: str
    miles: float


@dataclass(frozen=True)
class Rule:
    grade: int
    cip: tuple[str, ...] | None = None
    soc: tuple[str, ...] | None = None
    name: re.Pattern[str] | None = None
    org: re.Pattern[str] | None = None
    source: frozenset[str] | None = None
    outcome: frozenset[str] | None = None
    ids: frozenset[str] | None = None
    max_cost: float | None = None
    pell_eligible: bool = False
    near: Near | None = None
    delivery: frozenset[str] | None = None
    flexible_hours: bool = False
    childcare: bool = False
    transit: bool = False

    @property
    def offering_level(self) -> bool:
        return bool(
            self.near or self.delivery or self.flexible_hours or self.childcare or self.transit
        )


@dataclass(frozen=True)
class Query:
    q: str
    tags: tuple[str, ...] = ()
    relevant: Mapping[str, int] = field(default_factory=dict)  # id -> grade
    rules: tuple[Rule, ...] = ()

    def grade(self, facts: Mapping[str, Any], *, resolve_place: ResolvePlace) -> int:
        return grade(facts, self.rules, resolve_place=resolve_place, relevant=self.relevant)


# --- parsing and validation -------------------------------------------------------------------


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a non-empty list of strings")
    return tuple(value)


def _true(value: Any, key: str) -> bool:
    if value is not True:
        raise ValueError(f"{key} may only be true")
    return True


def _regex(value: Any, key: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty regex")
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as e:
        raise ValueError(f"{key} regex {value!r}: {e}") from None


def _grade(value: Any, what: str) -> int:
    if isinstance(value, bool) or value not in (1, 2):
        raise ValueError(f"{what} must be 1 or 2, got {value!r}")
    return int(value)


def parse_rule(raw: Mapping[str, Any]) -> Rule:
    """One ``{grade, match}`` mapping -> Rule; ValueError says what is wrong."""
    if not isinstance(raw, Mapping) or set(raw) != {"grade", "match"}:
        raise ValueError(f"a rule is {{grade, match}}, got {raw!r}")
    match = raw["match"]
    if not isinstance(match, Mapping) or not match:
        raise ValueError("match must be a non-empty mapping")
    unknown = set(match) - MATCH_KEYS
    if unknown:
        raise ValueError(f"unknown match key(s) {sorted(unknown)}")
    kw: dict[str, Any] = {"grade": _grade(raw["grade"], "grade")}
    for key, value in match.items():
        if key == "cip":
            kw[key] = _str_list(value, key)
            bad = [p for p in kw[key] if not CIP_PREFIX.match(p)]
            if bad:
                raise ValueError(f"cip prefixes must look like 48, 48.05 or 48.0508: {bad}")
        elif key == "soc":
            kw[key] = _str_list(value, key)
            bad = [p for p in kw[key] if not SOC_PREFIX.match(p)]
            if bad:
                raise ValueError(f"soc prefixes must look like 51, 51-41 or 51-4121.00: {bad}")
        elif key in ("name", "org"):
            kw[key] = _regex(value, key)
        elif key in ("source", "outcome", "delivery", "ids"):
            values = frozenset(_str_list(value, key))
            vocab = {"source": SOURCES, "outcome": OUTCOMES, "delivery": DELIVERY}.get(key)
            if vocab is not None and not values <= vocab:
                raise ValueError(f"{key} {sorted(values - vocab)} not in {sorted(vocab)}")
            kw[key] = values
        elif key == "max_cost":
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"max_cost must be a number >= 0, got {value!r}")
            kw[key] = float(value)
        elif key == "near":
            if not isinstance(value, Mapping) or set(value) != {"place", "miles"}:
                raise ValueError(f"near must be {{place, miles}}, got {value!r}")
            place, miles = value["place"], value["miles"]
            if not isinstance(place, str) or not (ZIP_RE.match(place) or ", " in place):
                raise ValueError(f"near.place must be 'City, ST' or a ZIP, got {place!r}")
            if isinstance(miles, bool) or not isinstance(miles, int | float) or miles <= 0:
                raise ValueError(f"near.miles must be a number > 0, got {miles!r}")
            kw[key] = Near(place, float(miles))
        else:  # pell_eligible and the offering flags
            kw[key] = _true(value, key)
    return Rule(**kw)


def parse_query(raw: Any) -> Query:
    if not isinstance(raw, Mapping):
        raise JudgmentError(f"query entry must be a mapping, got {raw!r}")
    q = raw.get("q")
    if not isinstance(q, str) or not q.strip():
        raise JudgmentError(f"query without text: {raw!r}")
    try:
        unknown = set(raw) - {"q", "tags", "relevant", "rules"}
        if unknown:
            raise ValueError(f"unknown key(s) {sorted(unknown)}")
        tags = _str_list(raw["tags"], "tags") if "tags" in raw else ()
        if set(tags) - TAGS:
            raise ValueError(f"unknown tag(s) {sorted(set(tags) - TAGS)}; known {sorted(TAGS)}")
        relevant = raw.get("relevant") or {}
        if not isinstance(relevant, Mapping):
            raise ValueError("relevant must map ids to grades")
        relevant = {str(k): _grade(v, f"relevant[{k}]") for k, v in relevant.items()}
        raw_rules = raw.get("rules") or []
        if not isinstance(raw_rules, list):
            raise ValueError("rules must be a list")
        rules = []
        for i, r in enumerate(raw_rules):
            try:
                rules.append(parse_rule(r))
            except ValueError as e:
                raise ValueError(f"rule {i + 1}: {e}") from None
        if not relevant and not rules:
            raise ValueError("no judgments (neither relevant nor rules)")
        if rules and not any(r.grade == 2 for r in rules) and 2 not in relevant.values():
            raise ValueError("no grade-2 judgment")
    except ValueError as e:
        raise JudgmentError(f"query {q!r}: {e}") from None
    return Query(q=q, tags=tags, relevant=relevant, rules=tuple(rules))


def load_queries(path: str | Path) -> list[Query]:
    """Read and strictly validate a query file; JudgmentError names the bad query."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, Mapping) or not isinstance(data.get("queries"), list):
        raise JudgmentError(f"{path}: expected a mapping with a 'queries' list")
    queries = [parse_query(raw) for raw in data["queries"]]
    seen: set[str] = set()
    for query in queries:
        key = query.q.strip().lower()
        if key in seen:
            raise JudgmentError(f"query {query.q!r}: duplicate")
        seen.add(key)
    return queries


# --- evaluation -------------------------------------------------------------------------------


def miles_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance in miles between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_MILES * math.asin(math.sqrt(h))


def _resolve(place: str, resolve_place: ResolvePlace) -> tuple[float, float]:
    point = resolve_place(place)
    if point is None:
        # A judgment about an unknown place would silently judge nothing near.
        raise LookupError(f"near.place {place!r} cannot be located")
    return point


def _offering_point(
    off: Mapping[str, Any], resolve_place: ResolvePlace
) -> tuple[float, float] | None:
    if off.get("lat") is not None and off.get("lon") is not None:
        return float(off["lat"]), float(off["lon"])
    if off.get("zip"):
        return resolve_place(str(off["zip"]))
    if off.get("city"):
        return resolve_place(f"{off['city']}, TX")
    return None


def _offerings(facts: Mapping[str, Any]) -> list[tuple[frozenset[str], Mapping[str, Any]]]:
    """(delivery modes, offering) pairs; a record without offerings is one placeless offering."""
    offs = facts.get("offerings") or []
    if offs:
        return [(frozenset([o["delivery"]] if o.get("delivery") else []), o) for o in offs]
    return [(frozenset(facts.get("delivery") or ()), {})]


def _offering_ok(
    rule: Rule, modes: frozenset[str], off: Mapping[str, Any], resolve_place: ResolvePlace
) -> bool:
    if rule.delivery is not None and not modes & rule.delivery:
        return False
    if any(getattr(rule, f) and off.get(f) is not True for f in FLAGS):
        return False
    if rule.near is not None and not modes & ONLINE:
        point = _offering_point(off, resolve_place)
        if point is None:
            return False
        center = _resolve(rule.near.place, resolve_place)
        if miles_between(center, point) > rule.near.miles:
            return False
    return True


def satisfies(facts: Mapping[str, Any], rule: Rule, *, resolve_place: ResolvePlace) -> bool:
    """Whether one record's facts satisfy every key of one rule."""
    if rule.source is not None and facts.get("source") not in rule.source:
        return False
    if rule.ids is not None and facts.get("id") not in rule.ids:
        return False
    if rule.outcome is not None and facts.get("outcome") not in rule.outcome:
        return False
    if rule.cip is not None:
        cip = facts.get("cip") or ""
        if not cip or not cip.startswith(rule.cip):
            return False
    if rule.soc is not None:
        occ = facts.get("occupations") or ()
        if not any(code.startswith(rule.soc) for code in occ):
            return False
    if rule.name is not None:
        texts = (facts.get("name") or "", facts.get("credential_name") or "")
        if not any(rule.name.search(t) for t in texts):
            return False
    if rule.org is not None and not rule.org.search(facts.get("provider") or ""):
        return False
    if rule.max_cost is not None:
        cost = facts.get("required_cost_usd")
        if cost is None or cost > rule.max_cost:
            return False
    if rule.pell_eligible and facts.get("pell_eligible") is not True:
        return False
    if rule.offering_level:
        return any(
            _offering_ok(rule, modes, off, resolve_place) for modes, off in _offerings(facts)
        )
    return True


def _rules(rules: Iterable[Rule | Mapping[str, Any]]) -> list[Rule]:
    return [r if isinstance(r, Rule) else parse_rule(r) for r in rules]


def grade(
    record_facts: Mapping[str, Any],
    rules: Sequence[Rule | Mapping[str, Any]],
    *,
    resolve_place: ResolvePlace,
    relevant: Mapping[str, int] | None = None,
) -> int:
    """The record's grade: the highest grade among the rules it satisfies and its ``relevant``
    entry (0 if none). ``rules`` may be parsed Rules or raw ``{grade, match}`` dicts."""
    best = (relevant or {}).get(record_facts.get("id"), 0)
    for rule in sorted(_rules(rules), key=lambda r: -r.grade):
        if rule.grade <= best:
            break
        if satisfies(record_facts, rule, resolve_place=resolve_place):
            best = rule.grade
    return best


def grades(
    all_facts: Iterable[Mapping[str, Any]],
    rules: Sequence[Rule | Mapping[str, Any]],
    *,
    resolve_place: ResolvePlace,
    relevant: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """id -> grade for every record with a grade above 0."""
    parsed = _rules(rules)
    cached = functools.lru_cache(maxsize=None)(resolve_place)
    out = {}
    for facts in all_facts:
        g = grade(facts, parsed, resolve_place=cached, relevant=relevant)
        if g:
            out[facts["id"]] = g
    return out


def ideal_grades(
    all_facts: Iterable[Mapping[str, Any]],
    rules: Sequence[Rule | Mapping[str, Any]],
    k: int = 5,
    *,
    resolve_place: ResolvePlace,
    relevant: Mapping[str, int] | None = None,
) -> list[int]:
    """The k best grades in the catalog, best first: the ranking nDCG@k's ideal is made of."""
    found = grades(all_facts, rules, resolve_place=resolve_place, relevant=relevant)
    return sorted(found.values(), reverse=True)[:k]
