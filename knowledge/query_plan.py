"""What a learner's search message asks for, turned into what the search takes.

"cheap evening cna classes under $1000 in dallas" is a topic ("cna classes") plus conditions:
a place (Dallas), a budget ($1,000), a schedule (evenings). ``plan_query`` splits them: the
conditions become ``SearchFilters`` (hard limits the learner stated) and ``SearchHints`` (soft
preferences: "cheap" without a number, a place or schedule that only programs can meet), and the
topic is what gets embedded and matched lexically, so a city name or a dollar amount does not
pull the ranking towards records that merely mention them. Pure: no DB, no index. The bot, the
web search API and the search benchmark use this one function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.constraints import parse_budget
from knowledge.places import Ambiguous, Place, find_place
from knowledge.recommend import SearchFilters, SearchHints

# A stated limit: "under $5000", "less than 800 dollars", "$1,500", "2k budget". A bare number
# is not money ("cna classes 78207" names a ZIP, "992 hours" a length).
_AMOUNT = r"\$?\s*\d{1,3}(?:,\d{3})+(?:\.\d+)?|\$?\s*\d+(?:\.\d+)?\s*k\b|\$?\s*\d+(?:\.\d+)?"
_LIMIT_WORDS = (
    r"under|below|less than|no more than|at most|max(?:imum)?|up to|within|budget(?: of| is)?"
)
_MONEY = re.compile(
    rf"(?:\b(?:{_LIMIT_WORDS})\s+)?(?:{_AMOUNT})\s*(?:dollars|bucks|usd)\b"
    rf"|(?:\b(?:{_LIMIT_WORDS})\s+)?\$\s*\d[\d,]*(?:\.\d+)?\s*k?\b"
    rf"|\b(?:{_LIMIT_WORDS})\s+(?:\d[\d,]*(?:\.\d+)?\s*k?)\b(?!\s*(?:hours?|hrs?|weeks?|months?|miles?|mi)\b)",
    re.IGNORECASE,
)
_FREE = re.compile(r"\b(?:free|no[- ]cost|at no cost|without paying)\b(?! time\b)", re.IGNORECASE)
_CHEAP = re.compile(
    r"\b(?:cheap(?:er|est)?|affordable|inexpensive|low[- ]cost|budget[- ]friendly|"
    r"(?:doesn'?t|does not|don'?t|won'?t) cost (?:a lot|much|too much)|not (?:too )?expensive)\b",
    re.IGNORECASE,
)
_PELL = re.compile(r"\bpell\b", re.IGNORECASE)
_PELL_PHRASE = re.compile(
    r"\b(?:(?:that )?(?:takes|accepts?|with|for|get|use) (?:a )?)?pell(?: grants?)?(?: for)?\b",
    re.IGNORECASE,
)
# ETPL's flexible-hours flag: classes outside the working day (evenings, nights, weekends).
_FLEXIBLE = re.compile(
    r"\b(?:evenings?|nights?|weekends?|after work|flexible (?:hours|schedule)|"
    r"i work days|part[- ]time classes)\b",
    re.IGNORECASE,
)
_CHILDCARE = re.compile(r"\b(?:child ?care|day ?care|babysit\w*)\b", re.IGNORECASE)
_TRANSIT = re.compile(
    r"\b(?:by bus|the bus|bus line|public transport\w*|transit|light rail|metro)\b", re.IGNORECASE
)
# Only the training's own format: "work from home" is about the job, not the class.
_ONLINE = re.compile(r"\b(?:online|on-line|virtual(?:ly)?|self[- ]paced)\b", re.IGNORECASE)
# Words around a place that say nothing about the topic ("near", "in the ... area").
_PLACE_BEFORE = re.compile(
    r"(?:\b(?:near|nearby|around|close to|in|at|by|from|of|within \d+ miles of)\s+(?:the\s+)?)+$",
    re.IGNORECASE,
)
_PLACE_AFTER = re.compile(
    r"^(?:\s*,?\s*(?:tx|texas)\b)?(?:\s+(?:area|region|metro))?", re.IGNORECASE
)
_SPACES = re.compile(r"\s+")
_DANGLING = re.compile(
    r"^(?:\W|\b(?:and|or|in|near|for|that|at)\b)+|(?:\W|\b(?:and|or|in|near|for|that|at)\b)+$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SearchPlan:
    """What to search for and under which conditions."""

    text: str  # the topic: embedded and matched lexically
    filters: SearchFilters = field(default_factory=SearchFilters)
    hints: SearchHints = field(default_factory=SearchHints)
    place: Place | Ambiguous | None = None  # a place the learner named (Ambiguous: ask which)
    place_text: str | None = None  # as typed ("near San Antonio"), None when no place-like phrase
    unknown_place: bool = False  # a place-like phrase we cannot locate: say so, ask for a ZIP


def _cut(text: str, start: int, end: int) -> str:
    return f"{text[:start]} {text[end:]}"


def _tidy(text: str) -> str:
    text = _SPACES.sub(" ", text).strip()
    return _DANGLING.sub("", text).strip()


def plan_query(text: str) -> SearchPlan:
    """Split a learner's search message into the topic, hard filters and soft hints.

    A city, county or ZIP sets ``near`` (a state is too large to rank by distance and stays in
    the text: "police officer in texas"); a stated amount or "free" sets ``max_cost``; "cheap"
    without an amount is a preference (``prefer_low_cost``), never a limit; "pell", evenings /
    weekends, childcare, transit and "online" set their filters. A place, a schedule, childcare,
    transit or Pell can only be met by a training program, so they also hint ``prefer_kind``.
    """
    topic = text
    near = None
    place = None
    place_text = None
    unknown = False
    mention = find_place(text)
    if mention is not None:
        place = mention.place
        if isinstance(place, Place) and place.kind == "state":
            place = None  # a whole state: no distance ranking, the words stay in the topic
        else:
            before = _PLACE_BEFORE.search(text[: mention.start])
            start = before.start() if before else mention.start
            after = _PLACE_AFTER.match(text[mention.end :])
            end = mention.end + (after.end() if after else 0)
            place_text = text[start:end].strip()
            unknown = place is None
            if isinstance(place, Place):
                near = (place.lat, place.lon)
            topic = _cut(text, start, end)

    max_cost: float | None = None
    money = _MONEY.search(topic)
    if money is not None:
        parsed = parse_budget(money.group(0))
        if parsed not in (None, "none", "unknown"):
            max_cost = float(parsed)
        topic = _cut(topic, money.start(), money.end())
    # "pell or free": either will do, so neither is a hard limit.
    either = bool(_PELL.search(topic) and _FREE.search(topic) and re.search(r"\bor\b", topic))
    free = _FREE.search(topic)
    if free is not None and max_cost is None and not either:
        max_cost = 0.0
    if free is not None:
        topic = _cut(topic, free.start(), free.end())
    cheap = _CHEAP.search(topic)
    if cheap is not None:
        topic = _cut(topic, cheap.start(), cheap.end())
    pell = bool(_PELL.search(topic)) and not either
    flexible = bool(_FLEXIBLE.search(topic))
    childcare = bool(_CHILDCARE.search(topic))
    transit = bool(_TRANSIT.search(topic))
    online = bool(_ONLINE.search(topic))
    # A condition met by a filter leaves the topic: "online" would rank programs named
    # "... -ONLINE" above the subject asked for, "evening" those whose text mentions evenings.
    for pattern in (_PELL_PHRASE, _FLEXIBLE, _CHILDCARE, _TRANSIT, _ONLINE):
        topic = pattern.sub(" ", topic)
    filters = SearchFilters(
        max_cost=max_cost,
        near=near,
        pell_eligible=pell,
        flexible_hours=flexible,
        childcare=childcare,
        transit=transit,
        format="online" if online else None,
    )
    program_only = near is not None or pell or flexible or childcare or transit
    hints = SearchHints(
        prefer_low_cost=cheap is not None or (either and max_cost is None),
        prefer_kind="program" if program_only else None,
    )
    return SearchPlan(
        text=_tidy(topic) or text.strip(),
        filters=filters,
        hints=hints,
        place=place,
        place_text=place_text,
        unknown_place=unknown,
    )
