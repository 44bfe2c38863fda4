"""Resolve what "it", "the second one" or "the Google one" refers to among recommendations."""

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
    r"\b(?:the\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\b"
    r"|\b(?:number|no\.?|#|option)\s*(one|two|three|[1-5])\b"
    r"|#([1-5])\b"
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
}


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    provider: str


def resolve_reference(
    text: str, candidates: Sequence[Candidate], focus: str | None = None
) -> str | None:
    """The candidate id the text points to, else the focused one, else None."""
    lowered = text.lower()
    m = _ORDINAL_RE.search(lowered)
    if m and candidates:
        word = next(g for g in m.groups() if g)
        pos = _ORDINALS.get(word)
        if pos is not None and (pos == -1 or pos < len(candidates)):
            return candidates[pos].id
    words = {w for w in _WORD.findall(lowered) if w not in _STOP}
    best, best_score = None, 0
    for c in candidates:
        provider_words = set(_WORD.findall(c.provider.lower())) - _STOP
        name_words = set(_WORD.findall(c.name.lower())) - _STOP
        score = 2 * len(words & provider_words) + len(words & name_words)
        if score > best_score:
            best, best_score = c.id, score
    if best:
        return best
    return focus
