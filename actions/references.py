"""Resolve what "the second one" or "the Google one" refers to among recommendations."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_ORDINALS = {
    "first": 0,
    "1st": 0,
    "one": 0,
    "1": 0,
    "second": 1,
    "2nd": 1,
    "two": 1,
    "2": 1,
    "third": 2,
    "3rd": 2,
    "three": 2,
    "3": 2,
    "fourth": 3,
    "4th": 3,
    "4": 3,
    "fifth": 4,
    "5th": 4,
    "5": 4,
    "last": -1,
}
_ORDINAL_RE = re.compile(
    r"\b(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\b"
    r"|\b(?:number|no\.?|option|#)\s*(one|two|three|[1-5])\b"
    r"|#([1-5])\b"
    r"|(?:^|\s)([1-5])(?=\s*(?:$|\?|and\b|or\b|vs\.?\b|,))"
)
_WORD = re.compile(r"[a-z0-9+]+")
_STOP = {
    "the",
    "one",
    "a",
    "an",
    "of",
    "and",
    "for",
    "it",
    "that",
    "this",
    "does",
    "count",
    "toward",
    "towards",
    "degree",
    "credit",
    "college",
    "certificate",
    "certification",
    "professional",
    "can",
    "i",
    "get",
    "will",
    "is",
    "to",
    "my",
    "in",
    "on",
    "about",
    "what",
    "how",
    "many",
    "credits",
    "compare",
    "vs",
    "or",
    "with",
    "between",
    "difference",
    "better",
    "which",
    "ones",
    "employers",
}


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    provider: str


def ordinal_positions(text: str) -> list[int]:
    """Positions named by ordinals, in order of mention ("first and third" -> [0, 2])."""
    out = []
    for m in _ORDINAL_RE.finditer(text.lower()):
        word = next(g for g in m.groups() if g)
        pos = _ORDINALS.get(word)
        if pos is not None and pos not in out:
            out.append(pos)
    return out


def _by_words(text: str, candidates: Sequence[Candidate]) -> list[tuple[int, str]]:
    words = {w for w in _WORD.findall(text.lower()) if w not in _STOP}
    scored = []
    for c in candidates:
        provider_words = set(_WORD.findall(c.provider.lower())) - _STOP
        name_words = set(_WORD.findall(c.name.lower())) - _STOP
        score = 2 * len(words & provider_words) + len(words & name_words)
        if score:
            scored.append((score, c.id))
    return sorted(scored, key=lambda t: -t[0])


def resolve_reference(
    text: str, candidates: Sequence[Candidate], focus: str | None = None
) -> str | None:
    """The candidate id the text points to, else the focused one, else None."""
    for pos in ordinal_positions(text):
        if candidates and (pos == -1 or pos < len(candidates)):
            return candidates[pos].id
    scored = _by_words(text, candidates)
    if scored and (len(scored) == 1 or scored[0][0] > scored[1][0]):
        return scored[0][1]
    return focus


def resolve_pair(text: str, candidates: Sequence[Candidate]) -> list[str]:
    """Two credentials to compare: by ordinals, by names, else the first two."""
    picked = [
        candidates[p].id
        for p in ordinal_positions(text)
        if candidates and (p == -1 or p < len(candidates))
    ]
    for _, cid in _by_words(text, candidates):
        if cid not in picked:
            picked.append(cid)
    for c in candidates:
        if len(picked) >= 2:
            break
        if c.id not in picked:
            picked.append(c.id)
    return picked[:2]
