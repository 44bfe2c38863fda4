"""What a learner's message says about jobs: the goal occupation (or field), the current job
(civilian or military), and occupations to suggest when there is no goal yet (issue #16).

Matching is over real titles: O*NET official titles, the 56,560 alternate titles (each
"Long (SHORT)" title also counts as its two halves, which is exactly O*NET's short-title column),
and the 7,796 titles incumbents reported (sample_of_reported_titles.tsv). The only hand-kept
lists are learners' words the data lacks (CDL, Uber, "drive trucks"), the field words, and the
cue phrases that tell a goal from a current job.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from knowledge import schema

Kind = Literal["occupation", "field", "none"]

_WORD = re.compile(r"[a-z0-9+#]+")
# Words that never name a job (function words, chat words, goal/cue verbs).
_STOP = set(
    [
        "a",
        "an",
        "the",
        "to",
        "be",
        "become",
        "becoming",
        "became",
        "i",
        "want",
        "wanna",
        "wanting",
        "would",
        "like",
        "id",
        "i'd",
        "love",
        "want",
        "as",
        "in",
        "of",
        "and",
        "or",
        "my",
        "goal",
        "is",
        "get",
        "getting",
        "into",
        "go",
        "going",
        "gonna",
        "job",
        "jobs",
        "career",
        "careers",
        "role",
        "position",
        "some",
        "kind",
        "sort",
        "maybe",
        "im",
        "i'm",
        "am",
        "do",
        "doing",
        "for",
        "me",
        "someday",
        "work",
        "working",
        "switch",
        "switching",
        "move",
        "moving",
        "transition",
        "transitioning",
        "start",
        "starting",
        "new",
        "field",
        "industry",
        "sector",
        "area",
        "something",
        "thing",
        "stuff",
        "what",
        "how",
        "can",
        "could",
        "should",
        "will",
        "where",
        "which",
        "who",
        "why",
        "when",
        "does",
        "did",
        "it",
        "its",
        "that",
        "this",
        "there",
        "their",
        "they",
        "them",
        "you",
        "your",
        "we",
        "our",
        "us",
        "at",
        "on",
        "with",
        "from",
        "by",
        "about",
        "just",
        "really",
        "very",
        "so",
        "then",
        "now",
        "also",
        "too",
        "much",
        "many",
        "more",
        "most",
        "cheap",
        "cheapest",
        "way",
        "ways",
        "best",
        "good",
        "need",
        "needs",
        "needed",
        "help",
        "please",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "bye",
        "ok",
        "okay",
        "yes",
        "no",
        "not",
        "sure",
        "know",
        "have",
        "has",
        "been",
        "was",
        "were",
        "are",
        "think",
        "thinking",
        "about",
        "interested",
        "becoming",
        "try",
        "trying",
        "looking",
        "look",
        "plan",
        "planning",
        "hope",
        "hoping",
        "dream",
        "one",
        "ones",
        "other",
        "day",
        "days",
        "year",
        "years",
        "certified",
        "certification",
        "license",
        "licensed",
        "degree",
        "program",
        "course",
        "class",
        "classes",
        "training",
        "near",
        "here",
        "pay",
        "salary",
        "cost",
        "costs",
        "money",
        "option",
        "options",
        "recommend",
        "recommendation",
        "compare",
        "first",
        "second",
        "two",
        "three",
    ]
)
# Words about when, how, how much or where, aid, and chat filler: never part of a goal
# ("cna classes on weekends", "cdl school", "budget ~4k", "good morning", "idk").
_NOISE = {
    "morning", "mornings", "afternoon", "afternoons", "evening", "evenings", "night", "nights",
    "weekend", "weekends", "weekday", "weekdays", "daytime", "online", "remote", "remotely",
    "hybrid", "person", "fast", "quick", "quickly", "asap", "hour", "hours", "hr", "hrs",
    "wk", "week", "weeks", "month", "months", "budget", "afford", "affordable", "free", "pell",
    "wioa", "gi", "bill", "fafsa", "grant", "grants", "scholarship", "childcare", "kids", "kid",
    "bus", "transit", "car", "honestly", "idk", "guess", "lol", "stuff", "instead", "hmm", "thats",
    "school", "schools", "clases", "clasess", "classes", "only", "please", "sorry", "lost", "out",
    "maybe", "probably", "prefer", "preferably", "cert", "certs", "certificate", "certifications",
    "apprenticeship", "apprenticeships", "bootcamp", "course", "courses", "program", "programs",
    "quiero", "ser", "para", "estudiar", "pay", "pays", "paid", "right", "someday", "eventually",
    "live", "living", "located", "moved", "stay", "taught", "spanish", "english", "bilingual", "if", "whether", "units", "while",
    "pero", "hablo", "mucho", "ingles", "vivo", "en", "y", "de", "el", "la", "un", "una", "como",
}  # fmt: skip
# Words kept even though they are in _STOP: they are parts of real titles learners type.
_KEEP_IN_TITLES = {"licensed", "certified", "help", "it", "ma"}
_PLURAL_IES = re.compile(r"(?<=[a-z]{3})ies$")
_PLURAL = re.compile(r"(?<=[a-z]{3}[^s])s$")

# Learners' words the O*NET titles lack (checked against alternate and reported titles).
_ALIASES: dict[str, tuple[str, ...]] = {
    "cdl": ("tractor", "trailer", "truck", "driver"),
    "uber": ("rideshare", "driver"),
    "lyft": ("rideshare", "driver"),
    "doordash": ("delivery", "driver"),
    "ac": ("air", "conditioning"),
    # O*NET's only CMA is "Certified Medical Aide" (31-1121); learners mean the assistant.
    "cma": ("certified", "medical", "assistant"),
    "cyber": ("cybersecurity",),
    "dev": ("developer",),
}
# Activity words -> the title word they stand for ("drive trucks", "get into welding").
_AGENT = {
    "drive": "driver",
    "driving": "driver",
    "weld": "welder",
    "welding": "welder",
    "plumbing": "plumber",
    "nursing": "nurse",
    "coding": "coder",
    "programming": "programmer",
    "teach": "teacher",
    "teaching": "teacher",
    "phlebotomy": "phlebotomist",
    "cosmetology": "cosmetologist",
    "bookkeeping": "bookkeeper",
    "carpentry": "carpenter",
    "trucking": "truck",
    "tech": "technician",
    "techs": "technician",
    "rep": "representative",
    "mech": "mechanic",
    "fix": "repairer",
    "fixing": "repairer",
    "repair": "repairer",
    "assisting": "assistant",
    # A few Spanish job words (O*NET has no Spanish titles; issue #16 item 7 keeps the goal).
    "asistente": "assistant",
    "medico": "medical",
    "enfermera": "nurse",
    "enfermero": "nurse",
    "enfermeria": "nurse",
    "soldador": "welder",
    "soldadura": "welder",
    "electricista": "electrician",
    "mecanico": "mechanic",
    "camionero": "driver",
    "engineer": "engineer",
}
# The abbreviations learners name jobs by (issue #16), and a few words that name a line of
# work on their own: each names a goal without a cue ("cybersecurity??").
_ABBREVIATIONS = {"rn", "lvn", "lpn", "cna", "hvac", "emt", "cnc", "ux", "qa", "cma", "ma", "it"}
_ABBREVIATIONS |= {"cybersecurity", "phlebotomist", "welder", "bookkeeper"}
# Upper-case-only abbreviations that are ordinary words in lower case.
_CASED = {"IT": "zzit", "MA": "zzma"}

# Fields: hand-kept words -> SOC prefixes (the occupations come from the data).
_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "healthcare": (
        ("healthcare", "health care", "health", "medical field", "medical", "hospital"),
        ("29-", "31-"),
    ),
    "it": (
        ("zzit", "information technology", "tech", "technology", "computers", "computer"),
        ("15-12",),
    ),
    "trades": (("trades", "skilled trades", "trade", "skilled trade"), ("47-", "49-", "51-4121")),
    "manufacturing": (("manufacturing", "factory", "production"), ("51-",)),
    "construction": (("construction",), ("47-",)),
    "business": (("business", "office"), ("13-", "43-")),
    "education": (("education", "teaching", "schools", "school"), ("25-",)),
    "transportation": (("transportation", "logistics", "trucking", "warehouse"), ("53-",)),
    "finance": (("finance", "banking"), ("13-2", "43-3")),
    "hospitality": (("hospitality", "restaurants", "food service"), ("35-",)),
    "public safety": (("law enforcement", "public safety"), ("33-",)),
}
_FIELD_FILLER = {"field", "industry", "sector", "skilled", "something", "area", "job", "jobs"}

_CLAUSE = re.compile(
    r"[.!?;\n]+|,\s*(?=i\b|i'm|but\b|and\b)|\s+(?:and|but|so|then)\s+(?=(?:i\b|i'm|im\b|i've|i'd|"
    r"want|wanna|would|need|hope|plan|looking|trying|now|have|know|am\b|maybe|eventually))",
    re.I,
)
# The goal starts after one of these (the last one in a clause wins).
_GOAL_CUE = re.compile(
    r"\b(?:become|becoming|be|get into|getting into|go into|going into|break into|"
    r"switch(?:ing)?(?: careers?)? (?:in)?to|mov(?:e|ing) into|transition(?:ing)? (?:in)?to|"
    r"get my|get an?|job (?:as|in)|jobs? in|work(?:ing)? (?:as|in)|career (?:as|in)|"
    r"interested in|train(?:ing)? (?:as|to be|for)|stud(?:y|ying)|goal is(?: to)?|"
    r"learn(?:ing)?(?: how)? to|(?:thinking|thought)(?: \w+){0,4}? about(?: doing| being| becoming)?|"
    r"thinking(?: of)?|"
    r"wanna(?: do| be)?|quiero(?: ser| estudiar(?: para ser)?)?|para ser|aprender|"
    r"(?:want|wanna|wanting|'d like|would like|hope|hoping|plan|planning|trying|aim|aiming|"
    r"gonna|going|need|love) to)\b\s*(?:an?\b|the\b|my\b|some\b)?",
    re.I,
)
_CURRENT_CUE = re.compile(
    r"\b(?:i'?m|i am|im) (?:currently |now |still )?(?:an?|working as an?) |"
    r"\bi work (?:as an?|in|at|for) |\bi'?ve (?:been|worked as) an? |\bi (?:was|used to be) an? |"
    r"\bi (?:drive|deliver) for |\bi'?ve done |\bi did |\bi do |\bcurrently an? |\bmy job is |"
    r"\bi'?ve been (?:doing|working in) |\bi work ",
    re.I,
)
# Stop the goal/current span at what follows the job ("... at CVS", "... in Houston", "... for 3 years").
_SPAN_END = re.compile(
    r"\s+(?:at|near|in|for|with|from|by|around|because|since|when|while|where|like|"
    r"what|how|so|but|right now|currently)\b.*$|\s+(?:and|&)\s+(?:i|want|need|know|have)\b.*$",
    re.I,
)
_QUESTION_START = re.compile(
    r"^\s*(?:how|what|what's|whats|does|do|did|can|could|is|are|where|when|why|which|who|"
    r"compare|show|tell|list|give|thanks|thank|hi|hello|hey|ok|okay|yes|no|not|i know|i have|"
    r"i can|have|need|got|i'?m not|i'?m \d+|im \d+)\b",
    re.I,
)
_BRANCH = re.compile(
    r"\b(army|navy|marines?|marine corps|usmc|air force|usaf|coast guard|national guard|"
    r"space force|military|veteran|vet|enlisted|deployed)\b",
    re.I,
)
_MOS = re.compile(r"\b(\d{2}[A-Z]\d?|\d{4})\b")  # Army MOS (11B, 68W, 25B1), Marine MOS (0311)
_MILITARY_ROLE_WORDS = re.compile(
    r"\b(?:was|as|served as|a|an)\s+(?:an?\s+)?(?P<role>[a-z][a-z /-]{2,40}?)"
    r"(?=\s+(?:in|with|for)\s+the\b|\s*[,.]|\s+(?:in|for)\s+\d|$)",
    re.I,
)


def _norm(tok: str) -> str:
    if _PLURAL_IES.search(tok):
        return tok[:-3] + "y"
    return _PLURAL.sub("", tok)


def _title_tokens(title: str) -> tuple[str, ...]:
    toks = [_norm(t) for t in _WORD.findall(title.lower().replace("&", " and "))]
    return tuple(t for t in toks if t not in _STOP or t in _KEEP_IN_TITLES)


def _title_forms(title: str) -> list[str]:
    """'Licensed Practical Nurse (LPN)' -> the whole, 'Licensed Practical Nurse' and 'LPN'
    (the two halves are O*NET's long and short titles)."""
    m = re.match(r"^(.*?)\s*\((.+)\)\s*$", title)
    return [title, m.group(1), m.group(2)] if m else [title]


@dataclass(frozen=True)
class Candidate:
    code: str
    title: str
    score: float
    matched_title: str


@dataclass(frozen=True)
class GoalMatch:
    kind: Kind
    candidates: tuple[Candidate, ...] = ()
    span: tuple[int, int] | None = None  # character offsets of the words that named the goal
    span_text: str | None = None
    field: str | None = None
    confidence: float = 0.0
    ambiguous: bool = False  # several occupations fit: show the candidates as buttons

    @property
    def code(self) -> str | None:
        return self.candidates[0].code if self.kind == "occupation" and self.candidates else None


@dataclass(frozen=True)
class Military:
    branch: str | None
    mos: str | None  # the code as written (11B, 0311); O*NET 29.3 ships no MOS crosswalk
    role_text: str | None
    occupation: Candidate | None  # the O*NET military occupation (55-xxxx) the words name


@dataclass(frozen=True)
class CurrentJob:
    span: tuple[int, int]
    span_text: str
    candidates: tuple[Candidate, ...]
    military: Military | None = None
    civilian_options: tuple[Suggestion, ...] = ()  # military only: civilian jobs that fit

    @property
    def code(self) -> str | None:
        return self.candidates[0].code if self.candidates else None


@dataclass(frozen=True)
class Suggestion:
    code: str
    title: str
    median_wage_usd: float | None
    typical_education: str | None
    job_zone: int | None
    score: float
    because: tuple[str, ...] = field(default=())  # skills or relation that led here


@dataclass(frozen=True)
class _Occ:
    title: str
    description: str
    job_zone: int | None
    typical_education: str | None
    median_wage_usd: float | None


class GoalUnderstanding:
    def __init__(
        self,
        occupations: dict[str, _Occ],
        titles: list[tuple[str, str]],
        *,
        employment: dict[str, float] | None = None,
        coverage: dict[str, int] | None = None,
        engine: Engine | None = None,
    ) -> None:
        self._occ = occupations
        self._engine = engine
        self._employment = employment or {}
        self._coverage = coverage or {}
        seen: set[tuple[str, tuple[str, ...]]] = set()
        self._titles: list[tuple[str, str, tuple[str, ...]]] = []
        for code, raw in titles:
            for form in _title_forms(raw):
                toks = _title_tokens(form)
                if toks and (code, toks) not in seen:
                    seen.add((code, toks))
                    self._titles.append((code, form.strip(), toks))
        postings: dict[str, list[int]] = defaultdict(list)
        # How many of an occupation's titles use a word: "UX Designer" is a title of two
        # occupations, but only Web and Digital Interface Designers has dozens of designers.
        self._use: dict[str, Counter[str]] = defaultdict(Counter)
        for i, (code, _, toks) in enumerate(self._titles):
            for tok in set(toks):
                postings[tok].append(i)
                self._use[code][tok] += 1
        n = len(self._titles) or 1
        self._postings = dict(postings)
        self._idf = {t: math.log(n / len(ids)) + 1.0 for t, ids in postings.items()}
        self._common = {t: set(ids) for t, ids in postings.items() if len(ids) > 1000}
        self._tw = [sum(self._idf[t] for t in set(toks)) for _, _, toks in self._titles]
        self._max_use = {
            t: max(self._use[self._titles[i][0]][t] for i in ids) for t, ids in postings.items()
        }
        # One-deletion index for typos ("wedler", "electrcian", "netwrok").
        self._deletes: dict[str, list[str]] = defaultdict(list)
        for tok in self._postings:
            if len(tok) >= 4:
                for d in _deletes(tok):
                    self._deletes[d].append(tok)
        last: Counter[str] = Counter(toks[-1] for _, _, toks in self._titles)
        self._heads = {t for t, n in last.items() if n >= 0.2 * len(postings[t])}
        self._heads |= _ABBREVIATIONS & postings.keys()
        self._deletes2_index: dict[str, list[str]] | None = None  # built on first use
        self._field_words = sorted(
            ((w, name) for name, (words, _) in _FIELDS.items() for w in words),
            key=lambda x: -len(x[0]),
        )

    # ---- loading -------------------------------------------------------------------------

    @classmethod
    def from_engine(cls, engine: Engine, reference_dir: Path) -> GoalUnderstanding:
        with engine.connect() as conn:
            occ = {
                code: _Occ(title, desc or "", zone, edu, wage)
                for code, title, desc, zone, edu, wage in conn.execute(
                    select(
                        schema.Occupation.code,
                        schema.Occupation.title,
                        schema.Occupation.description,
                        schema.Occupation.job_zone,
                        schema.Occupation.typical_education,
                        schema.Occupation.median_wage_usd,
                    )
                )
            }
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
        titles = [(c, o.title) for c, o in occ.items()] + [(c, t) for c, t in alt]
        titles += [(c, t) for c, t in _reported_titles(reference_dir) if c in occ]
        employment = _employment(reference_dir)
        return cls(occ, titles, employment=employment, coverage=coverage, engine=engine)

    # ---- title matching ------------------------------------------------------------------

    def _deletes2(self) -> dict[str, list[str]]:
        """Two-deletion index of long title words (only a long typo needs it)."""
        if self._deletes2_index is None:
            index: dict[str, list[str]] = defaultdict(list)
            for tok in self._postings:
                if len(tok) >= 9:
                    for d2 in {d2 for d1 in _deletes(tok) for d2 in _deletes(d1)}:
                        index[d2].append(tok)
            self._deletes2_index = dict(index)
        return self._deletes2_index

    def _fix(self, tok: str) -> str | None:
        if tok in self._postings:
            return tok
        if len(tok) < 5:
            return None
        dels = _deletes(tok)
        # A letter left out ("electrican") or one too many ("payrolll") before a changed one
        # ("electrical"), then the commoner word.
        hits = set(self._deletes.get(tok, ())) | (dels & self._postings.keys())
        if not hits:
            hits = {t for d in dels for t in self._deletes.get(d, ())}
        if not hits and len(tok) >= 8:  # long words: two letters left out ("bookeping")
            hits = {t for d in dels for t in self._deletes2().get(d, ())}
        if not hits:
            return None
        return max(hits, key=lambda t: (len(self._postings[t]), t))

    def _query(self, text: str) -> list[str]:
        text = _fold(text)
        for cased, repl in _CASED.items():
            text = re.sub(rf"\b{cased}\b", repl, text)
        out: list[str] = []
        for raw in _WORD.findall(text.lower()):
            if raw in ("it", "ma"):
                continue  # a pronoun / a state unless written IT, MA
            raw = {"zzit": "it", "zzma": "ma"}.get(raw, raw)
            if (raw in _STOP and raw not in _KEEP_IN_TITLES) or raw in _NOISE:
                continue
            tok = _norm(raw)
            expanded = _ALIASES.get(raw) or _ALIASES.get(tok)
            if expanded:
                out.extend(expanded)
                continue
            tok = _AGENT.get(raw, _AGENT.get(tok, tok))
            fixed = self._fix(tok)
            if fixed is not None:
                out.append(_AGENT.get(fixed, fixed))
        return list(dict.fromkeys(out))

    def _rank(
        self, q: list[str], codes: set[str] | None, exclude_military: bool
    ) -> list[Candidate]:
        if not q:
            return []
        inter: dict[int, float] = defaultdict(float)
        # Rarest word first; a very common word ("technician", "operator") then only adds to
        # titles already found, as a title with nothing but that word cannot win.
        for n, tok in enumerate(sorted(q, key=lambda t: -self._idf[t])):
            w = self._idf[tok]
            common = self._common.get(tok)
            if n and common is not None:
                for i in [i for i in inter if i in common]:
                    inter[i] += w
                continue
            for i in self._postings[tok]:
                inter[i] += w
        qw = sum(self._idf[t] for t in q)
        best: dict[str, tuple[float, int]] = {}
        for i, s in inter.items():
            code = self._titles[i][0]
            if codes is not None and code not in codes:
                continue
            if exclude_military and code.startswith("55-"):
                continue
            # Mostly "does the title cover what was said", partly "and little else".
            score = 0.65 * s / qw + 0.35 * s / self._tw[i]
            if code not in best or score > best[code][0]:
                best[code] = (score, i)
        out = []
        for code, (score, i) in best.items():
            toks = set(self._titles[i][2]) & set(q)
            use = sum(
                math.log1p(self._use[code][t]) / math.log1p(self._max_use[t]) for t in toks
            ) / max(1, len(toks))
            # Priors from data: occupations the catalog prepares for, and common ones (BLS
            # employment), are what a learner more likely means among equal titles.
            cov = math.log1p(self._coverage.get(code, 0)) / math.log1p(50)
            emp = math.log10(1 + self._employment.get(code[:7], 0.0)) / 7
            final = score + 0.12 * use + 0.05 * min(1.0, cov) + 0.03 * emp
            out.append(Candidate(code, self._occ[code].title, round(final, 4), self._titles[i][1]))
        out.sort(key=lambda c: (-c.score, -self._coverage.get(c.code, 0), c.code))
        return out

    def match_title(self, text: str, limit: int = 3) -> list[Candidate]:
        """Occupations whose titles best fit ``text`` (a job title, typos allowed)."""
        return self._rank(self._query(text), None, True)[:limit]

    # ---- fields --------------------------------------------------------------------------

    def _field_in(self, text: str) -> tuple[str, str] | None:
        low = " " + re.sub(r"\bIT\b", "zzit", text).lower() + " "
        for word, name in self._field_words:
            if re.search(rf"(?<![a-z-]){re.escape(word)}(?![a-z-])", low):
                return word, name
        return None

    def field_occupations(self, field_name: str, limit: int = 4) -> list[Suggestion]:
        """Entry-level occupations of a field (job zone 2-3, else 1), most jobs first."""
        prefixes = _FIELDS[field_name][1]
        pool = [
            (c, o)
            for c, o in self._occ.items()
            if c.startswith(prefixes) and o.median_wage_usd is not None and o.job_zone
        ]
        # Occupations the catalog prepares for first, so recommendations can follow.
        pool.sort(
            key=lambda x: (
                x[1].job_zone not in (2, 3),
                x[1].job_zone > 3,
                self._coverage.get(x[0], 0) == 0,
                -self._employment.get(x[0][:7], 0.0),
                x[0],
            )
        )
        seen7: set[str] = set()
        out: list[Suggestion] = []
        for code, o in pool:
            if code[:7] in seen7 or (o.job_zone or 9) > 3:
                continue
            seen7.add(code[:7])
            out.append(_suggestion(code, o, 1.0, (f"entry-level {field_name}",)))
            if len(out) == limit:
                break
        return out

    def describe(self, code: str) -> Suggestion | None:
        """An occupation with its BLS median pay and typical education, by O*NET-SOC code."""
        o = self._occ.get(code)
        return _suggestion(code, o, 1.0, ()) if o is not None else None

    # ---- goal ----------------------------------------------------------------------------

    def match_goal(self, text: str) -> GoalMatch:
        text = _without_places(text[:500])
        current = {s for s, _ in self._current_spans(text)}
        for start, end, full_end, cued in self._goal_spans(text, current):
            found = self._judge(text, start, end, full_end, cued)
            if found.kind != "none":
                return found
        return GoalMatch("none")

    def _goal_spans(self, text: str, current: set[int]) -> list[tuple[int, int, int, bool]]:
        """(start, end, full end, cued) per clause that may name the goal, cued ones first. A
        clause about the current job still names a goal after a later cue ("I work the register
        and my manager said I should become a pharmacy tech")."""
        spans: list[tuple[int, int, int, bool]] = []
        pos = 0
        for part in [*_CLAUSE.split(text)]:
            start = text.find(part, pos) if part else pos
            pos = start + len(part)
            if not part.strip():
                continue
            cues = list(_GOAL_CUE.finditer(part))
            cur = _CURRENT_CUE.search(part)
            if cues:
                c = cues[-1]
                if cur and cur.start() > c.start():
                    continue
                s = start + c.end()
                while s < pos and text[s].isspace():
                    s += 1
                tail = _SPAN_END.sub("", text[s:pos])
                full = len(text[s:pos].rstrip(" ,?!"))
                if self._query(text[s:pos]) or self._field_in(text[s:pos]):
                    spans.append((s, s + len(tail.rstrip(" ,?!")), s + full, True))
                    continue
                part, pos_end = text[start : start + c.start()], pos
                pos = start + len(part)
                if not part.strip() or cur:
                    pos = pos_end
                    continue
                tail = _SPAN_END.sub("", part)
                lead = len(part) - len(part.lstrip())
                spans.append((start + lead, start + len(tail.rstrip(" ,?!")), pos, False))
                pos = pos_end
            elif start in current or cur:
                continue
            else:
                # A question ("can wioa pay for cdl school?") keeps its words after "for".
                question = bool(_QUESTION_START.match(part))
                tail = part if question else _SPAN_END.sub("", part)
                lead = len(part) - len(part.lstrip())
                full = start + len(part.rstrip(" ,?!"))
                spans.append((start + lead, start + len(tail.rstrip(" ,?!")), full, False))
        # A cued span is a stronger signal than a bare phrase.
        return sorted(spans, key=lambda s: not s[3])

    def _field_only(self, span: str) -> str | None:
        """The field named, when the words name a field and nothing more specific."""
        fld = self._field_in(span)
        if not fld:
            return None
        low = re.sub(r"\bIT\b", "zzit", span).lower()
        rest = re.sub(rf"(?<![a-z-]){re.escape(fld[0])}(?![a-z-])", " ", low)
        leftover = [
            t
            for t in _WORD.findall(rest)
            if t not in _STOP and t not in _FIELD_FILLER and t not in _NOISE
        ]
        return None if leftover else fld[1]

    def _judge(self, text: str, start: int, end: int, full_end: int, cued: bool) -> GoalMatch:
        span = text[start:end]
        q = self._query(span)
        fld = self._field_only(span)
        if fld is None and not q:
            # "something in health care": the cut at "in" (for places) left nothing.
            fld = self._field_only(text[start:full_end])
            if fld:
                end, span = full_end, text[start:full_end]
        if fld:
            conf = 0.9 if cued else 0.7
            return GoalMatch("field", span=(start, end), span_text=span, field=fld, confidence=conf)
        raw_content = [
            t
            for t in _WORD.findall(re.sub(r"\bIT\b", "zzit", span).lower())
            if t not in _STOP and t not in _NOISE and len(t) > 1
        ]
        if not q or (not cued and len(raw_content) > 5):
            return GoalMatch("none")
        # Words nobody uses in a title ("qwzx") make an uncued phrase no goal.
        if not cued and not all(self._known(t) for t in raw_content):
            return GoalMatch("none")
        found = self._rank(q, None, True)
        if not found:
            return GoalMatch("none")
        # Without a cue, the words must include one that ends job titles ("realtor", "cna",
        # "driver") or two words of one title ("help desk"), not one word that starts titles
        # ("lost", "stay", "morning").
        if (
            not cued
            and not any(t in self._heads for t in q)
            and len(set(_title_tokens(found[0].matched_title)) & set(q)) < 2
        ):
            return GoalMatch("none")
        top = found[0].score
        if top < (0.62 if cued else 0.8):
            return GoalMatch("none")
        close = [c for c in found[:3] if c.score >= top - 0.06]
        # "hygienist or assistant", "bookkeeping or payroll": each side with the shared words.
        alt = self._alternatives(span, q)
        if len(alt) > 1:
            close = alt
        ambiguous = len(close) > 1
        confidence = round(min(1.0, top) * (1.0 - 0.3 * ambiguous), 3)
        return GoalMatch(
            "occupation",
            tuple(close if ambiguous else found[:1]),
            (start, end),
            span,
            None,
            confidence,
            ambiguous,
        )

    def _alternatives(self, span: str, q: list[str]) -> list[Candidate]:
        m = re.search(r"\b([a-z]+) or ([a-z]+)\b", span.lower())
        if not m:
            return []
        sides = [self._query(m.group(1)), self._query(m.group(2))]
        if not all(len(x) == 1 for x in sides) or not any(x[0] in self._heads for x in sides):
            return []
        base = [t for t in q if t not in (sides[0][0], sides[1][0])]
        out: list[Candidate] = []
        for side in sides:
            found = self._rank([*base, side[0]], None, True)
            if found and found[0].score >= 0.62 and found[0].code not in {c.code for c in out}:
                out.append(found[0])
        return out

    def _known(self, raw: str) -> bool:
        tok = _norm(raw)
        return bool(
            raw in _ALIASES or tok in _ALIASES or raw in _AGENT or raw in ("zzit", "zzma")
        ) or (self._fix(_AGENT.get(tok, tok)) is not None)

    # ---- current job ---------------------------------------------------------------------

    def _current_spans(self, text: str) -> list[tuple[int, int]]:
        out = []
        pos = 0
        for part in _CLAUSE.split(text):
            start = text.find(part, pos) if part else pos
            pos = start + len(part)
            m = _CURRENT_CUE.search(part)
            goal = _GOAL_CUE.search(part)
            if m and not (goal and goal.start() < m.start()):
                out.append((start, pos))
        return out

    def current_job(self, text: str) -> CurrentJob | None:
        """The learner's job now or before ("I drive for Uber", "I was an 11B in the Army")."""
        text = text[:500]
        if _BRANCH.search(text):
            return self._military(text)
        for start, end in self._current_spans(text):
            part = text[start:end]
            m = _CURRENT_CUE.search(part)
            assert m is not None
            s = start + m.end()
            tail = _SPAN_END.sub("", text[s:end].split(",")[0]).rstrip(" ,?!")
            # "a substitute teacher rn": right now, not a registered nurse.
            tail = re.sub(r"(?i)\s+(?:rn|now|atm|currently|these days)$", "", tail)
            # "I work as a cashier and want to ..." -> stop before the goal cue.
            g = _GOAL_CUE.search(tail)
            if g:
                tail = tail[: g.start()].rstrip(" ,")
            span = tail
            if m.group(0).lower().rstrip().endswith(("drive for", "deliver for")):
                span = f"{tail} driver"
            fld = self._field_in(span)
            q = self._query(span)
            if fld and fld[1] in ("construction",) and len(q) <= 1:
                q = self._query("construction worker")
            found = self._rank(q, None, True)
            # A job is named by a word that ends job titles ("cashier"), not "a single mom".
            if found and found[0].score >= 0.62 and any(t in self._heads for t in q):
                return CurrentJob((s, s + len(tail)), tail, tuple(found[:3]))
        return None

    def _military(self, text: str) -> CurrentJob:
        branch_m = _BRANCH.search(text)
        branch = branch_m.group(1).lower() if branch_m else None
        mos_m = _MOS.search(text)
        mos = mos_m.group(1) if mos_m else None
        role = None
        cleaned = _MOS.sub(" ", text)
        for m in _MILITARY_ROLE_WORDS.finditer(cleaned):
            words = [
                t for t in _WORD.findall(m.group("role").lower()) if t not in _STOP and t != branch
            ]
            if words and not _BRANCH.fullmatch(" ".join(words)):
                role = " ".join(words)
                break
        if role is None:  # "Marine, 0311 rifleman": the words left once branch and MOS are gone
            rest = _BRANCH.sub(" ", cleaned)
            words = [t for t in _WORD.findall(rest.lower()) if t not in _STOP]
            role = " ".join(words[:4]) or None
        mil_codes = {c for c in self._occ if c.startswith("55-")}
        occ = None
        civilian: list[Suggestion] = []
        if role:
            q = self._query(role)
            found = self._rank(q, mil_codes, False)
            occ = found[0] if found and found[0].score >= 0.6 else None
            # A role that is also a civilian job ("medic", "mechanic", "truck driver").
            civ = [c for c in self._rank(q, None, True) if c.score >= 0.75][:3]
            civilian = [
                _suggestion(c.code, self._occ[c.code], c.score, (f"same work as {role}",))
                for c in civ
            ]
        span = (mos_m.start(), mos_m.end()) if mos_m else (0, len(text))
        mil = Military(branch, mos, role, occ)
        return CurrentJob(
            span, text[span[0] : span[1]], (occ,) if occ else (), mil, tuple(civilian)
        )

    # ---- no goal yet ---------------------------------------------------------------------

    def suggest_occupations(
        self, skill_labels: list[str], current_job_code: str | None = None, limit: int = 5
    ) -> list[Suggestion]:
        """Occupations that use the learner's skills (O*NET importance) and, for a current
        job, O*NET's related occupations; entry-level ones (job zone <= 3) rank first."""
        if self._engine is None:
            raise RuntimeError("suggest_occupations needs the knowledge DB")
        labels = [s.strip().lower() for s in skill_labels if s.strip()]
        score: dict[str, float] = defaultdict(float)
        because: dict[str, list[str]] = defaultdict(list)
        with self._engine.connect() as conn:
            ids: dict[str, str] = {}
            if labels:
                for sid, label in conn.execute(
                    select(schema.Skill.id, schema.Skill.label).where(
                        func.lower(schema.Skill.label).in_(labels)
                    )
                ):
                    ids[sid] = label
                for sid, label in conn.execute(
                    select(schema.SkillAlias.skill_id, schema.Skill.label)
                    .join(schema.Skill, schema.Skill.id == schema.SkillAlias.skill_id)
                    .where(func.lower(schema.SkillAlias.alias).in_(labels))
                ):
                    ids.setdefault(sid, label)
            if ids:
                for code, sid, imp in conn.execute(
                    select(
                        schema.OccupationSkill.code,
                        schema.OccupationSkill.skill_id,
                        schema.OccupationSkill.importance,
                    ).where(schema.OccupationSkill.skill_id.in_(list(ids)))
                ):
                    score[code] += (imp or 0.0) / len(ids)
                    because[code].append(ids[sid])
            if current_job_code:
                for rel, rank in conn.execute(
                    select(
                        schema.OccupationRelation.related_code, schema.OccupationRelation.rank
                    ).where(schema.OccupationRelation.code == current_job_code)
                ):
                    score[rel] += 0.6 / (1 + 0.1 * (rank or 0))
                    because[rel].append(f"related to {self._occ[current_job_code].title}")
        out = []
        for code, s in score.items():
            o = self._occ.get(code)
            if o is None or code == current_job_code or code.startswith("55-"):
                continue
            entry = (o.job_zone or 9) <= 3
            out.append(_suggestion(code, o, round(s * (1.0 if entry else 0.6), 4), because[code]))
        out.sort(key=lambda x: (-x.score, x.median_wage_usd is None, x.code))
        return out[:limit]


def _fold(text: str) -> str:
    """Accents off, same length ("médico" -> "medico"), so spans keep their offsets."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFKD", ch)[0] if ord(ch) > 127 else ch
        out.append(base if base.isascii() else ch)
    return "".join(out)


def _without_places(text: str) -> str:
    """The text with the places it names blanked out (same offsets): "el paso", "dfw"."""
    from knowledge.places import find_place

    for _ in range(3):
        m = find_place(text)
        if m is None or m.place is None or not m.text.strip():
            break
        text = text[: m.start] + " " * (m.end - m.start) + text[m.end :]
    return text


def _deletes(tok: str) -> set[str]:
    return {tok[:i] + tok[i + 1 :] for i in range(len(tok))}


def _suggestion(
    code: str, o: _Occ, score: float, because: tuple[str, ...] | list[str]
) -> Suggestion:
    return Suggestion(
        code,
        o.title,
        o.median_wage_usd,
        o.typical_education,
        o.job_zone,
        score,
        tuple(dict.fromkeys(because)),
    )


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def _reported_titles(reference_dir: Path) -> list[tuple[str, str]]:
    rows = _rows(reference_dir / "onet-29.3" / "sample_of_reported_titles.tsv")
    return [(r["O*NET-SOC Code"], r["Reported Job Title"].strip()) for r in rows]


def _employment(reference_dir: Path) -> dict[str, float]:
    """National employment by SOC code (BLS OEWS): which entry-level jobs are common."""
    out: dict[str, float] = {}
    for path in sorted((reference_dir / "bls-oews-2024").glob("*.tsv")):
        for r in _rows(path):
            if r.get("AREA") == "99" and r.get("NAICS") == "000000":
                try:
                    out[r["OCC_CODE"]] = float(r["TOT_EMP"].replace(",", ""))
                except (KeyError, ValueError):
                    continue
    return out


def goals() -> GoalUnderstanding:
    """The process-wide instance over the knowledge DB (``Services.goals``), built on first use."""
    from knowledge.services import get_services

    return get_services().goals


def match_goal(text: str) -> GoalMatch:
    return goals().match_goal(text)


def current_job(text: str) -> CurrentJob | None:
    return goals().current_job(text)


def field_occupations(field_name: str, limit: int = 4) -> list[Suggestion]:
    return goals().field_occupations(field_name, limit)


def suggest_occupations(
    skill_labels: list[str], current_job_code: str | None = None, limit: int = 5
) -> list[Suggestion]:
    return goals().suggest_occupations(skill_labels, current_job_code, limit)
