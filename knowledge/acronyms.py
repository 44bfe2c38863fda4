"""Acronyms the catalog itself defines ("Certified Nurse Aide (CNA)"), to expand them in queries.

Learners type "cna classes", "lvn school", "cdl training"; records spell the words out and put
the acronym in parentheses at most once. The encoder barely knows such acronyms (it puts "CNA"
next to "CNC") and BM25 finds only the few records that print them. The table is read from the
records' own text with the usual abbreviation-definition rule (the words just before
"(ACR)" whose initials spell it, Schwartz & Hearst 2003), and kept only where the catalog agrees
with itself: at least ``MIN_VOTES`` definitions and a clear majority for one of them.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

MIN_VOTES = 2
MIN_SHARE = 0.5
_DEFINED = re.compile(r"\(([A-Z][A-Za-z]{1,5})\)")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_MINOR = frozenset({"and", "of", "the", "for", "in", "on", "to", "a", "an", "&"})
_QUERY_TOKEN = re.compile(r"[a-z0-9+#]+")


def definitions(text: str) -> list[tuple[str, str]]:
    """(acronym in lower case, its words) for every "words (ACR)" in ``text`` that spells out."""
    out = []
    for m in _DEFINED.finditer(text):
        acronym = m.group(1)
        letters = acronym.lower()
        if acronym.lower() == acronym or len(letters) < 2:
            continue  # "(online)", "(a)": a word, not an acronym
        words = _WORD.findall(text[: m.start()])[-(2 * len(letters) + 2) :]
        picked: list[str] = []
        i = len(words) - 1
        want = len(letters) - 1
        while i >= 0 and want >= 0:
            word = words[i]
            if word.lower() in _MINOR and picked:
                picked.append(word)
            elif word[0].lower() == letters[want]:
                picked.append(word)
                want -= 1
            else:
                break
            i -= 1
        if want < 0:
            out.append((letters, " ".join(reversed(picked)).lower()))
    return out


def acronym_table(texts: Iterable[str], stop_words: Iterable[str] = ()) -> dict[str, str]:
    """acronym -> expansion, where the texts define it at least MIN_VOTES times and one
    expansion has at least MIN_SHARE of the definitions. Acronyms that are also English words
    are left out: "sales rep" is not a Renewable Energy Professional (REP)."""
    from knowledge.places import _word_is_common  # the gazetteer's word test (spaCy lexemes)

    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for text in texts:
        for acronym, words in definitions(text):
            votes[acronym][words] += 1
    skip = frozenset(stop_words)
    table = {}
    for acronym, counts in votes.items():
        words, top = counts.most_common(1)[0]
        total = sum(counts.values())
        if acronym in skip or _word_is_common(acronym):
            continue
        if top >= MIN_VOTES and top / total >= MIN_SHARE:
            table[acronym] = words
    return table


def expand(query: str, table: Mapping[str, str]) -> str:
    """The query with each known acronym's words appended (once; not when already there)."""
    tokens = _QUERY_TOKEN.findall(query.lower())
    present = set(tokens)
    extra = []
    for token in dict.fromkeys(tokens):
        words = table.get(token)
        if words and not set(words.split()) <= present:
            extra.append(words)
    return f"{query} ({'; '.join(extra)})" if extra else query
