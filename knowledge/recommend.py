"""Credential search and recommendation: FAISS semantic search + BM25, re-ranked with
skill-gap closure, employer recognition and credit value. Every result explains itself (`why`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any, Generic, TypeVar

import numpy as np
from rank_bm25 import BM25Okapi
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from knowledge import index as faiss_index
from knowledge import schema
from knowledge.acronyms import acronym_table, expand
from knowledge.config import RankWeights
from knowledge.documents import CredentialDoc, load_documents, tokenize
from knowledge.embed import Encoder

FORMATS = {"online", "in_person", "hybrid", "self_paced"}
LEVELS = {"beginner", "intermediate", "advanced"}
MAX_QUERY_CHARS = 500
MAX_K = 50
FACTS_PRELOAD = 5_000  # catalogs up to this size keep every credential's facts in memory
# Per-process caches of work that repeats across requests (bounded, least recently used out):
# a learner refines the same question with filters, the bot re-runs it, popular questions recur.
QUERY_VECTOR_CACHE = 2_048  # ~1.5 KB each
FILTER_CACHE = 256
GOAL_CACHE = 256
_FORMAT_DELIVERY = {
    "online": {"online_self_paced", "online_instructor_led", "online_proctored"},
    "self_paced": {"online_self_paced"},
    "in_person": {"in_person", "testing_center"},
    "hybrid": {"hybrid"},
}


# Words that carry no topic in a learner's question ("I want to become a ..."): left in, they
# make BM25 favour long descriptions that happen to repeat them.
_STOP_WORDS_TEXT = """
a about am an and any are as at be become becoming been but by can career careers could do does
doing for from get getting have how i in into is it its job jobs just learn learning like me more
my need no not of on or out some start starting than that the their them then this to up use
using want wanna was way we what when where which who will with work working would you your
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_SUFFIXES = ("ing", "ers", "er", "es", "s")


def _stem(term: str) -> str:
    """Light suffix stripping so "conditioners" meets "conditioning" and "welds" meets "welding"."""
    for suffix in _SUFFIXES:
        if len(term) > len(suffix) + 3 and term.endswith(suffix):
            return term[: -len(suffix)]
    return term


def lexical_terms(text: str) -> list[str]:
    """Terms for lexical matching: tokens without stop words, lightly stemmed."""
    return [_stem(t) for t in tokenize(text) if t not in STOP_WORDS]


# Words of the advising conversation itself; they never name a credential ("how would I stack
# these into a degree?" is not about the IBM Full Stack certificate).
_GENERIC_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "be",
        "can",
        "college",
        "count",
        "counts",
        "credential",
        "credentials",
        "credit",
        "credits",
        "degree",
        "do",
        "does",
        "employers",
        "first",
        "for",
        "get",
        "how",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "job",
        "learn",
        "many",
        "me",
        "more",
        "my",
        "of",
        "on",
        "one",
        "ones",
        "path",
        "plan",
        "program",
        "recognize",
        "second",
        "stack",
        "stacking",
        "tell",
        "that",
        "the",
        "these",
        "third",
        "this",
        "to",
        "toward",
        "towards",
        "what",
        "which",
        "will",
        "with",
        "would",
        "you",
        "about",
        "cost",
        "long",
        "take",
    ]
)


class InvalidQuery(ValueError):
    """A search request that cannot be answered as asked; the message says why."""


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _LRU(Generic[K, V]):
    """A small thread-safe least-recently-used map (the web app searches from worker threads)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> V:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


class LexicalIndex:
    """BM25 scores exactly as ``rank_bm25.BM25Okapi.get_scores`` computes them (same formula,
    same float operations, same order), from postings built once: a query touches only the docs
    holding its terms instead of looping in Python over every doc for every term (~3 ms a query
    at 353 docs, linear in the catalog size)."""

    def __init__(self, corpus: list[list[str]]) -> None:
        bm25 = BM25Okapi(corpus)
        self.size = bm25.corpus_size
        self.idf: dict[str, float] = bm25.idf
        docs_of: dict[str, list[int]] = {}
        freqs_of: dict[str, list[int]] = {}
        for i, freqs in enumerate(bm25.doc_freqs):
            for term, freq in freqs.items():
                docs_of.setdefault(term, []).append(i)
                freqs_of.setdefault(term, []).append(freq)
        doc_len = np.array(bm25.doc_len)
        k1, b, avgdl = bm25.k1, bm25.b, bm25.avgdl
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, ids in docs_of.items():
            idx = np.array(ids, dtype="int64")
            q_freq = np.array(freqs_of[term])
            # rank_bm25's expression on the docs that hold the term (elsewhere it adds 0.0).
            gain = (bm25.idf.get(term) or 0) * (
                q_freq * (k1 + 1) / (q_freq + k1 * (1 - b + b * doc_len[idx] / avgdl))
            )
            self._postings[term] = (idx, gain)

    def scores(self, terms: list[str]) -> np.ndarray:
        out = np.zeros(self.size)
        for term in terms:  # a repeated query term counts again, as in rank_bm25
            posting = self._postings.get(term)
            if posting is not None:
                out[posting[0]] += posting[1]
        return out


PROVIDER_TYPES = {
    "community_college",
    "university",
    "private_for_profit",
    "private_non_profit",
    "apprenticeship",
    "public",
    "other",
}
PROGRAM_OUTCOMES = {
    "industry_certification",
    "college_certificate",
    "associate_degree",
    "bachelor_degree",
    "apprenticeship",
    "license",
    "employment_only",
    "skill_gain",
    "diploma",
}
KINDS = {"credential", "program"}
DEFAULT_RADIUS_MILES = 50.0
MAX_RADIUS_MILES = 500.0


@dataclass(frozen=True)
class SearchFilters:
    """What a result must satisfy. Unknown values never pass a limit (an unknown cost is not
    known to be under budget). ``near`` is (lat, lon): a program passes when an in-person or
    hybrid offering is within ``radius_miles`` or it is offered online; credentials (exams,
    online courses) are not bound to a place and pass."""

    max_cost: float | None = None
    max_hours: float | None = None
    format: str | None = None
    level: str | None = None
    provider: str | None = None
    credit_only: bool = False
    institution: str | None = None
    near: tuple[float, float] | None = None
    radius_miles: float | None = None
    provider_type: str | None = None
    pell_eligible: bool = False
    outcome: str | None = None
    flexible_hours: bool = False
    childcare: bool = False
    transit: bool = False
    kind: str | None = None

    def validate(self) -> SearchFilters:
        for name, value, limit in (
            ("max_cost", self.max_cost, 1_000_000),
            ("max_hours", self.max_hours, 100_000),
            ("radius_miles", self.radius_miles, MAX_RADIUS_MILES),
        ):
            if value is not None and (value != value or value < 0 or value > limit):
                raise InvalidQuery(f"{name} must be between 0 and {limit}, got {value}")
        if self.format is not None and self.format not in FORMATS:
            raise InvalidQuery(f"format must be one of {sorted(FORMATS)}, got {self.format!r}")
        if self.level is not None and self.level not in LEVELS:
            raise InvalidQuery(f"level must be one of {sorted(LEVELS)}, got {self.level!r}")
        for name, value, allowed in (
            ("provider_type", self.provider_type, PROVIDER_TYPES),
            ("outcome", self.outcome, PROGRAM_OUTCOMES),
            ("kind", self.kind, KINDS),
        ):
            if value is not None and value not in allowed:
                raise InvalidQuery(f"{name} must be one of {sorted(allowed)}, got {value!r}")
        if self.near is not None:
            lat, lon = self.near
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise InvalidQuery(f"near must be a latitude and longitude, got {self.near}")
        return self

    @property
    def radius(self) -> float:
        return self.radius_miles if self.radius_miles is not None else DEFAULT_RADIUS_MILES

    @property
    def active(self) -> bool:
        return any(
            v not in (None, False)
            for v in (
                self.max_cost,
                self.max_hours,
                self.format,
                self.level,
                self.provider,
                self.credit_only,
                self.institution,
                self.near,
                self.provider_type,
                self.pell_eligible,
                self.outcome,
                self.flexible_hours,
                self.childcare,
                self.transit,
                self.kind,
            )
        )


@dataclass(frozen=True)
class SearchHints:
    """Soft preferences from the learner's words: they re-rank, never exclude."""

    prefer_kind: str | None = None  # "program" or "credential"
    prefer_low_cost: bool = False  # "cheap" without an amount: a known low cost ranks higher

    def validate(self) -> SearchHints:
        if self.prefer_kind is not None and self.prefer_kind not in KINDS:
            raise InvalidQuery(
                f"prefer_kind must be one of {sorted(KINDS)}, got {self.prefer_kind!r}"
            )
        return self


# "cheap": a known cost of $0 scores 1, $1,000 0.5, $3,000 0.25; an unknown cost 0.
LOW_COST_SCALE_USD = 1_000.0


@dataclass
class SearchResult:
    id: str
    name: str
    provider: str
    type: str
    url: str
    cost_usd: float | None
    hours: float | None
    score: float
    cost_note: str | None = None
    why: dict[str, Any] = field(default_factory=dict)
    kind: str = "credential"  # or "program" (a training program at a provider)
    miles: float | None = None  # to the nearest in-person offering, when a place was given
    place: str | None = None  # that offering's campus and city

    def to_dict(self) -> dict[str, Any]:
        """A plain copy, nested facts included (like ``dataclasses.asdict``, which spent most
        of its time deep-copying immutable leaves: ~0.1 ms a result, a third of a cached search)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["why"] = _plain_copy(self.why)
        return out


def _plain_copy(value: Any) -> Any:
    """Copy of JSON-like data: dicts and lists are copied, everything else is immutable here."""
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_copy(v) for v in value]
    return value


def validate_query(query: str) -> str:
    if not isinstance(query, str) or not query.strip():
        raise InvalidQuery("query must not be empty")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"query is longer than {MAX_QUERY_CHARS} characters ({len(query)})")
    return query.strip()


_ONLINE = frozenset({"online_self_paced", "online_instructor_led", "online_proctored"})
_IN_PLACE = frozenset({"in_person", "hybrid"})
EARTH_RADIUS_MILES = 3958.8


def miles_to(lat: np.ndarray, lon: np.ndarray, point: tuple[float, float]) -> np.ndarray:
    """Great-circle (haversine) miles from ``point`` to each (lat, lon)."""
    lat1, lon1 = np.radians(point[0]), np.radians(point[1])
    lat2, lon2 = np.radians(lat), np.radians(lon)
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_MILES * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


class FilterTable:
    """Every search document's filterable facts as arrays in ``docs`` order, read once per
    process: a filter is a numpy mask (no SQL per search), and distances to a place are one
    vectorised pass over the program offerings (~7,000 campuses)."""

    def __init__(self, engine: Engine, docs: list[CredentialDoc]) -> None:
        pos = {d.num: i for i, d in enumerate(docs)}
        n = len(docs)
        self.nums = np.array([d.num for d in docs], dtype="int64")
        self.program = np.array([d.kind == "program" for d in docs], dtype=bool)
        self.cost = np.full(n, np.nan)
        self.hours = np.full(n, np.nan)
        self.level: list[str | None] = [None] * n
        self.provider: list[str | None] = [None] * n
        self.institution: list[str | None] = [None] * n
        self.delivery: list[frozenset[str]] = [frozenset()] * n
        self.credit = np.zeros(n, dtype=bool)
        self.recognition = np.zeros(n, dtype=bool)
        self.provider_type: list[str | None] = [None] * n
        self.outcome: list[str | None] = [None] * n
        self.pell = np.zeros(n, dtype=bool)
        self.flexible = np.zeros(n, dtype=bool)
        self.childcare = np.zeros(n, dtype=bool)
        self.transit = np.zeros(n, dtype=bool)
        C, P, Off = schema.Credential, schema.TrainingProgram, schema.ProgramOffering
        with engine.connect() as conn:
            credit_ids = set(
                conn.execute(select(schema.CreditRecommendation.credential_id)).scalars()
            )
            credit_ids |= set(conn.execute(select(schema.Articulation.credential_id)).scalars())
            recognized = set(conn.execute(select(schema.Recognition.credential_id)).scalars())
            for row in conn.execute(
                select(
                    C.num,
                    C.id,
                    C.cost_usd,
                    C.hours,
                    C.level,
                    C.provider_id,
                    C.institution_id,
                    C.delivery,
                )
            ):
                i = pos.get(row.num)
                if i is None:
                    continue
                self._common(i, row.cost_usd, row.hours, row.provider_id)
                self.level[i] = row.level
                self.institution[i] = row.institution_id
                self.delivery[i] = frozenset(row.delivery or ())
                self.credit[i] = row.id in credit_ids
                self.recognition[i] = row.id in recognized
                self.flexible[i] = "online_self_paced" in self.delivery[i]
            id_pos: dict[str, int] = {}
            for row in conn.execute(
                select(
                    P.num,
                    P.id,
                    P.required_cost_usd,
                    P.hours,
                    P.provider_id,
                    P.provider_type,
                    P.outcome,
                    P.pell_eligible,
                )
            ):
                i = pos.get(row.num)
                if i is None:
                    continue
                id_pos[row.id] = i
                self._common(i, row.required_cost_usd, row.hours, row.provider_id)
                self.provider_type[i] = row.provider_type
                self.outcome[i] = row.outcome
                self.pell[i] = row.pell_eligible is True
            off_pos, off_lat, off_lon, off_label = [], [], [], []
            deliveries: dict[int, set[str]] = {}
            for row in conn.execute(
                select(
                    Off.program_id,
                    Off.lat,
                    Off.lon,
                    Off.delivery,
                    Off.flexible_hours,
                    Off.childcare,
                    Off.transit,
                    Off.campus,
                    Off.city,
                )
            ):
                i = id_pos.get(row.program_id)
                if i is None:
                    continue
                if row.delivery:
                    deliveries.setdefault(i, set()).add(row.delivery)
                self.flexible[i] |= row.flexible_hours is True
                self.childcare[i] |= row.childcare is True
                self.transit[i] |= row.transit is True
                if row.lat is not None and row.delivery != "online_instructor_led":
                    off_pos.append(i)
                    off_lat.append(row.lat)
                    off_lon.append(row.lon)
                    off_label.append(", ".join(x for x in (row.campus, row.city) if x))
            for i, found in deliveries.items():
                self.delivery[i] = frozenset(found)
        self.online = np.array([bool(d & _ONLINE) for d in self.delivery], dtype=bool)
        self.off_pos = np.array(off_pos, dtype="int64")
        self.off_lat = np.array(off_lat, dtype="float64")
        self.off_lon = np.array(off_lon, dtype="float64")
        self.off_label = off_label

    def _common(
        self, i: int, cost: float | None, hours: float | None, provider: str | None
    ) -> None:
        self.cost[i] = np.nan if cost is None else cost
        self.hours[i] = np.nan if hours is None else hours
        self.provider[i] = provider

    def nearest(self, point: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """Per doc: miles to its nearest in-person/hybrid offering (inf: none) and which."""
        best = np.full(len(self.nums), np.inf)
        which = np.full(len(self.nums), -1, dtype="int64")
        if len(self.off_pos):
            d = miles_to(self.off_lat, self.off_lon, point)
            order = np.argsort(-d)  # write far to near: the nearest offering is written last
            best[self.off_pos[order]] = d[order]
            which[self.off_pos[order]] = order
        return best, which

    def mask(self, f: SearchFilters) -> np.ndarray:
        ok = np.ones(len(self.nums), dtype=bool)
        if f.max_cost is not None:
            ok &= ~np.isnan(self.cost) & (np.nan_to_num(self.cost, nan=np.inf) <= f.max_cost)
        if f.max_hours is not None:
            ok &= ~np.isnan(self.hours) & (np.nan_to_num(self.hours, nan=np.inf) <= f.max_hours)
        for wanted, values in (
            (f.level, self.level),
            (f.provider, self.provider),
            (f.institution, self.institution),
            (f.provider_type, self.provider_type),
            (f.outcome, self.outcome),
        ):
            if wanted:
                ok &= np.array([v == wanted for v in values], dtype=bool)
        if f.credit_only:
            ok &= self.credit
        if f.format:
            wanted_delivery = _FORMAT_DELIVERY.get(f.format, set())
            ok &= np.array([bool(wanted_delivery & d) for d in self.delivery], dtype=bool)
        for flag, values in (
            (f.pell_eligible, self.pell),
            (f.flexible_hours, self.flexible),
            (f.childcare, self.childcare),
            (f.transit, self.transit),
        ):
            if flag:
                ok &= values
        if f.kind:
            ok &= self.program if f.kind == "program" else ~self.program
        if f.near is not None:
            best, _ = self.nearest(f.near)
            ok &= ~self.program | self.online | (best <= f.radius)
        return ok


class CredentialSearch:
    """Search over the catalog (credentials and training programs); create once per process
    (holds the index, BM25 and the filter table)."""

    def __init__(
        self,
        engine: Engine,
        index: Any,
        encoder: Encoder,
        weights: RankWeights,
        docs: list[CredentialDoc] | None = None,
    ) -> None:
        self.engine = engine
        self.index = index
        self.encoder = encoder
        self.weights = weights
        self.docs = docs if docs is not None else load_documents(engine)
        self.by_num = {d.num: d for d in self.docs}
        self.by_id = {d.id: d for d in self.docs}
        self._bm25 = BM25Okapi([tokenize(d.text) for d in self.docs]) if self.docs else None
        # Ranking uses its own BM25 over normalized terms (stop words out, light stemming).
        self._lexical = (
            LexicalIndex([lexical_terms(d.text) for d in self.docs]) if self.docs else None
        )
        self._idf = dict(self._bm25.idf) if self._bm25 is not None else {}
        self._name_words = [set(tokenize(f"{d.name} {d.provider}")) for d in self.docs]
        # Acronyms the catalog spells out ("Certified Nurse Aide (CNA)"), for learners' queries.
        self.acronyms = acronym_table((d.text for d in self.docs), STOP_WORDS)
        self._skill_sets = {d.num: frozenset(d.skill_ids) for d in self.docs}
        self._reconstructable = _can_reconstruct(index)
        self._query_vectors: _LRU[str, np.ndarray] = _LRU(QUERY_VECTOR_CACHE)
        self._allowed: _LRU[SearchFilters, tuple[np.ndarray, frozenset[int]]] = _LRU(FILTER_CACHE)
        self._masks: _LRU[SearchFilters, np.ndarray] = _LRU(FILTER_CACHE)
        self._goal_skills: _LRU[str, tuple[tuple[str, float], ...]] = _LRU(GOAL_CACHE)

    def find_by_name(self, text: str) -> str | None:
        """The credential a message names ("the CompTIA A+ one", "Google IT Support"), if clear."""
        words = set(tokenize(text)) - _GENERIC_WORDS
        if not words or not self.docs:
            return None
        best, best_score, runner_up = None, 0.0, 0.0
        for d, name_words in zip(self.docs, self._name_words, strict=True):
            overlap = words & name_words
            if not overlap:
                continue
            score = sum(self._idf.get(w, 0.0) for w in overlap) / (1 + 0.05 * len(name_words))
            if score > best_score:
                best, best_score, runner_up = d.id, score, best_score
            elif score > runner_up:
                runner_up = score
        # Only a clear winner counts: a shared word like "data" must not pick a credential.
        return best if best_score >= 3.0 and best_score > runner_up * 1.15 else None

    def expand_query(self, query: str) -> str:
        """The query with the words of the catalog's acronyms it uses ("cna" -> "certified
        nurse aide"), what both the encoder and BM25 see."""
        return expand(query, self.acronyms)

    def lexical_scores(self, query: str) -> np.ndarray:
        """BM25 score of every doc (in ``self.docs`` order) for the query's normalized terms."""
        if self._lexical is None:
            return np.zeros(0)
        return self._lexical.scores(lexical_terms(query))

    def query_vector(self, query: str) -> np.ndarray:
        """The query's embedding, cached: the encoder is most of a search's time (read-only)."""
        vec = self._query_vectors.get(query)
        if vec is None:
            vec = self.encoder.encode_query(query)
            vec.setflags(write=False)
            self._query_vectors.put(query, vec)
        return vec

    # -- filtering -----------------------------------------------------------------------------
    def allowed_nums(self, f: SearchFilters) -> np.ndarray | None:
        """Integer ids that pass the filters (None when no filter is active; read-only)."""
        allowed = self._allowed_with_set(f)
        return allowed[0] if allowed is not None else None

    def _allowed_with_set(self, f: SearchFilters) -> tuple[np.ndarray, frozenset[int]] | None:
        """``allowed_nums`` and the same ids as a set, cached per filter combination like the
        docs and facts (a query per filtered search opened a new SQLite connection each time)."""
        if not f.active:
            return None
        cached = self._allowed.get(f)
        if cached is None:
            nums = self._query_allowed(f)
            nums.setflags(write=False)
            cached = self._allowed.put(f, (nums, frozenset(nums.tolist())))
        return cached

    def _allowed_mask(self, f: SearchFilters) -> np.ndarray:
        """The filters as a mask in ``self.docs`` order (cached like the allowed ids)."""
        mask = self._masks.get(f)
        if mask is None:
            mask = self.table.mask(f)
            mask.setflags(write=False)
            mask = self._masks.put(f, mask)
        return mask

    @property
    def table(self) -> FilterTable:
        table = self.__dict__.get("_table")
        if table is None:
            table = self.__dict__.setdefault("_table", FilterTable(self.engine, self.docs))
        return table

    def _query_allowed(self, f: SearchFilters) -> np.ndarray:
        return self.table.nums[self.table.mask(f)]

    # -- ranking -------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 5,
        filters: SearchFilters | None = None,
        *,
        user_skill_ids: Iterable[str] = (),
        target_occupation: str | None = None,
        exclude: Iterable[str] = (),
        hints: SearchHints | None = None,
    ) -> list[SearchResult]:
        query = validate_query(query)
        hints = (hints or SearchHints()).validate()
        if not 1 <= k <= MAX_K:
            raise InvalidQuery(f"k must be between 1 and {MAX_K}, got {k}")
        filters = (filters or SearchFilters()).validate()
        cached = self._allowed_with_set(filters)
        allowed, allowed_set = cached if cached is not None else (None, None)
        excluded = {self.by_id[e].num for e in exclude if e in self.by_id}
        if allowed is not None and excluded:
            allowed = np.array([n for n in allowed if n not in excluded], dtype="int64")
        elif excluded:
            allowed = np.array([d.num for d in self.docs if d.num not in excluded], dtype="int64")
        if excluded and allowed is not None:
            allowed_set = frozenset(allowed.tolist())
        pool = max(k * 8, 40)
        query = self.expand_query(query)
        qvec = self.query_vector(query)
        sem_scores, nums = faiss_index.search(self.index, qvec, pool, allowed)
        semantic = dict(zip(nums.tolist(), sem_scores.tolist(), strict=True))
        # Lexical candidates widen the pool: names and acronyms ("AZ-900", "CCNA") match exactly.
        lexical: dict[int, float] = {}
        if self._lexical is not None:
            bm = self.lexical_scores(query)
            if allowed is not None:
                # Best lexical matches among the allowed ones, scaled to the best allowed: the
                # catalog-wide best (mostly filtered out, e.g. far from the learner's place)
                # would leave few candidates and shrink their scores.
                bm = np.where(self._allowed_mask(filters), bm, 0.0)
            top = np.argsort(-bm)[:pool]
            peak = float(bm[top[0]]) if len(top) and bm[top[0]] > 0 else 0.0
            for i in top:
                num = self.docs[i].num
                if bm[i] <= 0 or (allowed_set is not None and num not in allowed_set):
                    continue
                lexical[num] = float(bm[i]) / peak if peak else 0.0
        candidates = set(semantic) | set(lexical)
        missing = [n for n in candidates if n not in semantic]
        if missing:
            vecs = (
                np.stack([self.index.reconstruct(int(n)) for n in missing])
                if self._reconstructable
                else None
            )
            for j, n in enumerate(missing):
                semantic[n] = float(vecs[j] @ qvec) if vecs is not None else 0.0
        table = self.table
        pos = self._pos
        user_skills = set(user_skill_ids)
        gap_skills = self._gap_skills(target_occupation, user_skills)
        gap_total = sum(gap_skills.values())
        w = self.weights
        near, which = table.nearest(filters.near) if filters.near is not None else (None, None)
        radius = filters.radius
        # Score every candidate; the explanation and facts are built for the k shown only.
        ranked: list[tuple[float, int, list[str], bool]] = []
        for n in candidates:
            doc = self.by_num.get(n)
            if doc is None:
                continue
            i = pos[n]
            cred_skills = self._skill_sets[n]
            closes = [sid for sid in gap_skills if sid in cred_skills]
            gap_score = (sum(gap_skills[s] for s in closes) / gap_total) if gap_skills else 0.0
            for_goal = bool(target_occupation) and target_occupation in doc.occupation_codes
            occ_bonus = 0.5 if for_goal else 0.0
            local = 0.0
            if near is not None and near[i] <= radius:
                local = 1.0 - near[i] / (radius * 2)  # nearer is better; in range beats online
            kind_match = hints.prefer_kind is not None and doc.kind == hints.prefer_kind
            cheap = 0.0
            if hints.prefer_low_cost and not np.isnan(table.cost[i]):
                cheap = 1.0 / (1.0 + max(0.0, float(table.cost[i])) / LOW_COST_SCALE_USD)
            score = (
                w.semantic * semantic.get(n, 0.0)
                + w.lexical * lexical.get(n, 0.0)
                + w.skill_gap * min(1.0, gap_score + occ_bonus)
                + w.recognition * float(table.recognition[i])
                + w.credit * float(table.credit[i])
                + w.local * local
                + w.kind * float(kind_match)
                + w.low_cost * cheap
            )
            ranked.append((score, n, closes, for_goal))
        ranked.sort(key=lambda t: (-t[0], t[1]))
        shown = ranked[:k]
        facts = self.facts([self.by_num[n].id for _, n, _, _ in shown])
        out = []
        for score, n, closes, for_goal in shown:
            doc = self.by_num[n]
            f = facts[doc.id]
            labels = dict(zip(doc.skill_ids, doc.skill_labels, strict=True))
            why = {
                "semantic": round(semantic.get(n, 0.0), 4),
                "lexical": round(lexical.get(n, 0.0), 4),
                "matched_skills": [labels[s] for s in doc.skill_ids if s in user_skills],
                "gaps_closed": [labels[s] for s in closes],
                "prepares_for_goal": for_goal,
                "recognition": f["recognition"],
                "credit": f["credit"],
                "articulations": f["articulations"],
            }
            miles = place = None
            if near is not None and which is not None and np.isfinite(near[pos[n]]):
                miles = round(float(near[pos[n]]), 1)
                place = table.off_label[int(which[pos[n]])]
                why["miles"] = miles
            out.append(
                SearchResult(
                    id=f["id"],
                    name=f["name"],
                    provider=f["provider"],
                    type=f["type"],
                    url=f["url"],
                    cost_usd=f["cost_usd"],
                    cost_note=f["cost_note"],
                    hours=f["hours"],
                    score=round(score, 4),
                    why=why,
                    kind=doc.kind,
                    miles=miles,
                    place=place,
                )
            )
        return out

    @property
    def _pos(self) -> dict[int, int]:
        pos = self.__dict__.get("_pos_cache")
        if pos is None:
            pos = self.__dict__.setdefault(
                "_pos_cache", {d.num: i for i, d in enumerate(self.docs)}
            )
        return pos

    def _gap_skills(self, occupation: str | None, user_skills: set[str]) -> dict[str, float]:
        """Skills the target occupation needs (importance >= 0.5) that the user lacks."""
        if not occupation:
            return {}
        rows = self._goal_skills.get(occupation)
        if rows is None:  # cached by goal: the same learner's goal comes back every turn
            stmt = select(schema.OccupationSkill.skill_id, schema.OccupationSkill.importance).where(
                schema.OccupationSkill.code == occupation, schema.OccupationSkill.importance >= 0.5
            )
            with self.engine.connect() as conn:
                found = conn.execute(stmt).all()
            rows = self._goal_skills.put(occupation, tuple((sid, imp) for sid, imp in found))
        return {sid: imp for sid, imp in rows if sid not in user_skills}

    def facts(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Facts (``load_facts``) for these credential ids, cached for the life of this object
        (like the docs and the BM25 model): loading them through the ORM took ~30 ms of every
        search, and the actions ask for the same few credentials turn after turn."""
        cache: dict[str, dict[str, Any]] = self.__dict__.setdefault("_facts_cache", {})
        if not cache and len(self.docs) <= FACTS_PRELOAD:
            cache.update(load_facts(self.engine, [d.id for d in self.docs]))
        missing = [i for i in ids if i not in cache]
        if missing:
            programs = [i for i in missing if i in self.by_id and self.by_id[i].kind == "program"]
            if programs:
                cache.update(load_program_facts(self.engine, programs))
            program_set = set(programs)
            others = [i for i in missing if i not in program_set]
            if others:
                cache.update(load_facts(self.engine, others))
        return {i: cache[i] for i in ids if i in cache}


def load_facts(engine: Engine, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Facts (with sources) for the given credential ids; unknown ids are absent."""
    ids = list(ids)
    if not ids:
        return {}
    with Session(engine, future=True) as s:
        creds = s.scalars(
            select(schema.Credential)
            .where(schema.Credential.id.in_(ids))
            .options(
                selectinload(schema.Credential.provider),
                selectinload(schema.Credential.recognitions),
                selectinload(schema.Credential.credit_recommendations),
                selectinload(schema.Credential.articulations)
                .selectinload(schema.Articulation.program)
                .selectinload(schema.DegreeProgram.institution),
            )
        ).all()
        return {c.id: credential_facts(c) for c in creds}


def load_program_facts(engine: Engine, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Facts (with sources) for the given training program ids; unknown ids are absent."""
    ids = list(ids)
    if not ids:
        return {}
    with Session(engine, future=True) as s:
        programs = s.scalars(
            select(schema.TrainingProgram)
            .where(schema.TrainingProgram.id.in_(ids))
            .options(
                selectinload(schema.TrainingProgram.provider),
                selectinload(schema.TrainingProgram.offerings),
                selectinload(schema.TrainingProgram.occupations),
            )
        ).all()
        return {p.id: program_facts(p) for p in programs}


def program_facts(p: schema.TrainingProgram) -> dict[str, Any]:
    """Plain facts about one training program with its source; unknown numbers stay None.
    The keys a credential's facts have are here too, so a reply can show either."""
    offerings = [
        {
            "campus": o.campus,
            "address": o.address,
            "city": o.city,
            "county": o.county,
            "state": o.state,
            "zip": o.zip,
            "lat": o.lat,
            "lon": o.lon,
            "delivery": o.delivery,
            "transit": o.transit,
            "childcare": o.childcare,
            "flexible_hours": o.flexible_hours,
        }
        for o in sorted(p.offerings, key=lambda o: (o.city or "", o.campus or ""))
    ]
    return {
        "id": p.id,
        "kind": "program",
        "name": p.name,
        "provider": p.provider.name,
        "provider_id": p.provider_id,
        "provider_type": p.provider_type,
        "type": p.outcome or "training_program",
        "outcome": p.outcome,
        "url": p.url or p.source_url,
        "cost_usd": p.required_cost_usd,
        "cost_note": None,
        "tuition_fees_usd": p.tuition_fees_usd,
        "books_supplies_usd": p.books_supplies_usd,
        "optional_cost_usd": p.optional_cost_usd,
        "out_of_district_usd": p.out_of_district_usd,
        "cost_notes": list(p.cost_notes or []),
        "hours": p.hours,
        "weeks": p.weeks,
        "free": False,
        "delivery": sorted({o["delivery"] for o in offerings if o["delivery"]}),
        "level": None,
        "pell_eligible": p.pell_eligible,
        # Every program on a state's Eligible Training Provider List may be paid for with WIOA
        # training funds; the local workforce board decides who qualifies.
        "wioa_eligible": p.source == "texas-etpl",
        "prerequisites": p.prerequisites,
        "cip": p.cip,
        "credential_name": p.credential_name,
        "credential_id": p.credential_id,
        "occupations": [po.code for po in p.occupations],
        "offerings": offerings,
        "source": p.source,
        "source_url": p.source_url,
        "recorded": p.as_of.isoformat() if p.as_of else None,
        "as_of": p.as_of.isoformat() if p.as_of else None,
        "verified": False,
        "quality_notes": list(p.quality_notes or []),
        "recognition": [],
        "credit": [],
        "articulations": [],
    }


def _can_reconstruct(index: Any) -> bool:
    return faiss_index.can_reconstruct(index)


def credential_facts(c: schema.Credential) -> dict[str, Any]:
    """Plain facts about one credential with sources; unknown numbers stay None."""
    return {
        "id": c.id,
        "kind": "credential",
        "name": c.name,
        "provider": c.provider.name,
        "type": c.type,
        "url": c.url,
        "cost_usd": c.cost_usd,
        "cost_note": c.cost_note,
        "hours": c.hours,
        "weeks": c.weeks,
        "free": c.free,
        "delivery": list(c.delivery or []),
        "level": c.level,
        "source_url": c.source_url,
        "recorded": c.recorded.isoformat() if c.recorded else None,
        "source": c.source or "curated",
        "as_of": (c.as_of or c.recorded).isoformat() if (c.as_of or c.recorded) else None,
        "verified": bool(c.verified),
        "acronym": c.acronym,
        "cert_type": c.cert_type,
        "exam_required": c.exam_required,
        "training_required": c.training_required,
        "renewal_years": c.renewal_years,
        "external_ids": dict(c.external_ids or {}),
        "recognition": [
            {"kind": r.kind, "by": r.recognized_by, "evidence": r.evidence, "source": r.source_url}
            for r in c.recognitions
        ],
        "credit": [
            {
                "issuer": r.issuer,
                "semester_hours": r.semester_hours,
                "level": r.level,
                "subject": r.subject,
                "source": r.source_url,
            }
            for r in c.credit_recommendations
        ],
        "articulations": [
            {
                "program": a.program.name,
                "institution": a.program.institution.name,
                "institution_id": a.program.institution_id,
                "example": a.program.institution.example,
                "credits": a.credits_awarded,
                "requirement": a.requirement,
                "kind": a.kind,
                "source": a.source_url,
            }
            for a in c.articulations
        ],
    }
