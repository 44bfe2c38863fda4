"""Skill mentions in chat text: taxonomy surface forms matched with spaCy, plus a role per mention.

The extractor is built once from the skill patterns JSON that ``knowledge.build`` writes
(``{"fingerprint", "skills": [{"id", "label", "type", "origin", "aliases"}]}``) and then only
tokenizes each message (the tokens of ``nlp.make_doc``, with spaCy's tokens for every distinct
whitespace-separated chunk cached) and looks its lower-cased token n-grams up in one dict of
surface forms (a phrase matcher keyed by the first token; spaCy's ``PhraseMatcher`` needs a
``Doc`` per pattern, and the ~140k patterns with inflections took over 10 s to load).

How the ~11k taxonomy entries become patterns:

* Every label and alias is a surface form. Curated entries (``taxonomy_aliases.yaml``) win over
  O*NET/ESCO labels, labels win over aliases, and derived forms come last; a form belongs to one
  skill only. ESCO alternative labels that arrive joined with ``" | "`` are split.
* Derived forms: a parenthetical is dropped ("Jenkins (tools for ...)" -> "Jenkins"), a trailing
  "software" is dropped from product names ("Shopify software"), and a vendor prefix is dropped
  from O*NET product names ("Atlassian JIRA" -> "JIRA", "Microsoft Word" -> "Word").
* Inflections come from the spaCy lookup lemmatizer tables (spacy-lookups-data): multi-word forms
  also match other forms of their first and last word ("managing projects" ~ "managed projects",
  "stocking shelves" ~ "stocked shelves"); single words also match their plural ("spreadsheets").
* Single-word forms that are common English words (by the ``lexeme_prob`` table), and a curated
  list of known traps (Go, R, C, Word, Access, Excel, Rust, Java, Node, Lean, Epic, Security,
  Cloud...), only count in a technical context: next to another skill in a list, after a cue such
  as "know", "learn", "use", "code in", before a cue such as "programming" or "developer", or typed
  with a capital letter in mid-sentence; form-specific rules reject "go to", "access my account",
  "excel at", "a word", "the rust", "security guard" and the like. Very common non-curated words
  ("Internet", "Email", "Notes") are not patterns at all.
* Overlapping matches: the longest span wins, then the earliest.

Roles: a trigger word sets the role for the mentions after it in the same clause (sentence end,
";", "but", "however", and ", I ..." end a clause; coordinated lists inherit): ``lacks`` after a
negation ("don't know", "never used", "no experience with", "not good at"), ``wants`` after a goal
("want to learn", "I'd like to", "hoping to", "interested in"), else ``has``. "X is not my strong
suit" / "my X isn't great" mark X as lacking; a question about a course or learning ("Does the
course cover R?") makes its mentions ``wants``.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from typing import Any

import spacy
import yaml
from spacy.language import Language
from spacy.tokenizer import Tokenizer

from knowledge.skill_words import (
    _AND_RESET,
    _BE,
    _CLAUSE_BREAK,
    _CODE_PREV,
    _COMMON_PROB,
    _CRED_MARKERS,
    _CUE_AFTER,
    _CUE_NEXT,
    _CUE_PREV,
    _DEFAULT_YES,
    _DROP_PROB,
    _EXTRA_FORMS,
    _HAS_RESET_PREV,
    _HAS_VERB,
    _HEDGE_VERBS,
    _JOB_HEADS,
    _KNOW_VERBS,
    _LIST_GLUE,
    _NEED_CUE,
    _NEG,
    _NEG_IGNORE_NEXT,
    _NEG_NEXT,
    _NEG_PREV,
    _NO_IGNORE_NEXT,
    _NOT_AFTER,
    _ONLY,
    _PAREN,
    _PERSON_SUFFIXES,
    _PERSON_WORDS,
    _PLAIN,
    _PROB_FLOOR,
    _PRONOUNS,
    _Q_AUX,
    _Q_CLAUSE_PREV,
    _Q_OPEN,
    _SAY_VERBS,
    _SENT_END,
    _SENT_START_PREV,
    _SPLIT_ALIASES,
    _SUBJECT,
    _TIER_ALIAS,
    _TIER_ALIAS_DERIVED,
    _TIER_CURATED_ALIAS,
    _TIER_CURATED_DERIVED,
    _TIER_CURATED_LABEL,
    _TIER_DERIVED,
    _TIER_LABEL,
    _TITLE_ARTICLE,
    _TITLE_INTRO,
    _TITLE_STOP,
    _TRAILING_GENERIC,
    _TRAPS,
    _TYPO_MIN,
    _UPPER_ONLY,
    _VENDOR_MIN_LABELS,
    _VENDORS,
    _WANT,
    _WANT_AFTER,
    _WANT_NOT_BEFORE,
)
from knowledge.taxonomy import ALIASES_FILE, skill_key, slugify

CATALOG_PROVIDERS = Path(__file__).with_name("catalog") / "providers"
CERTIFICATION_FINDER = (
    Path(__file__).with_name("reference")
    / "careeronestop-certifications"
    / "certification_finder.tsv"
)

MAX_TEXT_CHARS = 20_000

ROLE_HAS = "has"
ROLE_LACKS = "lacks"
ROLE_WANTS = "wants"
ROLES = (ROLE_HAS, ROLE_LACKS, ROLE_WANTS)


@dataclass(frozen=True)
class SkillMention:
    start: int
    end: int
    text: str
    skill_id: str
    label: str
    role: str


_new_object = object.__new__


def _mention(start: int, end: int, text: str, skill_id: str, label: str, role: str) -> SkillMention:
    """``SkillMention(start, end, text, skill_id, label, role)`` without the frozen dataclass's
    ``__init__``, whose six ``object.__setattr__`` calls were ~5% of the extraction time: the same
    fields in the instance ``__dict__`` (what that ``__init__`` fills), so an equal object
    (``test_fast_mention_equals_constructor``)."""
    mention = _new_object(SkillMention)
    mention.__dict__.update(
        start=start, end=end, text=text, skill_id=skill_id, label=label, role=role
    )
    return mention


# ---------------------------------------------------------------------------------------------
# Word lists

# Defined in knowledge/skill_words.py.

# ---------------------------------------------------------------------------------------------
# spaCy resources, loaded once per process


@lru_cache(maxsize=1)
def _nlp() -> Language:
    return spacy.blank("en")


def _lookups_path(table: str) -> Path | None:
    try:
        import spacy_lookups_data
    except ImportError:  # pragma: no cover - declared dependency
        return None
    path = Path(spacy_lookups_data.__file__).parent / "data" / f"en_{table}.json.gz"
    return path if path.exists() else None


@lru_cache(maxsize=1)
def _lemma_forms() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Lookup lemmatizer table (form -> lemma) and its inverse (lemma -> other forms)."""
    path = _lookups_path("lemma_lookup")
    if path is None:
        return {}, {}
    with gzip.open(path, "rb") as fh:
        table: dict[str, str] = json.loads(fh.read())
    inverse: dict[str, list[str]] = {}
    for form, lemma in table.items():
        if form.islower() and lemma.islower():
            inverse.setdefault(lemma, []).append(form)
    return table, {k: tuple(v) for k, v in inverse.items()}


@lru_cache(maxsize=1)
def _word_probs() -> dict[str, float]:
    """Log probabilities of the common English words (lower-cased), most common first."""
    path = _lookups_path("lexeme_prob")
    if path is None:
        return {}
    probs: dict[str, float] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        fh.readline()  # "{"
        for line in fh:
            key, _, value = line.strip().rstrip(",").rpartition(":")
            if not key:
                break
            prob = float(value)
            if prob < _PROB_FLOOR:
                break
            word = json.loads(key).lower()
            if prob > probs.get(word, -99.0):
                probs[word] = prob
    return probs


@lru_cache(maxsize=1)
def _curated() -> tuple[frozenset[str], frozenset[str]]:
    """Ids and surface-form keys of the curated skills (taxonomy_aliases.yaml)."""
    data = yaml.safe_load(ALIASES_FILE.read_text(encoding="utf-8"))
    ids: set[str] = set()
    keys: set[str] = set()
    for entry in data.get("skills", []):
        ids.add(slugify(entry["label"]))
        keys.add(skill_key(entry["label"]))
        keys.update(skill_key(a) for a in entry.get("aliases", []))
    return frozenset(ids), frozenset(keys)


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    """Words of the probability and lemma tables: never typos."""
    return frozenset(_word_probs().keys() | _lemma_forms()[0].keys())


@lru_cache(maxsize=1)
def credential_names() -> tuple[str, ...]:
    """Certification names of the catalog (curated provider YAML) and of CareerOneStop's
    certification finder, with their acronyms: mentions inside them are not skill claims."""
    names: list[str] = []
    for path in sorted(CATALOG_PROVIDERS.glob("*.yaml")):
        # The credentials' own "name:" / "acronym:" keys (two spaces in, under "- id:"); a
        # regex, since parsing the ~80 YAML files took over a second of the extractor's load.
        text = path.read_text(encoding="utf-8")
        names += [m.strip().strip("'\"") for m in _CRED_FIELD.findall(text)]
    if CERTIFICATION_FINDER.exists():
        with CERTIFICATION_FINDER.open(encoding="utf-8", errors="replace", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                names += [v for k in ("CERT_NAME", "ACRONYM") if (v := (row.get(k) or "").strip())]
    return tuple(dict.fromkeys(names))


_CRED_FIELD = re.compile(r"^  (?:name|acronym): (?!null$)(.+)$", re.MULTILINE)


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Form:
    skill_id: str
    rule: str | None  # None: always a skill; else the base word whose context rules apply
    tier: int


@dataclass(slots=True)
class _Candidate:
    start: int
    end: int
    form: _Form


# Runs of whitespace / non-whitespace: ``\s`` is ``str.isspace``, the test spaCy splits on.
_RUNS = re.compile(r"\s+|\S+")
_CHUNK_CACHE_MAX = 50_000  # distinct chunks kept (~0.5 kB each); cleared when full
_PLAIN_SUFFIXES = frozenset(",.?!:;)")  # split off a word by spaCy's suffix rules (see below)
_OFFSET_0 = (0,)


@dataclass(slots=True)
class _Chunk:
    """spaCy's tokens for one whitespace-delimited chunk, offsets relative to the chunk. Cached
    and shared: never modified after it is made."""

    lowers: tuple[str, ...]
    texts: tuple[str, ...]
    offsets: tuple[int, ...]
    # What its first / last token can be before spaCy fuses special cases, where that can
    # continue / start a special case across a chunk boundary (see ``_SpecialJoins``); usually
    # empty.
    heads: frozenset[str]
    tails: frozenset[str]
    single: bool  # one token


@dataclass(slots=True)
class _Tokens:
    lowers: list[str]
    texts: list[str]
    starts: list[int]  # character offset of each token


class SkillExtractor:
    """Find taxonomy skills in chat messages; build once, call :meth:`extract` per message."""

    def __init__(
        self,
        skills: list[dict[str, Any]],
        fingerprint: str = "",
        credentials: Iterable[str] | None = None,
    ) -> None:
        """``credentials``: certification names whose words are not skill claims ("AWS Certified
        Welder"); None reads the catalog's and CareerOneStop's (:func:`credential_names`)."""
        self.fingerprint = fingerprint
        self._nlp = _nlp()
        self._labels: dict[str, str] = {}
        self._forms: dict[tuple[str, ...], _Form] = {}
        self._trie: dict[str, list[Any]] = {}
        self._extra_rules: dict[str, str] = {}
        self._special = {k.lower() for k in self._nlp.tokenizer.rules}
        self._rules = frozenset(self._nlp.tokenizer.rules)
        # The plain-chunk shortcut assumes the English tokenizer (checked in the tests) and no
        # token_match (which could keep a word with its suffix).
        self._plain_ok = self._nlp.tokenizer.token_match is None
        self._plain_suffixes = _PLAIN_SUFFIXES - self._rules
        self._chunks: dict[str, _Chunk] = {}
        self._joins = _SpecialJoins.of(self._nlp.tokenizer)
        self._build(skills)
        self._build_credentials(credential_names() if credentials is None else credentials)
        self._build_typos()

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> SkillExtractor:
        if not isinstance(payload, dict) or not isinstance(payload.get("skills"), list):
            raise ValueError("skill patterns payload must be a dict with a 'skills' list")
        return cls(payload["skills"], str(payload.get("fingerprint", "")))

    @classmethod
    def from_patterns_file(cls, path: Path) -> SkillExtractor:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(
                f"skill patterns file {path} not found; run `stackwise build` to create it"
            )
        return cls.from_payload(json.loads(path.read_text(encoding="utf-8")))

    def __len__(self) -> int:
        return len(self._labels)

    def label(self, skill_id: str) -> str:
        return self._labels[skill_id]

    def _build(self, skills: list[dict[str, Any]]) -> None:
        curated_ids, curated_keys = _curated()
        probs = _word_probs()
        lemma_of, forms_of = _lemma_forms()
        by_key: dict[str, str] = {}
        vendor_counts: dict[str, int] = {}
        for s in skills:
            by_key.setdefault(skill_key(str(s["label"])), str(s["id"]))
            if s.get("type") == "technology":
                first = str(s["label"]).split(" ", 1)[0]
                vendor_counts[first] = vendor_counts.get(first, 0) + 1

        # (text, skill_id, tier, sort key, technology?) for every surface form
        raw: list[tuple[str, str, int, tuple[int, int, str], bool]] = []
        derived: dict[str, set[str]] = {}
        for s in skills:
            sid, label = str(s["id"]), str(s["label"]).strip()
            tech = s.get("type") == "technology"
            self._labels[sid] = label
            curated = sid in curated_ids
            aliases: list[str] = []
            for alias in s.get("aliases") or []:
                aliases.extend(a.strip() for a in _SPLIT_ALIASES.split(str(alias)) if a.strip())
            order = (len(label), sid)
            raw.append(
                (label, sid, _TIER_CURATED_LABEL if curated else _TIER_LABEL, (0, *order), tech)
            )
            for alias in aliases:
                if curated and skill_key(alias) in curated_keys:
                    raw.append((alias, sid, _TIER_CURATED_ALIAS, (1, *order), tech))
                else:
                    raw.append((alias, sid, _TIER_ALIAS, (1, *order), tech))
                    stripped = _PAREN.sub("", alias).strip()
                    if stripped and stripped != alias:
                        raw.append((stripped, sid, _TIER_ALIAS_DERIVED, (3, *order), tech))
            for text in _derived_forms(label, vendor_counts, probs, tech):
                if curated:
                    raw.append((text, sid, _TIER_CURATED_DERIVED, (2, *order), tech))
                else:
                    derived.setdefault(text.lower(), set()).add(sid)
                    raw.append((text, sid, _TIER_DERIVED, (2, *order), tech))
        for text, label_key, rule in _EXTRA_FORMS:
            sid = by_key.get(label_key)
            if sid:
                raw.append((text, sid, _TIER_CURATED_ALIAS, (1, 0, sid), False))
                if rule:
                    self._extra_rules[text.lower()] = rule
        # A derived name shared by several products ("CRM", "Big Data") names none of them.
        shared = {text for text, sids in derived.items() if len(sids) > 1}
        raw = [r for r in raw if not (r[2] == _TIER_DERIVED and r[0].lower() in shared)]
        raw.sort(key=lambda r: (r[2], r[3]))

        owner: dict[tuple[str, ...], _Form] = {}
        technology: dict[tuple[str, ...], bool] = {}
        for (text, sid, tier, _, tech), key in zip(
            raw, self._tokenize_forms(r[0] for r in raw), strict=True
        ):
            if not key or key in owner:
                continue
            rule = self._extra_rules.get(text.lower()) or _form_rule(key, tier, probs, tech)
            if rule == "drop":
                continue
            owner[key] = _Form(sid, rule, tier)
            technology[key] = tech

        # Inflected variants, never overriding a real form.
        variants: dict[tuple[str, ...], _Form] = {}
        for key, form in owner.items():
            if form.tier > _TIER_ALIAS and len(key) > 1:
                continue
            for var in _inflections(key, lemma_of, forms_of, technology[key]):
                if var not in owner and var not in variants:
                    variants[var] = form
        self._forms = {**owner, **variants}
        # Token trie: word -> [form ending here or None, {next word -> node}].
        trie: dict[str, list[Any]] = {}
        for key, form in self._forms.items():
            level = trie
            for depth, word in enumerate(key):
                node = level.get(word)
                if node is None:
                    node = level[word] = [None, {}]
                if depth == len(key) - 1:
                    node[0] = form
                level = node[1]
        self._trie = trie

    def _build_credentials(self, names: Iterable[str]) -> None:
        """Token trie of the certification names that say they are one (``_CRED_MARKERS``)."""
        trie: dict[str, list[Any]] = {}
        texts = [_PAREN.sub("", n).strip() for n in names]
        for key in self._tokenize_forms(t for t in texts if t):
            if len(key) < 2 or _CRED_MARKERS.isdisjoint(key):
                continue
            level = trie
            for depth, word in enumerate(key):
                node = level.setdefault(word, [False, {}])
                if depth == len(key) - 1:
                    node[0] = True
                level = node[1]
        self._cred_trie = trie

    def _build_typos(self) -> None:
        """One-deletion index (SymSpell) of the words of the curated forms (the names people
        type), for typos one edit away ("excell", "pyhton", "custmer"); a word is only corrected
        when it is no English word and no word of any form."""
        self._vocab = frozenset(w for key in self._forms for w in key)
        index: dict[str, set[str]] = {}
        for key, form in self._forms.items():
            if form.tier > _TIER_CURATED_DERIVED:
                continue
            for word in key:
                if len(word) >= _TYPO_MIN and word.isalpha():
                    for var in _deletes(word):
                        index.setdefault(var, set()).add(word)
        self._typo_index = index
        self._typo_cache: dict[str, str | None] = {}
        self._english = _english_words()

    def _correct(self, word: str) -> str | None:
        """The skill word one edit away from an unknown ``word`` (same first letter, only
        one), else None."""
        hit = self._typo_cache.get(word, _MISSING)
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]
        found: set[str] = set()
        if (
            len(word) >= _TYPO_MIN
            and word.isalpha()
            and word not in self._vocab
            and word not in self._english
        ):
            index = self._typo_index
            for var in (word, *_deletes(word)):
                for cand in index.get(var, ()):
                    if cand[0] == word[0] and cand != word and _one_edit(word, cand):
                        found.add(cand)
        result = found.pop() if len(found) == 1 else None
        if len(self._typo_cache) >= _CHUNK_CACHE_MAX:
            self._typo_cache.clear()
        self._typo_cache[word] = result
        return result

    def _tokenize_forms(self, texts: Iterable[str]) -> Iterable[tuple[str, ...]]:
        """Lower-cased token tuples, split exactly like ``nlp.make_doc`` splits a message."""
        special = self._special
        make_doc = self._nlp.make_doc
        for text in texts:
            low = text.lower()
            if _PLAIN.fullmatch(low):
                words = low.split()
                if not any(w in special for w in words):
                    yield tuple(words)
                    continue
            yield tuple(t.lower_ for t in make_doc(text) if not t.is_space)

    # -- tokenization ----------------------------------------------------------------------

    def _tokens(self, text: str) -> _Tokens:
        """The tokens of ``nlp.make_doc(text)``, without building a ``Doc`` per message.

        spaCy's tokenizer splits a text at whitespace and tokenizes every chunk on its own (a
        single ' ' after a chunk belongs to that chunk's last token; other whitespace runs are
        tokens). So each distinct chunk is tokenized by spaCy once and cached here: a message
        costs a regex split and a dict lookup per chunk instead of a ``Doc`` and a string-store
        lookup per token (the ``Doc`` was about a third of the extraction time). The one way
        chunks interact is a special case whose affix-split tokens span a chunk boundary
        (spaCy's special-case matcher runs over the whole ``Doc`` before it fuses tokens, so
        "Python:) )" is not "Python:)" + ")"); messages where that can happen take the ``Doc``.
        """
        if text.isprintable() and "  " not in text and text[0] != " ":
            # The common case: no whitespace but single spaces (``isprintable`` is False for all
            # other whitespace), so the chunks are the pieces between spaces.
            pieces = text.split(" ")
            if not pieces[-1]:
                pieces.pop()  # a trailing space folds into the last token
            positions = None  # each piece starts one character after the previous one
        else:
            pieces, positions = _whitespace_chunks(text)
        lowers: list[str] = []
        texts: list[str] = []
        starts: list[int] = []
        cache = self._chunks
        tails = _NONE
        start = 0
        at = None if positions is None else iter(positions)
        for piece in pieces:
            if at is not None:
                start = next(at)
            chunk = cache.get(piece) or self._tokenize_chunk(piece)
            if chunk.heads and tails and self._joins.between(tails, chunk.heads):
                return self._doc_tokens(text)
            tails = chunk.tails
            lowers += chunk.lowers
            texts += chunk.texts
            if chunk.single:
                starts.append(start)
            else:
                starts += [start + offset for offset in chunk.offsets]
            start += len(piece) + 1
        return _Tokens(lowers, texts, starts)

    def _tokenize_chunk(self, run: str) -> _Chunk:
        texts = self._plain_chunk(run)
        if texts is None:
            doc = self._nlp.make_doc(run)
            texts = tuple(t.text for t in doc)
            lowers = tuple(t.lower_ for t in doc)
            offsets = tuple(t.idx for t in doc)
        elif len(texts) == 1:
            lowers, offsets = (run.lower(),), _OFFSET_0
        else:
            lowers, offsets = (texts[0].lower(), texts[1]), (0, len(texts[0]))
        joins = self._joins
        heads, tails = joins.heads_of(run, texts[0]), joins.tails_of(run, texts[-1])
        chunk = _Chunk(lowers, texts, offsets, heads, tails, len(texts) == 1)
        if len(self._chunks) >= _CHUNK_CACHE_MAX:
            self._chunks.clear()
        self._chunks[run] = chunk
        return chunk

    def _plain_chunk(self, run: str) -> tuple[str, ...] | None:
        """spaCy's tokens for a chunk of ASCII letters, optionally followed by one of
        ``_PLAIN_SUFFIXES``, worked out without spaCy (a ``Doc`` per new chunk was most of the
        time on unseen text); None for every other chunk.

        Why this equals the tokenizer (``spacy/tokenizer.pyx``: ``_split_affixes``,
        ``_attach_tokens``, ``_apply_special_cases``; English has no ``token_match``, and its
        ``url_match`` keeps a token whole, which these are anyway): no prefix, suffix or infix
        pattern of the English tokenizer matches inside a run of ASCII letters (they all need
        punctuation, a symbol, a digit or a space), so a word that is not a special case is one
        token. After such a word, ",", "?", "!", ":", ";" and ")" are always split
        off as a suffix and "." is split off after a lower-case letter or two upper-case letters
        (``(?<=[a-z...])\\.``, ``(?<=[A-Z][A-Z])\\.``); the word before it is again one token.
        The chunk, the word and the suffix must not be special cases (exact strings), and the
        (word, suffix) pair must not be part of one: then no special case can apply to the
        chunk's tokens either. ``test_plain_chunks_equal_spacy`` checks this against spaCy on the
        ~67k words of the lemma and word-probability tables (three casings, every suffix), on
        every one- and two-letter word with every suffix and on the special cases.
        """
        if not (run and run.isascii() and self._plain_ok):
            return None
        if run.isalpha():
            return None if run in self._rules else (run,)
        word, suffix = run[:-1], run[-1]
        if suffix not in self._plain_suffixes or not word.isalpha():
            return None
        if suffix == "." and not (word[-1].islower() or word[-2:].isupper() and len(word) > 1):
            return None
        if run in self._rules or word in self._rules or (word, suffix) in self._joins.pairs:
            return None
        return (word, suffix)

    def _doc_tokens(self, text: str) -> _Tokens:
        doc = self._nlp.make_doc(text)
        return _Tokens([t.lower_ for t in doc], [t.text for t in doc], [t.idx for t in doc])

    # -- extraction ------------------------------------------------------------------------

    def clear_token_cache(self) -> None:
        """Forget the cached chunk tokenizations and typo corrections (benchmarks measure
        unseen text this way)."""
        self._chunks.clear()
        self._typo_cache.clear()

    def extract(self, text: str) -> list[SkillMention]:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(
                f"text is {len(text)} characters; the skill extractor accepts at most "
                f"{MAX_TEXT_CHARS} (split long documents into messages or paragraphs)"
            )
        if text.isspace() or not text:
            return []
        tokens = self._tokens(text)
        lowers = tokens.lowers
        trie = self._trie
        n = len(lowers)
        english = self._english
        # Most tokens start no form: find the ones that do in one pass (correcting typos of
        # skill words on the way), then walk the trie.
        starts: list[int] = []
        for i, word in enumerate(lowers):
            if word in trie:
                starts.append(i)
            elif len(word) >= _TYPO_MIN and word not in english:
                fixed = self._correct(word)
                if fixed is not None:
                    if lowers is tokens.lowers:
                        lowers = list(lowers)  # the token cache shares its lists
                    lowers[i] = fixed
                    if fixed in trie:
                        starts.append(i)
        candidates: list[_Candidate] = []
        for i in starts:
            form, children = trie[lowers[i]]
            if form is not None:
                candidates.append(_Candidate(i, i + 1, form))
            k = i + 1
            while children and k < n:
                node = children.get(lowers[k])
                if node is None:
                    break
                k += 1
                form, children = node
                if form is not None:
                    candidates.append(_Candidate(i, k, form))
        if not candidates:
            return []
        accepted = self._resolve(tokens.texts, lowers, candidates)
        if accepted:
            accepted = self._not_names(lowers, accepted)
        if not accepted:
            return []
        covered = {k for c in accepted for k in range(c.start, c.end)}
        roles = _token_roles(lowers, covered)
        out: list[SkillMention] = []
        seen: set[str] = set()
        for cand in accepted:
            sid = cand.form.skill_id
            if sid in seen:
                continue
            seen.add(sid)
            begin = tokens.starts[cand.start]
            finish = tokens.starts[cand.end - 1] + len(tokens.texts[cand.end - 1])
            role = _mention_role(lowers, roles, cand.start, cand.end)
            out.append(_mention(begin, finish, text[begin:finish], sid, self._labels[sid], role))
        return out

    def _not_names(self, lowers: list[str], accepted: list[_Candidate]) -> list[_Candidate]:
        """Drop mentions that are part of a certification's name ("AWS Certified Welder") or
        that are the job title in "I'm a cashier", "want to be a welder", "a help desk job"."""
        drop: set[int] = set()
        cred = self._cred_trie
        n = len(lowers)
        for i, w in enumerate(lowers):
            if w in cred:
                level, k, end = cred, i, -1
                while k < n and (node := level.get(lowers[k])) is not None:
                    k += 1
                    if node[0]:
                        end = k
                    level = node[1]
                if end > 0:
                    for c in accepted:
                        if i <= c.start and c.end <= end and c.end - c.start < end - i:
                            drop.add(id(c))
            if w in _JOB_HEADS:
                for c in accepted:  # "data analyst jobs", "a help desk job"
                    if c.end == i:
                        drop.add(id(c))
            elif w in _TITLE_ARTICLE:
                span = _title_span(lowers, i)
                if span is not None:
                    start, end, whole = span
                    for c in accepted:
                        if (
                            start <= c.start
                            and c.end <= end
                            and (whole or _is_person(lowers, c, end))
                        ):
                            drop.add(id(c))
        if not drop:
            return accepted
        return [c for c in accepted if id(c) not in drop]

    def _resolve(
        self, texts: list[str], lowers: list[str], candidates: list[_Candidate]
    ) -> list[_Candidate]:
        """Context rules for ambiguous forms, then longest-span-wins overlap removal."""
        sure = [c for c in candidates if c.form.rule is None]
        if len(sure) == len(candidates):
            if len(sure) == 1 or all(
                a.end <= b.start for a, b in zip(sure, sure[1:], strict=False)
            ):
                return sure  # found in text order, no overlaps: the common case
            return sorted(_longest_first(sure), key=_START)
        # Overlap first among sure spans so that list context comes from real mentions.
        kept = _longest_first(sure)
        pending = [c for c in candidates if c.form.rule is not None]
        for _ in range(3):
            added = [c for c in pending if _context_ok(texts, lowers, c, kept)]
            if not added:
                break
            kept = _longest_first(kept + added)
            pending = [c for c in pending if c not in added]
            if not pending:
                break
        return sorted(kept, key=_START)


# ---------------------------------------------------------------------------------------------
# Pattern helpers


def _whitespace_chunks(text: str) -> tuple[list[str], list[int]]:
    """The strings spaCy's tokenizer tokenizes one by one, and where they start in ``text``.

    Runs of whitespace and of other characters alternate; a run of whitespace after a word
    loses its first character if that is ' ' (it becomes the word's trailing space), and what
    is left of it is a chunk (a whitespace token).
    """
    pieces: list[str] = []
    positions: list[int] = []
    pos = 0
    for run in _RUNS.findall(text):
        start = pos
        pos += len(run)
        if start and run[0] == " ":
            run = run[1:]
            start += 1
            if not run:
                continue
        pieces.append(run)
        positions.append(start)
    return pieces, positions


_NONE: frozenset[str] = frozenset()  # shared by the chunks that join nothing
_MISSING = object()


def _deletes(word: str) -> list[str]:
    return [word[:k] + word[k + 1 :] for k in range(len(word))]


def _one_edit(a: str, b: str) -> bool:
    """Damerau distance 1 (one insertion, deletion, substitution or adjacent swap)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    if len(a) == len(b):
        return a[k + 1 :] == b[k + 1 :] or (
            a[k : k + 2] == b[k : k + 2][::-1] and a[k + 2 :] == b[k + 2 :]
        )
    return a[k + 1 :] == b[k:] if len(a) > len(b) else a[k:] == b[k + 1 :]


def _title_span(lowers: list[str], a: int) -> tuple[int, int, bool] | None:
    """The job title after the article at ``a``: (start, end, whole). ``whole``: a "X job"
    phrase (every mention in it is the title); else the title of "I'm a X", "I work as a X",
    "be / become a X" (only its head is)."""
    prev = lowers[a - 1] if a else ""
    end = a + 1
    while end < len(lowers) and end - a <= 5:
        w = lowers[end]
        if w in _TITLE_STOP or not any(ch.isalnum() for ch in w):
            break
        if w in _JOB_HEADS:
            return (a + 1, end, True)
        end += 1
    if end == a + 1:
        return None
    if prev in _TITLE_INTRO or (prev == "as" and a >= 2 and lowers[a - 2] in {"work", "working"}):
        if prev in {"'m", "m", "am"} and not (a >= 2 and lowers[a - 2] in {"i", "im"}):
            return None
        return (a + 1, end, False)
    return None


def _is_person(lowers: list[str], cand: _Candidate, end: int) -> bool:
    """The mention is the title's head and names a person ("cashier", "data analyst")."""
    if cand.end != end:
        return False
    head = lowers[cand.end - 1]
    return head in _PERSON_WORDS or head.endswith(_PERSON_SUFFIXES)


@dataclass(frozen=True)
class _SpecialJoins:
    """Where spaCy's special cases can join two whitespace-separated chunks.

    After splitting affixes, spaCy matches every special case, as its affix-split tokens, over
    the whole ``Doc`` and fuses the matches (":)" is matched as ":", ")"). A match across a chunk
    boundary changes the tokens ("Python:) )" is not "Python:)" + ")"), so a message whose
    boundary falls on an adjacent pair of such tokens is tokenized as a whole. Every rule is
    considered, which is a superset of the ones spaCy matches this way.
    """

    pairs: frozenset[tuple[str, str]]  # adjacent affix-split tokens inside a special case
    firsts: frozenset[str]  # left sides of the pairs
    seconds: frozenset[str]  # right sides of the pairs
    rules: tuple[str, ...]
    rule_ends: dict[str, tuple[str, str]]  # rule -> its first and last affix-split token
    # Distinct rule lengths, ascending: a chunk's rule prefixes / suffixes are found with one
    # dict lookup per length instead of testing every rule (~30% of extraction on new text).
    rule_lengths: tuple[int, ...] = ()
    # Only the rules whose first affix-split token is in ``seconds`` can add a head (heads are
    # intersected with ``seconds``), and only those whose last one is in ``firsts`` a tail: rule
    # -> that token, and by the character those rules start / end with, their distinct lengths
    # (ascending). A chunk whose first / last character starts / ends no such rule (most chunks)
    # needs no lookup at all.
    head_rules: dict[str, str] = field(default_factory=dict)
    head_lengths: dict[str, tuple[int, ...]] = field(default_factory=dict)
    tail_rules: dict[str, str] = field(default_factory=dict)
    tail_lengths: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, tokenizer: Tokenizer) -> _SpecialJoins:
        bare = Tokenizer(
            tokenizer.vocab,
            rules={},
            prefix_search=tokenizer.prefix_search,
            suffix_search=tokenizer.suffix_search,
            infix_finditer=tokenizer.infix_finditer,
            token_match=tokenizer.token_match,
            url_match=tokenizer.url_match,
        )
        pairs: set[tuple[str, str]] = set()
        rule_ends: dict[str, tuple[str, str]] = {}
        for rule in tokenizer.rules:
            words = [t.text for t in bare(rule)]
            if words:
                pairs.update(zip(words, words[1:], strict=False))
                rule_ends[rule] = (words[0], words[-1])
        firsts = frozenset(a for a, _ in pairs)
        seconds = frozenset(b for _, b in pairs)
        head_rules = {r: ends[0] for r, ends in rule_ends.items() if ends[0] in seconds}
        tail_rules = {r: ends[1] for r, ends in rule_ends.items() if ends[1] in firsts}
        return cls(
            pairs=frozenset(pairs),
            firsts=firsts,
            seconds=seconds,
            rules=tuple(rule_ends),
            rule_ends=rule_ends,
            rule_lengths=tuple(sorted({len(r) for r in rule_ends})),
            head_rules=head_rules,
            head_lengths=_lengths_by_char(head_rules, 0),
            tail_rules=tail_rules,
            tail_lengths=_lengths_by_char(tail_rules, -1),
        )

    # Before fusing, a chunk's first token is either its first token after fusing or the first
    # affix-split token of a special case that the chunk starts with (the last one likewise).

    def heads_of(self, chunk: str, first: str) -> frozenset[str]:
        heads = [first] if first in self.seconds else []
        lengths = self.head_lengths.get(chunk[:1])
        if lengths is not None:
            rules = self.head_rules
            for n in lengths:  # every relevant rule the chunk starts with
                if n > len(chunk):
                    break
                head = rules.get(chunk[:n])
                if head is not None:
                    heads.append(head)
        return frozenset(heads) if heads else _NONE

    def tails_of(self, chunk: str, last: str) -> frozenset[str]:
        tails = [last] if last in self.firsts else []
        lengths = self.tail_lengths.get(chunk[-1:])
        if lengths is not None:
            rules = self.tail_rules
            for n in lengths:  # every relevant rule the chunk ends with
                if n > len(chunk):
                    break
                tail = rules.get(chunk[-n:])
                if tail is not None:
                    tails.append(tail)
        return frozenset(tails) if tails else _NONE

    def between(self, tails: frozenset[str], heads: frozenset[str]) -> bool:
        return any((a, b) in self.pairs for a in tails for b in heads)


def _lengths_by_char(rules: dict[str, str], at: int) -> dict[str, tuple[int, ...]]:
    """First (``at=0``) or last (``at=-1``) character -> the distinct lengths of the rules that
    start / end with it, ascending."""
    lengths: dict[str, set[int]] = {}
    for rule in rules:
        lengths.setdefault(rule[at], set()).add(len(rule))
    return {char: tuple(sorted(ns)) for char, ns in lengths.items()}


def _derived_forms(
    label: str, vendor_counts: dict[str, int], probs: dict[str, float], tech: bool
) -> Iterable[str]:
    base = _PAREN.sub("", label).strip()
    if base and base != label:
        yield base
    if not tech:
        return
    words = base.split()
    if len(words) >= 2 and words[-1].lower() in _TRAILING_GENERIC:
        rest = words[:-1]
        if all(w[:1].isupper() or w[:1].isdigit() for w in rest) and not (
            len(rest) == 1 and rest[0].lower() in probs
        ):
            words = rest
            yield " ".join(words)
    # Vendor prefixes: "Atlassian JIRA" -> "JIRA", "The MathWorks MATLAB" -> "MATLAB".
    stripped = words
    for _ in range(2):
        if len(stripped) < 2 or not _is_vendor(stripped[0], vendor_counts, probs):
            break
        if not (stripped[1][:1].isupper() or stripped[1][:1].isdigit()):
            break
        stripped = stripped[1:]
        yield " ".join(stripped)
    # A rare product word at the end: "Dassault Systemes SolidWorks" -> "SolidWorks".
    last = words[-1]
    if (
        len(words) >= 2
        and len(last) >= 4
        and any(ch.isupper() for ch in last)
        and last.lower() not in probs
        and _is_vendor(words[0], vendor_counts, probs)
    ):
        yield last


def _is_vendor(word: str, vendor_counts: dict[str, int], probs: dict[str, float]) -> bool:
    low = word.lower()
    if low in _VENDORS:
        return True
    return (
        word[:1].isupper()
        and vendor_counts.get(word, 0) >= _VENDOR_MIN_LABELS
        and probs.get(low, -99.0) < _COMMON_PROB
    )


def _form_rule(key: tuple[str, ...], tier: int, probs: dict[str, float], tech: bool) -> str | None:
    """None: plain pattern; "strict" or a trap word: context rules apply; "drop": no pattern."""
    if all(not any(ch.isalnum() for ch in tok) for tok in key):
        return "drop"
    curated = tier <= _TIER_CURATED_DERIVED
    if len(key) > 1:
        if all(_is_function_word(t, probs) for t in key):
            return "drop"
        if (
            not curated
            and tier >= _TIER_DERIVED
            and all(probs.get(t, -99.0) > _COMMON_PROB for t in key)
        ):
            return "drop"  # "Data Pipeline", "Image Analyst": common words, not a name
        return None
    word = key[0]
    if word in _TRAPS:
        return word
    if curated:
        return None
    if len(word) <= 2 or word.isdigit() or word in _nlp().Defaults.stop_words:
        return "drop"
    prob = probs.get(word)
    if prob is None:
        return None
    if tier >= _TIER_DERIVED and prob > _COMMON_PROB:
        return "drop"  # a common word left over from a product name ("Askia Web" -> "web")
    if not tech and tier == _TIER_LABEL:
        # Fields of knowledge ("Chemistry", "Psychology") are unambiguous as words.
        return None if prob < _DROP_PROB else "strict"
    if prob < _COMMON_PROB:
        return None
    if prob > _DROP_PROB or tier >= _TIER_ALIAS:
        return "drop"
    return "strict"


def _is_function_word(word: str, probs: dict[str, float]) -> bool:
    return word in _nlp().Defaults.stop_words or probs.get(word, -99.0) > -7.0


def _inflections(
    key: tuple[str, ...],
    lemma_of: dict[str, str],
    forms_of: dict[str, tuple[str, ...]],
    tech: bool,
) -> Iterable[tuple[str, ...]]:
    def family(word: str) -> set[str]:
        lemma = lemma_of.get(word, word)
        return {lemma, *forms_of.get(lemma, ()), word}

    def plurals(word: str) -> set[str]:
        if not word.isalpha():
            return set()
        return {
            f
            for f in forms_of.get(lemma_of.get(word, word), ())
            if f != word and f.endswith("s") and f.startswith(word[:-1])
        }

    if len(key) == 1 or tech:
        for form in plurals(key[-1]):
            yield (*key[:-1], form)
        return
    firsts = family(key[0]) if key[0].isalpha() else {key[0]}
    lasts = family(key[-1]) if key[-1].isalpha() else {key[-1]}
    middle = key[1:-1]
    for first in firsts:
        for last in lasts:
            var = (first, *middle, last)
            if var != key:
                yield var


# ---------------------------------------------------------------------------------------------
# Context and role rules


_START = attrgetter("start")


def _longest_first(cands: list[_Candidate]) -> list[_Candidate]:
    if len(cands) < 2:
        return list(cands)
    ordered = sorted(cands, key=lambda c: (-(c.end - c.start), c.start))
    taken: set[int] = set()
    out: list[_Candidate] = []
    for c in ordered:
        idx = range(c.start, c.end)
        if not taken.isdisjoint(idx):
            continue
        taken.update(idx)
        out.append(c)
    return out


def _context_ok(
    texts: list[str], lowers: list[str], cand: _Candidate, kept: list[_Candidate]
) -> bool:
    rule = cand.form.rule or ""
    i, j = cand.start, cand.end
    prev = lowers[i - 1] if i > 0 else ""
    nxt = lowers[j] if j < len(lowers) else ""
    typed = texts[i]
    sentence_start = i == 0 or prev in _SENT_START_PREV
    capitalised = typed[:1].isupper() and not sentence_start
    if rule in _UPPER_ONLY and not typed.isupper():
        return False
    if prev[:1].isdigit() and rule in {"pm", "ml", "hr", "ts"}:
        return False
    listed = _list_neighbour(lowers, i, j, kept)
    if rule == "strict":
        # Common words from O*NET product names: only as a typed name.
        return capitalised or (listed and typed[:1].isupper()) or nxt in _CUE_NEXT
    if capitalised and listed:
        return True
    if prev in _NEG_PREV.get(rule, ()) or nxt in _NEG_NEXT.get(rule, ()):
        return False
    if rule == "code":
        return prev in _CODE_PREV
    if rule == "verb":  # "I taught math", "learn to weld"; not "does this program teach Agile"
        return prev in _CODE_PREV or prev in {"'ve", "have", "had", "used", "ve"}
    if rule in _DEFAULT_YES or nxt in _CUE_NEXT or listed:
        return True
    for k in range(i - 1, max(-1, i - 5), -1):
        w = lowers[k]
        if w in _SENT_END or w in _CLAUSE_BREAK:
            break
        if w in _CUE_PREV and not (w in {"used", "use"} and lowers[k + 1] == "to"):
            return True
    for k in range(j, min(len(lowers), j + 4)):
        if lowers[k] in _CUE_AFTER:
            return True
        if lowers[k] in _SENT_END:
            break
    if rule in _NEED_CUE:
        return False
    return capitalised


def _list_neighbour(lowers: list[str], i: int, j: int, kept: list[_Candidate]) -> bool:
    for c in kept:
        if c.end <= i:
            gap = lowers[c.end : i]
        elif c.start >= j:
            gap = lowers[j : c.start]
        else:
            continue
        if gap and len(gap) <= 3 and all(w in _LIST_GLUE for w in gap):
            return True
    return False


_ANY_TRIGGER = frozenset(
    {",", "and", "new", "so"}
    | _SENT_END
    | _CLAUSE_BREAK
    | _NEG
    | _WANT
    | set(_WANT_AFTER)
    | _HAS_VERB
    | _ONLY
)


def _token_roles(lowers: list[str], covered: set[int]) -> list[str]:
    """Role in force at every token: triggers set it, clause boundaries reset it."""
    n = len(lowers)
    roles = [ROLE_HAS] * n
    role = ROLE_HAS
    sent_start = 0
    done = 0  # roles[:done] are final
    triggers = _ANY_TRIGGER
    # Only trigger words change the role: visit those, and fill the stretch before each.
    for k in [k for k, w in enumerate(lowers) if w in triggers]:
        if k in covered:  # skill names are not triggers ("scikit-learn")
            continue
        if role != ROLE_HAS:
            roles[done:k] = [role] * (k - done)
        w = lowers[k]
        prev = lowers[k - 1] if k else ""
        nxt = lowers[k + 1] if k + 1 < n else ""
        if w in _SENT_END:
            _question_roles(lowers, roles, sent_start, k, w == "?")
            role = ROLE_HAS
            sent_start = k + 1
        elif w in _CLAUSE_BREAK:
            if not (w == "but" and nxt == "also" and role != ROLE_HAS):
                role = ROLE_HAS
        elif w == "," and (nxt in _SUBJECT or nxt in _HAS_VERB) or w == "and" and nxt in _AND_RESET:
            role = ROLE_HAS
        elif w in _ONLY:
            if nxt in _HEDGE_VERBS or lowers[k + 2 : k + 3] == ["about"]:
                role = ROLE_LACKS  # "only watched videos about Python", "only read about it"
            elif role == ROLE_LACKS and prev not in {"not", "n't", "nt"}:
                role = ROLE_HAS  # "never used SQL, only Excel"
        elif w == "new":
            if nxt == "to":
                role = ROLE_LACKS  # "I'm new to Linux"
        elif w == "so":
            if nxt in _Q_OPEN or nxt in _SUBJECT:
                role = ROLE_HAS  # "not good at math so is coding out for me?"
        elif w in _NEG:
            if nxt not in _NEG_IGNORE_NEXT and not (w == "no" and nxt in _NO_IGNORE_NEXT):
                role = ROLE_LACKS
        elif w in _WANT or prev in _WANT_AFTER.get(w, ()):
            if not (w in _WANT_NOT_BEFORE and nxt in _WANT_NOT_BEFORE[w]):
                role = ROLE_WANTS
        elif (
            w in _HAS_VERB
            and prev in _HAS_RESET_PREV
            and role != ROLE_HAS
            # "don't really know", "do not do", "wouldn't say I know": still the negation
            and _NEG.isdisjoint(lowers[max(0, k - 3) : k])
            and not (k >= 2 and lowers[k - 2] in _SAY_VERBS)
        ):
            role = ROLE_HAS
        roles[k] = role
        done = k + 1
    if role != ROLE_HAS:
        roles[done:] = [role] * (n - done)
    if sent_start < n:
        _question_roles(lowers, roles, sent_start, n, False)
    return roles


def _question_roles(lowers: list[str], roles: list[str], start: int, end: int, mark: bool) -> None:
    """A skill named in a question ("do I need Tableau or Power BI?", "should I learn SQL") is
    not a claim: its role becomes ``wants``. The question is the last clause of a sentence ending
    in "?" that starts with a question word (or the whole sentence), or a sentence without "?"
    that starts with one; mentions after a claim in it ("... if I already know Linux?") keep
    their role."""
    if end <= start:
        return
    if mark:
        q = start
        for k in range(end - 1, start, -1):
            if lowers[k] in _Q_OPEN and lowers[k - 1] in _Q_CLAUSE_PREV:
                q = k
                break
    elif lowers[start] in _Q_OPEN:
        q = start
    else:
        return
    for k in range(q, end):
        w = lowers[k]
        if w in _KNOW_VERBS and _is_claim(lowers, k, q):
            return
        if roles[k] != ROLE_WANTS:
            roles[k] = ROLE_WANTS


def _is_claim(lowers: list[str], k: int, q: int) -> bool:
    """The know-verb at ``k`` states something ("if I already know", "someone who knows"), not
    asks it ("need to know", "do I have to")."""
    prev = lowers[k - 1] if k > q else ""
    if prev == "to":
        return False
    return not (prev in _PRONOUNS and k - 2 >= q and lowers[k - 2] in _Q_AUX)


def _mention_role(lowers: list[str], roles: list[str], start: int, end: int) -> str:
    role = roles[start]
    if role == ROLE_HAS:
        # "time management is not my strong suit", "my English isn't great", "Excel not so much"
        after = lowers[end : end + 3]
        if len(after) >= 2 and after[0] in _BE and after[1] in {"not", "n't"}:
            return ROLE_LACKS
        if len(after) >= 2 and after[0] == "not" and after[1] in _NOT_AFTER:
            return ROLE_LACKS
        # "heard of Splunk but never used it"
        if end < len(lowers) and lowers[end] in {"but", ","}:
            rest = lowers[end + 1 : end + 6]
            if (
                rest
                and rest[0] in _NEG | {"i", "have", "'ve"}
                and "it" in rest
                and not _NEG.isdisjoint(rest[: rest.index("it")])
            ):
                return ROLE_LACKS
    return role


__all__ = ["MAX_TEXT_CHARS", "ROLES", "SkillExtractor", "SkillMention"]
