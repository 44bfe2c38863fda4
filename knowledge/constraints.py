"""Parse a learner's constraints from what they type: budget, study time, format, education.

Every parser returns a canonical string (stored in a slot) or None when the text does not say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

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


_DEGREE = r"(degree|bachelor'?s?|associate'?s?|master'?s?)\b"


def wants_degree(text: str) -> bool | None:
    """True / False when the learner says they want (or don't want) a degree; the wish comes
    first or "eventually" follows, so "I have a master's and would like IT" is not a wish."""
    t = text.lower().replace("\u2019", "'")
    if re.search(r"(don'?t|dont|do not|no|not)\s+(want|need|interested)[^.]*" + _DEGREE, t):
        return False
    if re.search(
        r"\b(want|wanna|like|plan|hope|interested|goal)\b[^.]*\b" + _DEGREE, t
    ) or re.search(_DEGREE + r"[^.]*\b(eventually|someday|later)\b", t):
        return True
    return None


# --- Constraints from any message -------------------------------------------------------------
# The form's parsers above read an answer to one question ("$300" when the budget was asked).
# parse_constraints reads a free message, at any point in the conversation, so each value needs
# its own cue: a number is money only with "$", "k", "dollars" or a budget word; hours only with
# an hours unit; a degree only when the learner says they have it. Pay ("$15 an hour"), work
# hours ("I work 40 hours"), years, ZIP codes, phone numbers and "11B" are never a budget.

SCHEDULES = ("mornings", "daytime", "evenings", "nights", "weekdays", "weekends")
AID_PROGRAMS = ("pell", "wioa", "gi_bill", "employer", "fafsa", "financial_aid")


@dataclass(frozen=True)
class Constraints:
    """What one message states; None (or () for ``corrected``) where it says nothing."""

    budget: str | None = None  # as parse_budget: "500", "0" (free only), "none" (no limit)
    cheap: bool | None = None  # "cheap", "cheapest", "affordable": a preference, not a number
    weekly_hours: str | None = None  # study hours a week: "10", or "unknown"
    pace: str | None = None  # "full_time" / "part_time" study
    format: str | None = None  # "online", "in_person", "hybrid", "any"
    format_excluded: str | None = None  # "not online" -> "online"
    schedule: tuple[str, ...] | None = None  # from SCHEDULES, in that order
    schedule_excluded: tuple[str, ...] | None = None  # "not weekends", "I work nights"
    employment: str | None = None  # "full_time", "part_time", "not_working"
    childcare: bool | None = None
    children: int | None = None
    transit: bool | None = None  # True: needs places reachable without a car
    aid: tuple[str, ...] | None = None  # from AID_PROGRAMS, in that order
    education: str | None = None  # from EDUCATION_LEVELS
    wants_degree: bool | None = None
    language: str | None = None  # ISO 639-1 code of the language asked for
    corrected: tuple[str, ...] = ()  # fields said as a change ("actually", "scratch that")

    def stated(self) -> dict[str, object]:
        """The fields the message states, by name."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) not in (None, ())
        }


_NEG = re.compile(
    r"\b(not|no|don'?t|dont|do not|can'?t|cant|cannot|won'?t|never|hate|avoid|without|"
    r"rather not|isn'?t|aren'?t|lost)\b"
)
_WORK = re.compile(r"\b(work|works|working|job|shifts?)\b")
_STUDY = re.compile(
    r"\b(study|studying|school|class|classes|learn|learning|spend|give|devote|put in|train)\b"
)
_CLAUSE_BREAK = re.compile(r"[.;!?,()\n]|\bbut\b|\bso\b|\bbecause\b|\bbc\b")


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("\u2019", "'").replace("\u2018", "'")).strip()


def _before(t: str, start: int, words: int = 4) -> str:
    """The last few words before ``start`` in the same clause."""
    head = t[:start]
    cut = [m.end() for m in _CLAUSE_BREAK.finditer(head)]
    head = head[cut[-1] :] if cut else head
    return " ".join(head.split()[-words:])


# Money ---------------------------------------------------------------------------------------
_AMOUNT = re.compile(
    r"(?<![\w$/.,:#-])(?P<dollar>\$\s*)?(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
    r"(?P<k>\s*(?:k|grand)\b)?(?![\w/:%-]|\.\d|,\d)"
)
_PER_TIME = re.compile(
    r"\s*(?:(?:an?|per|/|each|every)\s*)?(?:hour|hr|h|year|yr|month|mo|week|wk|day)s?\b|"
    r"\s*(?:hourly|annually|monthly|weekly|a month|a year)\b"
)
_NOT_MONEY_UNIT = re.compile(
    r"\s*(?:hours?|hrs?|years?|yrs?|months?|weeks?|days?|kids?|children|miles?|mi|minutes?|"
    r"mins?|am|pm|people|times|classes|credits?|semesters?|yo|year old|percent|th|st|nd|rd)\b"
)
_MONEY_AFTER = re.compile(
    r"\s*\$|\s*(?:dollars|bucks|usd|max|maximum|tops|or less|total|to spend|to put|saved)\b"
)
# Spoken amounts: "five hundred dollars", "two thousand".
_WORD_AMOUNT = re.compile(
    r"\b(?P<n>one|two|three|four|five|six|seven|eight|nine|ten|a) (?P<unit>hundred|thousand)\b"
    r"(?P<after>\s*(?:dollars|bucks)\b)?"
)
# What the learner pays for something else ("my rent is $900") is not what school may cost.
_OTHER_MONEY = re.compile(r"\b(rent|bills?|owe|debt|loans?|payments?|mortgage|car note)\b")
_BUDGET_CUE = re.compile(
    r"\b(under|less than|below|max|maximum|up to|no more than|at most|budget|spend|afford|"
    r"pay|cost|costs)\b"
)
_PAY_CUE = re.compile(
    r"\b(make(?! it\b| that\b)|making|made|earn|earning|earned|paid|salary|wage|income|pays)\b"
)
_NO_LIMIT_FREE = re.compile(
    r"\bno (?:budget |price |cost |money )?(?:limit|max)\b|\bno budget limit\b|\bunlimited budget\b|"
    r"\bmoney (?:is|isn'?t) (?:no|not an?) (?:object|issue|problem)\b|"
    r"\b(?:cost|price|money|budget) (?:doesn'?t|does not|dont|don'?t) matter\b|"
    r"\b(?:doesn'?t|doesnt|does not) matter how much\b|"
    r"\b(?:don'?t|dont|do not) care (?:about|how much)\b[^.]*\b(?:cost|price|money|pay)\b|"
    r"\bany (?:price|budget|amount)\b|\bwhatever it costs\b|"
    r"\b(?:cost|price|money) (?:is not|isn'?t) an? (?:issue|problem)\b"
)
_FREE_FREE = re.compile(
    r"(?<!feel )\bfree\b(?! (?:time|on|to|from|weekends?|days?|evenings?|nights?|mornings?|period|in)\b)|"
    r"\bno money\b|\$0\b|\bzero dollars\b|\bpay nothing\b|"
    r"\b(?:can'?t|cant|cannot) (?:afford|pay)\b(?! (?:much|a lot|that much|more|very much)\b)|"
    r"\b(?:i'?m|im|am|pretty|totally|flat) broke\b"
)
_CHEAP = re.compile(
    r"\b(?:cheap|cheaper|cheapest|affordable|inexpensive|low[- ]cost|budget[- ]friendly)\b|"
    r"\bnot (?:too |very |that )?expensive\b|"
    r"\b(?:can'?t|cant|cannot) (?:pay|afford|spend) (?:much|a lot|that much|very much)\b"
)


def _budget(t: str) -> str | None:
    amounts: list[float] = []
    for m in _AMOUNT.finditer(t):
        rest = t[m.end() :]
        dollar, thousand = bool(m.group("dollar")), bool(m.group("k"))
        before = _before(t, m.start())
        if _PER_TIME.match(rest) or _PAY_CUE.search(before) or _OTHER_MONEY.search(before):
            continue  # pay, a salary, rent, or a monthly payment: not a total budget
        raw = m.group("num")
        after_money = bool(_MONEY_AFTER.match(rest))
        if not (dollar or thousand or after_money):
            if _NOT_MONEY_UNIT.match(rest) or (len(raw) == 5 and raw.isdigit()):
                continue  # hours, years, kids ... or a ZIP code
            if not _BUDGET_CUE.search(_before(t, m.start())):
                continue
        value = float(raw.replace(",", "")) * (1000 if thousand else 1)
        if value <= 1_000_000:
            amounts.append(value)
    for m in _WORD_AMOUNT.finditer(t):
        if m.group("after") or _BUDGET_CUE.search(_before(t, m.start())):
            n = 1 if m.group("n") == "a" else _WORD_NUMBERS[m.group("n")]
            amounts.append(float(n * (100 if m.group("unit") == "hundred" else 1000)))
    if amounts:
        return f"{max(amounts):g}"
    if _NO_LIMIT_FREE.search(t):
        return NO_LIMIT
    if _FREE_FREE.search(t):
        return "0"
    return None


# Hours, pace, employment ---------------------------------------------------------------------
_NUM_WORD = r"\d+(?:\.\d+)?|" + "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True))
_HOURS = re.compile(
    rf"(?<![\w.])(?P<a>{_NUM_WORD}|an?)(?:\s*(?:-|to|or)\s*(?P<b>{_NUM_WORD}))?\s*(?:of\s+)?"
    r"(?:hours?|hrs?|h)\b(?P<per>\s*(?:a|an|per|/|each|every)?\s*"
    r"(?:week|wk|day|night|weekday|weeknight|evening)s?\b)?"
)
_HOURS_UNKNOWN = re.compile(
    r"\b(?:not sure|idk|i don'?t know|dont know|no idea|depends|unsure|varies)\b"
)
_TIME_WORDS = re.compile(r"\bhours?\b|\bhrs?\b|\bhow much time\b")
_FULL_PART = re.compile(r"\b(?P<kind>full|part)[- ]?time\b")
_NOT_WORKING = re.compile(
    r"\b(?:not working|unemployed|laid off|lost my job|between jobs|out of work|"
    r"(?:don'?t|dont|do not) have a job|jobless|got fired|was fired|on unemployment)\b"
)


def _number(word: str) -> float:
    if word in ("a", "an"):
        return 1.0
    return float(word) if word[0].isdigit() else float(_WORD_NUMBERS[word])


def _hours(t: str) -> tuple[str | None, str | None]:
    """(study hours a week, employment from stated work hours)."""
    study: list[float] = []
    employment = None
    for m in _HOURS.finditer(t):
        per = m.group("per") or ""
        if m.group("a") in ("a", "an") and not per:
            continue  # "an hour away", "a hour ago": not study time
        value = max(_number(g) for g in (m.group("a"), m.group("b")) if g)
        if re.search(r"day|night|evening", per):
            value *= 5
        before = _before(t, m.start(), 5)
        after = t[m.end() : m.end() + 12]
        if re.match(r"\s*shifts?\b", after):
            continue  # the length of a work shift
        if _WORK.search(before) and not _STUDY.search(before):
            if "week" in per and value > 0:
                employment = "full_time" if value >= 35 else "part_time"
            continue
        if 0 < value <= 100:
            study.append(value)
    if study:
        return f"{max(study):g}", employment
    if _TIME_WORDS.search(t) and _HOURS_UNKNOWN.search(t):
        return UNKNOWN, employment
    return None, employment


def _pace_employment(t: str) -> tuple[str | None, str | None]:
    pace = employment = None
    for m in _FULL_PART.finditer(t):
        kind = f"{m.group('kind')}_time"
        before = _before(t, m.start(), 3)
        after = t[m.end() : m.end() + 12]
        if re.search(r"\b(work|works|working|job|employed)\b", before) or re.match(
            r"\s*(job|position|work|employee|at)\b", after
        ):
            employment = employment or kind
        else:
            pace = pace or kind
    if employment is None and _NOT_WORKING.search(t):
        employment = "not_working"
    return pace, employment


# Format and schedule --------------------------------------------------------------------------
_FORMAT_WORDS = (
    ("hybrid", re.compile(r"\bhybrid\b|\bblended\b|\bmix of (?:both|online and in[- ]?person)\b")),
    (
        "in_person",
        re.compile(r"\bin[- ]?person\b|\bface[- ]to[- ]face\b|\bclassroom\b|\bon[- ]campus\b"),
    ),
    (
        "online",
        re.compile(
            r"\bonline\b|\bvirtual(?:ly)?\b|\bremote(?:ly)?\b|\bself[- ]paced\b|\bfrom home\b"
        ),
    ),
)
_NOT_A_FORMAT_BEFORE = re.compile(
    r"\b(sell|selling|sold|buy|bought|shop|shopping|found|saw|seen|read|look|looked|looking|"
    r"posted|post|apply|applied|work|working|job)\b"
)
_NOT_A_FORMAT_AFTER = re.compile(
    r"\s*(jobs?|work|position|positions|role|roles|gigs?|business|store|shop|marketing|sales|"
    r"banking|company)\b"
)
_EITHER = re.compile(
    r"\b(either|any|both|whatever|doesn'?t matter|doesnt matter|no preference|don'?t care|fine|ok|okay)\b"
)


def _format(t: str) -> tuple[str | None, str | None]:
    positive: list[str] = []
    excluded: list[str] = []
    for kind, pattern in _FORMAT_WORDS:
        for m in pattern.finditer(t):
            before = _before(t, m.start(), 3)
            if _NOT_A_FORMAT_BEFORE.search(before) or _NOT_A_FORMAT_AFTER.match(t[m.end() :]):
                continue
            (excluded if _NEG.search(before) else positive).append(kind)
    chosen: str | None = None
    if "hybrid" in positive:
        chosen = "hybrid"
    elif "online" in positive and "in_person" in positive:
        chosen = ANY_FORMAT if _EITHER.search(t) else "hybrid" if "mix" in t else None
    elif positive:
        chosen = positive[0]
    return chosen, (excluded[0] if excluded and excluded[0] != chosen else None)


_SCHEDULE_WORDS = {
    "mornings": r"\bmornings?\b|\bbefore noon\b",
    "daytime": r"\bduring the day\b|\bdaytime\b",
    "evenings": r"\bevenings?\b|\bafter (?:5|6|7|8)(?: ?pm)?\b|\bafter (?:five|six|seven)\b",
    "nights": r"\bnights?\b|\bovernight\b|\bnight (?:classes|class|shift)\b",
    "weekdays": r"\bweekdays?\b|\bmon(?:day)?[- ](?:to |through |thru )?fri(?:day)?\b",
    "weekends": r"\bweekends?\b|\bsaturdays?\b|\bsundays?\b|\bsat(?:urday)? and sun(?:day)?\b",
}
_SCHEDULE_RE = {k: re.compile(v) for k, v in _SCHEDULE_WORDS.items()}


def _schedule(t: str) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    ok: set[str] = set()
    no: set[str] = set()
    for kind, pattern in _SCHEDULE_RE.items():
        for m in pattern.finditer(t):
            before = _before(t, m.start(), 3)
            if re.search(r"\b(a|an|per|each|every)$", before):
                continue  # "2 hours a night": how often, not when
            # "I work nights" / "not weekends": times the learner cannot study.
            if _NEG.search(before) or re.search(r"\b(work|works|working)\b", before):
                no.add(kind)
            else:
                ok.add(kind)
    ok -= no
    order = SCHEDULES
    return (
        tuple(k for k in order if k in ok) or None,
        tuple(k for k in order if k in no) or None,
    )


# Childcare, transit --------------------------------------------------------------------------
_COUNT = r"\d{1,2}|one|two|three|four|five|six|seven"
_CHILD = r"kids?|children|child|sons?|daughters?|baby|babies|toddlers?|boys|girls"
_NO_CHILDCARE = re.compile(
    rf"\b(?:no|don'?t have(?: any)?|dont have(?: any)?|do not have(?: any)?|without) (?:{_CHILD})\b|"
    r"\b(?:don'?t|dont|do not|won'?t) need (?:child ?care|day ?care|a babysitter)\b|"
    r"\bno (?:child ?care|day ?care) needed\b|\bkids are (?:grown|adults|older|out of the house)\b"
)
_CHILDCARE = re.compile(
    r"\bchild ?care\b|\bday ?care\b|\bbaby ?sitter\b|\bbabysitting\b|"
    r"\bsingle (?:mom|mother|dad|father|parent)\b|"
    rf"\b(?:my|{_COUNT}|young|little|small) (?:{_CHILD})\b|"
    rf"\bi have (?:a |an )?(?:{_CHILD})\b|\b(?:i'?m|im) a (?:mom|dad|mother|father|parent)\b|"
    r"\b(?:mom|dad|mother|father|parent) of\b"
)
_CHILD_COUNT = re.compile(
    rf"\b(?P<a>{_COUNT}) (?:{_CHILD})\b|\b(?:mom|mother|dad|father|parent) of (?P<b>{_COUNT})\b"
)
_WORD_COUNTS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_NEEDS_TRANSIT = re.compile(
    r"\bno (?:car|ride|vehicle|transportation|transport|wheels)\b|"
    r"\b(?:don'?t|dont|do not) (?:have|own) a (?:car|vehicle)\b|\bwithout a car\b|"
    r"\b(?:take|takes|taking|ride|riding|use|on|by) (?:the )?(?:bus|metro|train|light rail|dart|public transit)\b|"
    r"\bpublic (?:transit|transportation|transport)\b|\bbus (?:line|route|stop)\b|"
    r"\b(?:can'?t|cant|cannot|don'?t|dont|do not) drive\b|\bno driver'?s licen[cs]e\b"
)
_HAS_CAR = re.compile(
    r"\b(?:i have|i've got|i got|i own|have my own|my own|own a) (?:a |my )?(?:car|vehicle|truck)\b|"
    r"\bi can drive\b"
)


def _childcare(t: str) -> tuple[bool | None, int | None]:
    count = None
    m = _CHILD_COUNT.search(t)
    if m:
        word = m.group("a") or m.group("b")
        count = int(word) if word.isdigit() else _WORD_COUNTS[word]
    if _NO_CHILDCARE.search(t):
        return False, None
    if _CHILDCARE.search(t):
        return True, count
    return None, count


def _transit(t: str) -> bool | None:
    if _NEEDS_TRANSIT.search(t):
        return True
    if _HAS_CAR.search(t):
        return False
    return None


# Financial aid ---------------------------------------------------------------------------------
_AID_WORDS = {
    "pell": r"\bpell\b",
    "wioa": r"\bwioa\b|\bworkforce innovation\b",
    "gi_bill": r"\bg\.?\s?i\.? bill\b|\bva (?:education )?benefits\b|\bpost[- ]?9/11\b|"
    r"\bchapter (?:33|31)\b|\bvr&e\b",
    "employer": r"\b(?:employer|company)(?:'s)? (?:tuition|assistance|pays for|will pay|covers|reimburse)|"
    r"\btuition (?:assistance|reimbursement)\b|\breimburses? (?:my )?tuition\b|"
    r"\bmy (?:job|company|work|employer|boss) (?:is paying|will pay|would pay|pays for|covers?|"
    r"is covering|reimburses?|is reimbursing)\b(?! me\b)",
    "fafsa": r"\bfafsa\b",
    "financial_aid": r"\bfinancial aid\b|\bscholarships?\b|(?<!pell )\bgrants?\b",
}
_AID_RE = {k: re.compile(v) for k, v in _AID_WORDS.items()}


def _aid(t: str) -> tuple[str, ...] | None:
    found = []
    for kind, pattern in _AID_RE.items():
        for m in pattern.finditer(t):
            before = _before(t, m.start(), 4)
            if _NEG.search(before) or re.search(r"\bwhat(?:'s| is)\b", before):
                continue  # "not eligible for Pell", "what is WIOA?"
            found.append(kind)
            break
    return tuple(found) or None


# Education -----------------------------------------------------------------------------------
_EDU_WORDS = (
    (
        "master",
        r"\bmaster'?s\b|\bmasters\b|\bmba\b|\bmsn\b|\bphd\b|\bdoctorate\b|\bgraduate degree\b",
    ),
    (
        "bachelor",
        r"\bbachelor'?s\b|\bbachelors\b|\bb\.?a\.?(?= in\b)|\bb\.?s\.?(?= in\b)|\bbsn\b|"
        r"\b(?:4|four)[- ]year degree\b|\bcollege degree\b|\buniversity degree\b",
    ),
    (
        "associate",
        r"\bassociate'?s\b|\bassociates\b|\baas\b|\ba\.?a\.?(?= in\b)|\badn\b|\b(?:2|two)[- ]year degree\b",
    ),
)
_HAS = re.compile(
    r"\b(have|had|got|hold|earned|finished|completed|with|my|i'?m a|im a|graduated|did)\b"
)
_WANT = re.compile(
    r"\b(want|wanna|like|get|getting|pursue|pursuing|going for|plan|hope|need|eventually|"
    r"someday|working on|work on|finish|start)\b"
)
_SOME_COLLEGE = re.compile(
    r"\bsome college\b|\b(?:\d|one|two|three|a couple|couple|a few|few) (?:years?|semesters?) "
    r"(?:of|in|at) (?:college|university|community college)\b|\bdropped out of college\b|"
    r"\bcollege credits\b|\bstarted college\b|\bworking on my (?:bachelor|associate|degree)"
)
_NO_DIPLOMA = re.compile(
    r"\bno (?:hs |high school )?diploma\b|"
    r"\b(?:didn'?t|didnt|did not|never) (?:finish|graduate|complete)(?: from)? (?:high school|hs)\b|"
    r"\bdropped out of (?:high school|hs|school)\b|\bno (?:high school|hs)\b|"
    r"\b(?:9|10|11)th grade\b|\b(?:working on|get|getting|need|studying for) (?:my |a |the )?ged\b|"
    r"\b(?:senior|junior|sophomore|freshman) in (?:high school|hs)\b|"
    r"\b(?:i'?m|im|still) in (?:high school|hs)\b"
)
_HIGH_SCHOOL = re.compile(
    r"\bged\b|\bhs diploma\b|\bhigh school diploma\b|\b(?:finished|graduated|completed)(?: from)? "
    r"(?:high school|hs)\b|\b(?:high school|hs) grad(?:uate)?\b|\bhse\b|\b(?:just|only) high school\b"
)


def _education(t: str) -> str | None:
    levels: list[str] = []
    short = len(t.split()) <= 4
    for level, pattern in _EDU_WORDS:
        for m in re.finditer(pattern, t):
            before = _before(t, m.start(), 4)
            at_start = not before  # a fragment: "bachelors in psychology, ..."
            if _WANT.search(before):
                continue
            if at_start or short or _HAS.search(before):
                levels.append(level)
    if _SOME_COLLEGE.search(t):
        levels.append("some_college")
    no_diploma = _NO_DIPLOMA.search(t)
    if not no_diploma and _HIGH_SCHOOL.search(t):
        levels.append("high_school")
    if no_diploma:
        levels.append("no_diploma")
    if not levels:
        return None
    # The highest level said ("GED and some college" -> some college).
    return max(levels, key=EDUCATION_LEVELS.index)


# Language --------------------------------------------------------------------------------------
LANGUAGE_NAMES = {
    "spanish": "es", "español": "es", "espanol": "es", "english": "en", "inglés": "en",
    "vietnamese": "vi", "tiếng việt": "vi", "chinese": "zh", "mandarin": "zh", "cantonese": "zh",
    "arabic": "ar", "tagalog": "tl", "filipino": "tl", "korean": "ko", "french": "fr",
    "français": "fr", "portuguese": "pt", "português": "pt", "russian": "ru",
    "haitian creole": "ht", "creole": "ht", "kreyòl": "ht",
}  # fmt: skip
_LANG = "|".join(sorted((re.escape(k) for k in LANGUAGE_NAMES), key=len, reverse=True))
_LANGUAGE_ASK = re.compile(
    rf"\b(?:in|en) (?P<a>{_LANG})\b|"
    rf"\b(?P<b>{_LANG})(?:[- ]speaking)? (?:please|por favor|only|speaking|instructors?|teachers?|"
    r"classes|class|program|programs|is better|would be better|preferred|is easier)\b|"
    rf"\bprefer (?:\w+ ){{0,2}}(?P<c>{_LANG})\b|"
    rf"\b(?:do you|does anyone|can you|can someone|anyone|habla|hablan|hablas) (?:speak |talk )?(?P<d>{_LANG})\b"
)


def _language(t: str) -> str | None:
    m = _LANGUAGE_ASK.search(t)
    if not m:
        return None
    name = next(g for g in m.groups() if g)
    return LANGUAGE_NAMES[name]


_CORRECTION = re.compile(
    r"\bactually\b|\bchanged? my mind\b|\bscratch that\b|\bno wait\b|\binstead\b|"
    r"\bmake (?:it|that)\b|\bon second thought\b|\bnot anymore\b|\bi meant\b|\bcorrection\b"
)


def parse_constraints(text: str) -> Constraints:
    """Every constraint one learner message states, at any point in the conversation."""
    t = _normalize(text)
    if not t:
        return Constraints()
    weekly_hours, work_employment = _hours(t)
    pace, employment = _pace_employment(t)
    fmt, fmt_excluded = _format(t)
    schedule, schedule_excluded = _schedule(t)
    childcare, children = _childcare(t)
    budget = _budget(t)
    found = Constraints(
        budget=budget,
        cheap=True if budget is None and _CHEAP.search(t) else None,
        weekly_hours=weekly_hours,
        pace=pace,
        format=fmt,
        format_excluded=fmt_excluded,
        schedule=schedule,
        schedule_excluded=schedule_excluded,
        employment=employment or work_employment,
        childcare=childcare,
        children=children,
        transit=_transit(t),
        aid=_aid(t),
        education=_education(t),
        wants_degree=wants_degree(t),
        language=_language(t),
    )
    if _CORRECTION.search(t):
        return replace(found, corrected=tuple(found.stated()))
    return found
