"""Parse a learner's constraints from what they type: budget, study time, format, education.

Every parser returns a canonical string (stored in a slot) or None when the text does not say.
"""

from __future__ import annotations

import re

NO_LIMIT = "none"
UNKNOWN = "unknown"
ANY_FORMAT = "any"
EDUCATION_LEVELS = ("no_diploma", "high_school", "some_college", "associate", "bachelor", "master")
EDUCATION_LABELS = {
    "no_diploma": "no high school diploma yet",
    "high_school": "high school or GED",
    "some_college": "some college",
    "associate": "an associate degree",
    "bachelor": "a bachelor's degree",
    "master": "a graduate degree",
}

_NUMBER = re.compile(r"\$?\s*(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(k\b)?", re.IGNORECASE)
_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "a few": 3,
    "a couple": 2,
    "couple": 2,
    "few": 3,
}


def _numbers(text: str) -> list[float]:
    out = []
    for m in _NUMBER.finditer(text):
        value = float(m.group(1).replace(",", ""))
        if m.group(2):
            value *= 1000
        out.append(value)
    if not out:
        lowered = text.lower()
        for word, value in _WORD_NUMBERS.items():
            if re.search(rf"\b{word}\b", lowered):
                out.append(float(value))
                break
    return out


_NO_MONEY = re.compile(
    r"\bfree\b|\bno (money|cash|funds)\b|\bcan'?t (afford|pay)\b|\bzero\b|\bbroke\b|\bnothing\b"
)
_NO_LIMIT = re.compile(
    r"\bno (limit|budget|max)|\bunlimited\b|\bany (amount|price|budget)\b|\bwhatever\b|"
    r"\b(doesn'?t|does not) matter\b|\bdon'?t care\b|\bnot an issue\b|\bflexible\b|\bnone\b"
)


def parse_budget(text: str) -> str | None:
    """'$300' -> '300'; 'free only' / 'no money' -> '0'; 'no limit' -> 'none'."""
    t = text.lower().strip()
    nums = _numbers(t)
    if not nums and _NO_MONEY.search(t):
        return "0"
    if not nums and _NO_LIMIT.search(t):
        return NO_LIMIT
    if nums:
        value = max(nums)
        return None if value > 1_000_000 else f"{value:g}"
    return None


def parse_hours(text: str) -> str | None:
    """Hours per week: 'about 10 hours a week' -> '10'; 'not sure' -> 'unknown'."""
    t = text.lower().strip()
    # "unknown" is our own stored answer: re-validating a stored value must keep it.
    if t == UNKNOWN or re.search(r"not sure|no idea|don'?t know|depends|unsure|idk", t):
        return UNKNOWN
    nums = _numbers(t)
    if not nums:
        return None
    value = max(nums)
    if re.search(r"\b(a|per|each) day\b|\bdaily\b|\ba night\b", t):
        value *= 5
    if value <= 0 or value > 100:
        return None
    return f"{value:g}"


def parse_duration_weeks(text: str) -> float | None:
    """'3 months' -> 13; '6 weeks' -> 6; 'a year' -> 52."""
    t = text.lower()
    nums = _numbers(t)
    n = max(nums) if nums else (1.0 if re.search(r"\ba (week|month|year)\b", t) else None)
    if n is None:
        return None
    if "year" in t:
        return n * 52
    if "month" in t:
        return round(n * 4.33)
    if "week" in t:
        return n
    if "day" in t:
        return round(n / 7, 1)
    return None


def parse_format(text: str) -> str | None:
    t = text.lower()
    if re.search(
        r"\b(either|any|both are fine|doesn'?t matter|don'?t care|no preference|whatever)\b", t
    ):
        return ANY_FORMAT
    if re.search(r"hybrid|mix|blend|both", t):
        return "hybrid"
    if re.search(
        r"in[- ]person|face[- ]to[- ]face|classroom|on campus|campus|in a class|hands[- ]on|in_person",
        t,
    ):
        return "in_person"
    if re.search(r"online|remote|virtual|self[- ]paced|from home|internet", t):
        return "online"
    return None


def parse_education(text: str) -> str | None:
    t = text.lower()
    checks = (
        ("master", r"master|mba|phd|doctorate|graduate degree|grad school"),
        (
            "bachelor",
            r"bachelor|b\.?a\.?\b|b\.?s\.?\b|4[- ]year degree|four[- ]year|college degree|university degree|graduated college|college grad",
        ),
        (
            "associate",
            r"associate|a\.?a\.?s?\.?\b|2[- ]year degree|two[- ]year degree|community college degree",
        ),
        (
            "some_college",
            r"some college|dropped out of college|few college|college credits|started college|some classes",
        ),
        (
            "no_diploma",
            r"no diploma|didn'?t finish high school|didn'?t graduate|dropped out of high school|no high school|not finish high school|10th grade|11th grade|9th grade",
        ),
        ("high_school", r"high ?school|ged|hs diploma|diploma|hse"),
    )
    for level, pattern in checks:
        if re.search(pattern, t):
            return level
    return None


def wants_degree(text: str) -> bool | None:
    t = text.lower()
    if re.search(r"(don'?t|do not|no|not)\s+(want|need|interested)[^.]*degree", t):
        return False
    if re.search(r"degree", t) and re.search(
        r"want|like|eventually|someday|plan|hope|interested|later", t
    ):
        return True
    return None
