"""The answer-first conversation (issue #16): read a message, then answer it, then ask at most
one question.

``understand(text, profile, readers)`` turns one learner message into ``MessageFacts`` with the
core parsers (goals, constraints, places, language, skills). ``next_reply(profile, facts,
search)`` decides what to say:

- a message that names a goal (a job, a field, a credential or training asked for by name) gets
  recommendations in the same turn with whatever else is known, and the assumptions in one short
  line ("Assuming any budget, online or in person");
- then at most one question: the one whose answer would change the recommendations most (place,
  budget, schedule, experience), always skippable, never asked again once answered or skipped;
- several occupations fit -> 2-3 buttons; a field -> a few entry-level occupations with pay; no
  goal but skills or a current job (or military service) -> occupations that fit, with pay and
  typical education;
- a greeting, thanks, a question or an unrelated message is answered as what it is, and an open
  question is repeated once, briefly;
- follow-ups on what was shown (cost, time, where, near me, compare, recognition, credit, "the
  cheaper one", "the one in Houston", "more like the second") name the record and the action
  that answers them best (``Reply.delegate``); the core's own short answer is the fallback;
- a non-English message gets the ``reply_in`` texts and keeps what could be read.

No turn ends without an answer or a question. Pure over its arguments: the search and the
readers are passed in, so hundreds of conversations run in milliseconds in the unit tests.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from knowledge.constraints import EDUCATION_LABELS, NO_LIMIT, UNKNOWN, parse_constraints
from knowledge.profile import (
    CurrentJobFact,
    GoalFact,
    LearnerProfile,
    MessageFacts,
    Option,
    PlaceFact,
    Shown,
    SkillFact,
)
from knowledge.recommend import MAX_K, InvalidQuery, SearchFilters, SearchHints, SearchResult

# ---- what the core is given -------------------------------------------------------------------


class GoalReader(Protocol):
    """``knowledge.goals.GoalUnderstanding``'s public methods."""

    def match_goal(self, text: str) -> Any: ...
    def current_job(self, text: str) -> Any: ...
    def field_occupations(self, field_name: str, limit: int = 4) -> list[Any]: ...
    def suggest_occupations(
        self, skill_labels: list[str], current_job_code: str | None = None, limit: int = 5
    ) -> list[Any]: ...


class Search(Protocol):
    """``knowledge.recommend.CredentialSearch``'s methods used here."""

    def search(
        self, query: str, k: int = 5, filters: SearchFilters | None = None, **kw: Any
    ) -> list[SearchResult]: ...
    def facts(self, ids: list[str]) -> dict[str, dict[str, Any]]: ...


@dataclass
class Readers:
    """The parsers ``understand`` calls; each optional one may be None (not read)."""

    goals: GoalReader
    skills: Callable[[str], Sequence[Any]] | None = None  # -> knowledge.skills.SkillMention
    language: Callable[[str], Any] | None = None  # -> knowledge.language.LanguageGuess
    place: Callable[[str], Any] | None = None  # -> knowledge.places.PlaceMention
    find_by_name: Callable[[str], str | None] | None = None  # a credential named in the text


def default_readers(services: Any) -> Readers:
    """The real parsers over the process's knowledge services."""
    from knowledge.goals import goals
    from knowledge.language import detect_language
    from knowledge.places import find_place

    return Readers(
        goals=goals(),
        skills=services.skills.extract,
        language=detect_language,
        place=find_place,
        find_by_name=services.search.find_by_name,
    )


# ---- what the core returns --------------------------------------------------------------------


@dataclass
class Message:
    text: str | None = None
    buttons: list[dict[str, str]] = field(default_factory=list)
    results: list[SearchResult] = field(default_factory=list)  # shown as credential cards
    response: str | None = None  # a domain response to utter instead (utter_faq, ...)


@dataclass
class Question:
    topic: str  # goal, place, budget, schedule, experience, choice
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    repeat: bool = False  # the open question said again (once), not a new one


@dataclass
class Reply:
    messages: list[Message]
    question: Question | None
    profile: LearnerProfile
    # A follow-up that an existing action answers with its full facts and sources; the
    # messages hold the core's own short answer for when that action is not available.
    delegate: str | None = None
    focus: str | None = None  # the record the follow-up is about
    # An existing action whose answer follows the core's messages (a skill question asked
    # with a goal: the recommendations first, then what the job asks for).
    also: str | None = None
    lead: str | None = None  # said before the delegated action's answer
    handoff: bool = False  # the learner accepted an adviser (non-English offer)

    @property
    def texts(self) -> list[str]:
        out = [m.text for m in self.messages if m.text]
        return out + ([self.question.text] if self.question else [])

    @property
    def results(self) -> list[SearchResult]:
        return [r for m in self.messages for r in m.results]


LineFormatter = Callable[[dict[str, Any], float | None, str | None], str]


def plain_line(f: dict[str, Any], miles: float | None, place: str | None) -> str:
    """A record in one line (the Rasa side passes ``actions.facts_text.record_line``)."""
    bits = [money(f.get("cost_usd"))]
    if f.get("hours") is not None:
        bits.append(f"about {f['hours']:,.0f} hours")
    where = f"{place}, {miles:.0f} mi" if miles is not None and place else None
    head = f"{f['name']} ({f['provider']}" + (f", {where}" if where else "") + ")"
    return f"{head}: " + ", ".join(bits) + "."


def money(value: float | None) -> str:
    if value is None:
        return "cost not recorded"
    return "free" if value == 0 else f"${value:,.0f}"


SKIP = {"title": "Skip", "payload": "skip"}

# ---- reading one message ----------------------------------------------------------------------

_SHORT = 7  # words: longer messages carry more than an act
_GREET = re.compile(
    r"^\W*(hi+|hello+|hey+|heyy+|hiya|howdy|yo|hola|good (morning|afternoon|evening)|"
    r"greetings|sup|what'?s up)\b",
    re.I,
)
_THANKS = re.compile(r"\b(thanks?|thx|ty|thank you|thank u|appreciate( it)?|gracias)\b", re.I)
_BYE = re.compile(r"\b(bye|goodbye|good bye|gotta go|see (you|ya)|later|cya|that'?s all)\b", re.I)
_SKIP = re.compile(
    r"^\W*(skip|pass|next|rather not( say)?|prefer not( to say)?|dunno|idk|i don'?t know|"
    r"not sure( yet)?|no idea|you pick|you choose|whatever|doesn'?t matter|no preference|"
    r"any(thing)?( is fine)?|either( is fine)?|nah|no thanks|none)\b",
    re.I,
)
_AFFIRM = re.compile(
    r"^\W*(ok(ay)?|cool|sure|yes|yeah|yep|great|sounds good|nice|got it)\b\W*$", re.I
)
_RECOMMEND = re.compile(
    r"\b(what (would|do|should|can) (you|i) (recommend|suggest|do)|what are my options|"
    r"(show|give) me (some )?(options|something)|show me( them| those| again| in english)?$|recommend|suggestions?|what are (the|my) options|"
    r"what options|options\??$)\b",
    re.I,
)
_QUESTION = re.compile(
    r"\?|^\W*(what|whats|what's|how|where|when|which|who|why|do|does|did|is|are|can|could|"
    r"should|would|will)\b",
    re.I,
)
_TRAINING = re.compile(
    r"\b(cert|certs|certification|certifications|certificate|certified|license|licen[cs]e|"
    r"program|programs|class|classes|clases|clasess|course|courses|training|school|bootcamp|"
    r"apprenticeship|card|exam|credential|degree)\b",
    re.I,
)
# Follow-ups on what was shown; checked in this order.
_FOLLOW_UPS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "more_like",
        re.compile(r"\b(more|others?|some(thing)?) (like|similar to)\b|similar (ones?|to)", re.I),
    ),
    (
        "compare",
        re.compile(
            r"\b(compare|comparison|difference|differ|vs\.?|versus)\b|which (one )?is better|which is best",
            re.I,
        ),
    ),
    (
        "near_me",
        re.compile(
            r"\b(near me|close to me|nearby|closest|nearest|around me|near here|in person near)\b",
            re.I,
        ),
    ),
    (
        # Pay of a job ("how much do web developers make"), not a program's cost.
        "pay",
        re.compile(
            r"\bhow much (?:do|does|can|could|would|will|did) .{1,40}?\b(?:make|earn|get paid)\b"
            r"|\bwhat (?:do|does) .{1,40}?\b(?:make|earn)\b|\b(?:salary|salaries|wages?) (?:of|for)\b",
            re.I,
        ),
    ),
    (
        # Several credentials built up into a degree: a stack plan, not one's credit.
        "stack",
        re.compile(
            r"\bstack\w*\b.{0,40}\b(?:degree|associate|bachelor)"
            r"|\bpath(?:way)?\b.{0,40}\b(?:degree|associate'?s?|bachelor'?s?)\b",
            re.I,
        ),
    ),
    (
        "credit",
        re.compile(
            r"\b(college )?credits?\b|count (toward|towards|for)|\bassociates?\b|\bbachelors?\b|transfer",
            re.I,
        ),
    ),
    (
        "recognition",
        re.compile(
            r"\brecogni[sz]\w*|employers?|companies (care|know|want)|worth it|respected|get(ting)? hired|\bhire\b|know best|legit",
            re.I,
        ),
    ),
    ("aid", re.compile(r"\b(pell|wioa|gi bill|financial aid|fafsa|grant|scholarship)\b", re.I)),
    (
        "cost",
        re.compile(
            r"\b(cost|costs|price|prices|pricing|how much|expensive|fees?|tuition|afford)\b|\$\$|\bpay for\b",
            re.I,
        ),
    ),
    (
        "time",
        re.compile(
            r"\b(how long|how many (hours|weeks|months)|weeks?|months?|hours|take me|duration|length|fast|quick)\b",
            re.I,
        ),
    ),
    ("where", re.compile(r"\b(where|address|located|location|campus|exactly is)\b", re.I)),
    (
        "more",
        re.compile(
            # "tell me more about X" asks for details, not more options.
            r"\b(more options|(?<!tell me )more(?! about| info| details)|other options|others|"
            r"anything else|something else|another)\b",
            re.I,
        ),
    ),
    (
        "details",
        re.compile(
            r"\b(tell me (more )?about|what does it include|what'?s in it|details|info|the .{1,30} one)\b",
            re.I,
        ),
    ),
)
_CHEAPER_ONE = re.compile(r"\b(the )?cheap(er|est) (one|option|program)\b|\bcheaper of\b", re.I)
_CHEAPER_MORE = re.compile(
    r"\b(anything|something|any|some)? ?cheaper\b|\bless expensive\b|\blower cost\b", re.I
)
_SHORTER = re.compile(
    r"\b(shorter|quicker|faster) (ones?|options?|programs?)\b|\banything shorter\b", re.I
)
_PLACE_REF = re.compile(
    r"\bthe one (in|at|near) (?P<where>[A-Za-z .]+?)(?:[,?.!]|$| how| what| is)", re.I
)
_ORDINAL = re.compile(
    r"\b(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last|top)\b"
    r"|\b(?:number|no\.?|option|#)\s*(one|two|three|four|five|[1-5])\b|^\W*([1-5])\W*$"
    r"|\bfirst (two|2|three|3)\b",
    re.I,
)
_ORDINALS = {
    "first": 0, "1st": 0, "one": 0, "1": 0, "top": 0,
    "second": 1, "2nd": 1, "two": 1, "2": 1,
    "third": 2, "3rd": 2, "three": 2, "3": 2,
    "fourth": 3, "4th": 3, "four": 3, "4": 3,
    "fifth": 4, "5th": 4, "five": 4, "5": 4,
    "last": -1,
}  # fmt: skip
_FIRST_N = re.compile(r"\b(?:first|top) (two|2|three|3)\b", re.I)
_WORD = re.compile(r"[a-z0-9+]+")
_STOP = {
    "the", "a", "an", "one", "ones", "of", "and", "or", "for", "to", "in", "i", "me", "my", "it",
    "that", "this", "sounds", "good", "ok", "okay", "like", "want", "wanna", "be", "is", "big",
    "about", "more", "tell", "what", "maybe", "guess", "then", "think", "those", "these", "job",
    "jobs", "work", "worker", "workers", "other", "all", "specialists", "s", "sure",
}  # fmt: skip
_PAY_QUESTION = re.compile(
    r"\b(what|which)\b.{0,30}\b(pays?|paying|money|salary)\b|\bgood pay(ing)?\b", re.I
)
_CHAT_ACTS = {"greet", "thanks", "bye", "skip", "affirm", "deny"}
_ACRONYM = re.compile(
    r"\b(?!(?:IT|OK|US|TX|USA|GED|ASAP|LOL|IDK|HEB|BTW|FYI|TBH)\b)[A-Z]{2,5}\+?(?=\W|$)"
)
# A credential's code: "epa 608", "az-900", "a+", "security+".
_CODE = re.compile(
    r"\b(?!(?:in|by|for|since|until|till|of|to|at|on|from|year|and|the|under|over|about|around|"
    r"only|max|budget|is|was|like|than|maybe|near|zip|spend|pay|have|got|my)\b)[a-z]{2,6}[- ]?\d{3,4}\b"
    r"|\b[a-z]{1,8}\+(?=\W|$)",
    re.I,
)
_HOW_GET = re.compile(
    r"\bhow (?:do|can|would|should) i (?:get|earn|pass|do|study for)\b(?! (?:into|started|a job|hired))",
    re.I,
)
# Asking what to do without a goal ("what could I do?", "what jobs fit"): no topic to search.
_NO_GOAL_Q = re.compile(
    r"\bwhat (?:kind of |other |else )?(?:jobs?|careers?|work|could i|can i|should i|else)\b|"
    r"\bwhat'?s next\b|\bno idea\b|\bnot sure what\b|\bmove into\b|\bout there for me\b",
    re.I,
)
_FAQ_ACTS = {"faq", "chitchat", "help", "bot_challenge", "out_of_scope"}
_MILITARY = re.compile(
    r"\b(army|navy|marines?|marine corps|air force|coast guard|usmc|veteran|vet|military|mos|enlisted)\b",
    re.I,
)
_NO_EXPERIENCE = re.compile(
    r"\b(never done|no experience|not much experience|new to (this|it)|starting (out|from scratch)|"
    r"just starting|zero experience|no background)\b",
    re.I,
)


def _words(text: str) -> set[str]:
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in _STOP:
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def _positions(text: str, n: int) -> list[int]:
    first_n = _FIRST_N.search(text)
    if first_n:
        count = 2 if first_n.group(1) in ("two", "2") else 3
        return list(range(min(count, n)))
    out: list[int] = []
    for m in _ORDINAL.finditer(text):
        word = next((g for g in m.groups() if g), "").lower()
        pos = _ORDINALS.get(word)
        if pos is None:
            continue
        pos = n - 1 if pos == -1 else pos
        if 0 <= pos < n and pos not in out:
            out.append(pos)
    return out


def _act(text: str, intent: str | None) -> str | None:
    words = len(text.split())
    t = text.strip()
    if t.startswith("/"):
        return {"affirm": "affirm", "deny": "deny", "greet": "greet"}.get(t[1:].split("{")[0])
    if words <= _SHORT and _SKIP.search(t):
        return "skip"
    if words <= _SHORT + 2 and _BYE.search(t) and not _QUESTION.search(t):
        return "bye"
    if words <= _SHORT + 2 and _THANKS.search(t):
        return "thanks"
    if words <= _SHORT and _GREET.search(t):
        return "greet"
    if words <= 3 and _AFFIRM.search(t):
        return "affirm"
    if intent in _FAQ_ACTS or (intent or "").startswith(("faq", "chitchat")):
        return intent.split("/")[0] if intent else None
    return None


def _goal_fact(match: Any, goals: Any = None) -> GoalFact | None:
    if match is None or match.kind == "none":
        return None
    if match.kind == "field":
        return GoalFact("field", match.field, field=match.field, said=match.span_text)
    describe = getattr(goals, "describe", None) if match.ambiguous else None
    cands = tuple(
        _option(d) if describe and (d := describe(c.code)) else Option(c.code, c.title)
        for c in match.candidates
    )
    if not cands:
        return None
    top = cands[0]
    return GoalFact(
        "occupation",
        top.title,
        code=top.code,
        said=match.span_text,
        candidates=cands if match.ambiguous else (),
        ambiguous=bool(match.ambiguous and len(cands) > 1),
    )


def _option(s: Any) -> Option:
    return Option(s.code, s.title, s.median_wage_usd, s.typical_education)


def _job_fact(job: Any) -> CurrentJobFact | None:
    if job is None:
        return None
    top = job.candidates[0] if job.candidates else None
    mil = job.military
    return CurrentJobFact(
        said=job.span_text,
        code=top.code if top else None,
        title=top.title if top else None,
        military=mil is not None,
        branch=mil.branch if mil else None,
        mos=mil.mos if mil else None,
        civilian_options=tuple(_option(s) for s in job.civilian_options),
    )


def _place_fact(mention: Any) -> tuple[PlaceFact | None, str | None]:
    if mention is None:
        return None, None
    place = mention.place
    if place is None:
        return None, mention.text
    if hasattr(place, "candidates"):  # Ambiguous: the first (the preferred state's) for now
        place = place.candidates[0]
    return PlaceFact(place.name, place.lat, place.lon, place.state, place.kind), None


def _pick(text: str, profile: LearnerProfile, goal: GoalFact | None) -> Option | None:
    """An option of the last list of occupations, chosen by position or by its words."""
    if not profile.options:
        return None
    opts = profile.options
    said = text.strip().lower()
    exact = next((o for o in opts if o.title.lower() == said), None)
    if exact is not None:
        return exact
    if goal is not None and goal.code and any(o.code == goal.code for o in opts):
        return next(o for o in opts if o.code == goal.code)
    if profile.last_list != "options":
        # Records were shown with the options (an ambiguous goal): positions point at the
        # records, words still pick an option.
        said_words = _words(text)
        scored = sorted(((len(said_words & _words(o.title)), i) for i, o in enumerate(opts)))
        if scored and scored[-1][0] > 0 and (len(scored) == 1 or scored[-1][0] > scored[-2][0]):
            return opts[scored[-1][1]]
        return None
    pos = _positions(text, len(opts))
    if pos:
        return opts[pos[0]]
    said = _words(text)
    scored = sorted(
        ((len(said & _words(o.title)), i) for i, o in enumerate(opts)), key=lambda t: (-t[0], t[1])
    )
    if scored and scored[0][0] > 0 and (len(scored) == 1 or scored[0][0] > scored[1][0]):
        return opts[scored[0][1]]
    return None


def understand(
    text: str,
    profile: LearnerProfile,
    readers: Readers,
    *,
    intent: str | None = None,
    skills: Sequence[Any] | None = None,
) -> MessageFacts:
    """What one message says. ``skills`` (SkillMention-like: label, skill_id, role) may come
    from the NLU pipeline; otherwise ``readers.skills`` extracts them."""
    text = (text or "").strip()
    if text.startswith("/"):  # a button payload that names an intent
        return MessageFacts(text=text, intent=text[1:].split("{")[0], act=_act(text, intent))
    act = _act(text, intent)
    language = None
    if readers.language is not None and len(text.split()) >= 3:
        guess = readers.language(text)
        if guess.reliable and guess.code != "en":
            language = guess.code
    job = _job_fact(readers.goals.current_job(text))
    match = readers.goals.match_goal(text)
    goal = _goal_fact(match, readers.goals)
    # "I want to be a welder" names a goal; a job title said as the current job is not one.
    if goal is not None and job is not None and goal.code and goal.code == job.code:
        goal = None
    if goal is None and job is not None and job.military and re.search(r"\bIT\b", text):
        goal = GoalFact("field", "it", field="it", said="IT")
    topic = None
    named_or_asked = False
    no_goal_question = (
        bool(_NO_GOAL_Q.search(text)) and (job is not None or bool(skills))
    ) or bool(_PAY_QUESTION.search(text))
    if goal is None and act not in _CHAT_ACTS and not no_goal_question:
        named = readers.find_by_name(text) if readers.find_by_name else None
        # A credential asked for by name: found in the catalog, said with a training word, an
        # acronym ("CAPM or PMP", "CCMA"), or "how do I get/earn X".
        asked = (
            _CODE.search(text)
            or (_ACRONYM.search(text) and _QUESTION.search(text))
            or _HOW_GET.search(text)
        )
        # A FAQ about credentials in general ("what is a micro-credential") names none.
        named_or_asked = bool(named or asked)
        if named or asked or (act is None and _TRAINING.search(text)):
            topic = _topic(text)
    if goal is None and topic:
        goal = GoalFact("topic", topic, said=topic)
    mentions = (
        list(skills) if skills is not None else (readers.skills(text) if readers.skills else [])
    )
    goal_span = (
        match.span if match is not None and getattr(match, "kind", "none") != "none" else None
    )
    skill_facts = []
    for m in mentions:
        start = getattr(m, "start", None)
        # Words that name the goal or the current job are neither (issue #16 item 8).
        if goal_span and start is not None and goal_span[0] <= start < goal_span[1]:
            continue
        role = getattr(m, "role", "has") or "has"
        if topic and role == "has":  # "AWS Cloud Practitioner, is that a good cert": a name
            role = "asks"
        if (
            _QUESTION.search(text)
            and role == "has"
            and re.search(r"\b(need|learn|should i|required)\b", text, re.I)
        ):
            role = "wants"
        skill_facts.append(SkillFact(m.label, getattr(m, "skill_id", "") or "", role))
    place, unknown_place = _place_fact(readers.place(text) if readers.place else None)
    zip_code = re.search(r"\b7[5-9]\d{3}\b|\b88[5-9]\d{2}\b", text)
    if place is None and zip_code and readers.place is not None:
        # A Texas ZIP said in a question ("which is closest to 77506") is still the place.
        place, unknown_place = _place_fact(readers.place(zip_code.group(0)))
    # "good morning!!" is a greeting, not a schedule.
    constraints = parse_constraints(_GREET.sub(" ", text) if act == "greet" else text)
    picked = _pick(text, profile, goal)
    if picked is not None and goal is not None and goal.kind != "occupation":
        goal = None
    follow_up, refers, cheapest, place_ref = _follow_up(text, profile, intent)
    if (
        goal is not None
        and goal.kind == "topic"
        and profile.shown
        and follow_up is not None
        and not _CODE.search(text)
        and (refers or _SHOWN_REF.search(text) or not named_or_asked)
    ):
        # "does the first one count toward a degree?": about what was shown, not a new goal.
        goal = None
    if (
        goal is not None
        and goal.kind == "occupation"
        and (constraints.wants_degree is not None or constraints.education is not None)
        and _EDUCATION_WORDS.search(goal.said or "")
    ):
        # "I'd like to finish a degree eventually" is about schooling, not a job.
        goal = None
    rest = {w for w in _words(text) if not w.rstrip("k").isdigit()} - _CONSTRAINT_WORDS
    if constraints.stated() and not rest and goal is not None and goal.kind == "topic":
        # A message that only states a constraint ("free only") narrows the goal.
        goal = None
    if goal is not None and goal.kind != "topic" and follow_up in ("details", "time", "where"):
        follow_up = None
    return MessageFacts(
        text=text,
        intent=intent,
        act=act,
        goal=goal,
        current_job=job,
        skills=tuple(skill_facts),
        constraints=constraints,
        place=place,
        place_unknown=unknown_place,
        language=language,
        follow_up=follow_up,
        refers_to=tuple(refers),
        refers_cheapest=cheapest,
        refers_place=place_ref,
        picked=picked,
        wants_recommendations=bool(_RECOMMEND.search(text)),
        question=bool(_QUESTION.search(text)),
    )


def _topic(text: str) -> str:
    from knowledge.query_plan import plan_query

    topic = plan_query(text).text
    topic = re.sub(
        r"(?i)\b(how do i get( my)?|how to get|is that|is it|is the|worth it|do i need( it)?|"
        r"which one|should i do|a good first cert|thing|do employers care)\b",
        " ",
        topic,
    )
    topic = re.sub(r"\s+", " ", topic).strip(" ,?!.") or text
    # Keep "a+" / "security+" whole: the "+" is part of the credential's name.
    for code in re.findall(r"\b\w+\+(?=\W|$)", text):
        topic = re.sub(rf"\b{re.escape(code[:-1])}\b(?!\+)", code, topic, count=1)
    return topic


_EDUCATION_WORDS = re.compile(
    r"\b(degree|college|diploma|ged|associate'?s?|bachelor'?s?|school)\b", re.I
)
_INTENT_FOLLOW_UPS = {"ask_degree_credit": "credit", "ask_stack_plan": "stack"}
# A reference to what was shown: "it", "these", "the first one".
_SHOWN_REF = re.compile(r"\b(it|its|this|that|these|those|them|they|this one|that one)\b", re.I)
# Words a message that only states a constraint is made of ("free only", "online please").
_CONSTRAINT_WORDS = {
    "free", "only", "online", "person", "remote", "virtual", "hybrid", "cheap", "cheaper",
    "budget", "under", "max", "maximum", "up", "dollar", "usd", "please", "just", "evening",
    "weekend", "night", "morning", "day", "daytime", "part", "full", "time", "self", "paced",
    "no", "cost", "zero", "less", "than", "at", "most", "around", "can", "spend", "afford",
    "k", "ok", "prefer", "would", "rather", "class", "classe", "need",
}  # fmt: skip


def _follow_up(
    text: str, profile: LearnerProfile, intent: str | None = None
) -> tuple[str | None, list[int], bool, str | None]:
    if not profile.shown:
        return None, [], False, None
    refers = _positions(text, len(profile.shown)) if profile.last_list == "shown" else []
    place_ref = None
    m = _PLACE_REF.search(text)
    if m:
        place_ref = m.group("where").strip()
    cheapest = bool(_CHEAPER_ONE.search(text))
    kind = None
    for name, pattern in _FOLLOW_UPS:
        if pattern.search(text):
            kind = name
            break
    if kind is None and cheapest:
        kind = "details"
    if kind is None and not cheapest and _CHEAPER_MORE.search(text):
        kind = "cheaper"
    if kind is None and _SHORTER.search(text):
        kind = "shorter"
    if kind is None and (refers or place_ref):
        kind = "details"
    if kind == "more" and _CHEAPER_MORE.search(text) and not cheapest:
        kind = "cheaper"
    if kind == "more" and refers:  # "more on the third one": that one's details
        kind = "details"
    if kind is None and refers and intent in _INTENT_FOLLOW_UPS:
        kind = _INTENT_FOLLOW_UPS[intent]
    return kind, refers, cheapest, place_ref


# ---- deciding the reply ----------------------------------------------------------------------

DELEGATES = {
    "cost": "action_credential_details",
    "time": "action_credential_details",
    "details": "action_credential_details",
    "where": "action_program_location",
    "compare": "action_compare",
    "recognition": "action_recognition",
    "credit": "action_degree_credit",
    "stack": "action_stack_plan",
    "aid": "action_financial_aid",
    "cheaper": "action_refine_recommendations",
    "shorter": "action_refine_recommendations",
}
RESPONSES = {
    "faq": "utter_faq",
    "chitchat": "utter_chitchat",
    "help": "utter_help",
    "bot_challenge": "utter_iamabot",
    "out_of_scope": "utter_out_of_scope",
}
_GOAL_BUTTONS = [
    {"title": "Healthcare", "payload": "healthcare"},
    {"title": "IT and computers", "payload": "IT"},
    {"title": "Skilled trades", "payload": "the trades"},
    {"title": "Not sure yet", "payload": "not sure yet"},
]


def next_reply(
    profile: LearnerProfile,
    facts: MessageFacts,
    search: Search,
    readers: Readers | None = None,
    *,
    line: LineFormatter = plain_line,
) -> Reply:
    """The reply to one message: an answer, then at most one question."""
    before = profile
    p = profile.apply(facts)
    turn = _Turn(before, p, facts, search, readers, line)
    return turn.decide()


@dataclass
class _Turn:
    before: LearnerProfile
    p: LearnerProfile
    facts: MessageFacts
    search: Search
    readers: Readers | None
    line: LineFormatter
    messages: list[Message] = field(default_factory=list)

    def say(self, text: str, buttons: list[dict[str, str]] | None = None) -> None:
        self.messages.append(Message(text=text, buttons=buttons or []))

    def reply(self, question: Question | None = None, **kw: Any) -> Reply:
        if question is not None and not question.repeat:
            self.p.ask(question.topic)
        if not self.messages and question is None:  # never a turn without an answer or question
            question = self.goal_question()
            self.p.ask("goal")
        return Reply(self.messages, question, self.p, **kw)

    # ---- the decision -------------------------------------------------------------------------

    def decide(self) -> Reply:
        reply = self._decide()
        f = self.facts
        if reply.results and not reply.delegate:
            # Answer first: a FAQ or a skill question asked with a goal follows the list.
            if f.act in _FAQ_ACTS and not any(m.response for m in reply.messages):
                reply.messages.append(Message(response=RESPONSES.get(f.act, "utter_faq")))
            if f.intent == "ask_skill_gap" and reply.also is None:
                reply.also = "action_skill_gap"
        return reply

    def _decide(self) -> Reply:
        f, p = self.facts, self.p
        if f.intent in ("affirm", "deny") and f.text.startswith("/"):
            return self.button(f.intent)
        if f.language:
            return self.other_language()
        if f.act in ("greet", "thanks", "bye", "affirm") and not self.news():
            return self.small_talk(f.act)
        news = self.news()
        if not news and p.goal is not None and p.goal.code:
            # Questions an existing action answers about the goal itself.
            if f.intent == "ask_skill_gap":
                self.say(f"Ask me what {p.goal.title.lower()} jobs need once more in a moment.")
                return self.reply(self.repeat_open(), delegate="action_skill_gap")
            if f.follow_up == "pay" or (
                f.intent == "ask_occupation_facts" and not (p.shown and f.follow_up)
            ):
                self.say(f"{p.goal.title}: pay and education are not available right now.")
                return self.reply(self.repeat_open(), delegate="action_occupation_facts")
        if f.intent == "ask_stack_plan" and p.shown and not news:
            self.say("Ask a college about credit for these toward a degree.")
            return self.reply(self.repeat_open(), delegate="action_stack_plan")
        owed = p.goal is not None and (
            f.wants_recommendations or (f.act == "out_of_scope" and not p.shown)
        )
        if p.goal is None and not p.shown and f.goal is None and _PAY_QUESTION.search(f.text):
            # "what pays good without a degree": jobs with pay, not a FAQ about degrees.
            return self.starter_jobs()
        if f.act in _FAQ_ACTS and not news and not (p.shown and f.follow_up) and not owed:
            # A goal known but nothing shown yet ("ok show me in english") is owed an answer.
            return self.interruption(f.act)
        if f.follow_up and p.shown and not self.news(ignore_place=f.follow_up == "near_me"):
            return self.follow_up(f.follow_up)
        if f.goal is not None and f.goal.ambiguous:
            return self.ambiguous(f.goal)
        if f.goal is not None and f.goal.kind == "field":
            return self.field(f.goal)
        if (
            f.current_job is not None
            and f.current_job.military
            and f.goal is None
            and f.picked is None
        ):
            return self.military(f.current_job)
        if f.goal is not None or f.picked is not None:
            return self.recommend()
        if p.goal is not None and (news or f.wants_recommendations or f.act == "skip"):
            return self.recommend()
        if (
            p.goal is None
            and (p.has_skills() or p.current_job is not None)
            and (f.skills or f.current_job or f.wants_recommendations or f.question)
        ):
            return self.suggest()
        if f.act == "skip":
            return self.after_skip()
        if p.goal is None and (
            _PAY_QUESTION.search(f.text)
            or _NO_GOAL_Q.search(f.text)
            or self.before.open_question == "goal"
        ):
            # No goal yet, and the learner answered without one ("idk i like working with my
            # hands", "what pays good without a degree"): entry-level jobs with pay to pick from.
            return self.starter_jobs()
        if f.act in _FAQ_ACTS and not owed:
            return self.interruption(f.act)
        if f.place_unknown:
            self.say("I don't know that place; a ZIP code works best.")
            return self.reply(self.question_for("place") if not p.settled("place") else None)
        if p.goal is not None and f.question:
            return self.interruption("faq")
        if p.goal is not None:
            return self.recommend()
        return self.reply(self.goal_question())

    def news(self, *, ignore_place: bool = False) -> bool:
        """The message changes something the recommendations depend on."""
        f = self.facts
        c = f.constraints
        before = self.before.goal
        same_goal = (
            f.goal is not None
            and before is not None
            and (f.goal.code or f.goal.title) == (before.code or before.title)
        )
        changed = (
            (f.goal is not None and not same_goal)
            or f.picked is not None
            or any(s.role == "has" for s in f.skills)
            or (f.place is not None and not ignore_place and not f.refers_place)
            or c.budget is not None
            or (bool(c.cheap) and not f.refers_cheapest and f.follow_up != "cheaper")
            or c.format is not None
            or c.format_excluded is not None
            or bool(c.schedule)
            or bool(c.childcare)
            or bool(c.transit)
        )
        return changed

    # ---- answers ------------------------------------------------------------------------------

    def small_talk(self, act: str) -> Reply:
        p = self.p
        text = {
            "greet": "Hi! I'm Stackwise. I help you find a short credential or training that gets you to the job you want.",
            "thanks": "You're welcome!",
            "bye": "Good luck! Come back any time.",
            "affirm": "Great.",
        }[act]
        if act == "greet" and p.goal is not None:
            text = f"Hi again! We were looking at options for {self.goal_words()}."
        self.say(text)
        if act == "bye":
            return self.reply(None) if self.messages else self.reply()
        q = self.repeat_open()
        if q is None and p.goal is None and act in ("greet", "affirm"):
            q = self.goal_question()
        if q is None and act == "affirm" and p.shown:
            self.say(
                "Ask me about any of these: the cost, how long it takes, where it is, or if employers recognize it."
            )
        if q is None and act == "thanks" and p.shown:
            self.say("Ask me anything else about these options whenever you like.")
        return self.reply(q)

    def interruption(self, act: str) -> Reply:
        """A question or message that is not about the advice: answered as what it is."""
        self.messages.append(Message(response=RESPONSES.get(act, "utter_faq")))
        return self.reply(self.repeat_open())

    def repeat_open(self) -> Question | None:
        """The open question, once, briefly, if its answer is still missing."""
        p = self.p
        topic = p.open_question
        if not topic or p.settled(topic) or p.repeated:
            return None
        q = self.question_for(topic)
        if q is None:
            return None
        p.repeated = True
        short = Question(
            q.topic, "Back to my question: " + q.text.split("?")[0].strip() + "?", q.buttons, True
        )
        return short

    def button(self, intent: str) -> Reply:
        if intent == "affirm" and self.p.language:
            self.say("OK, an adviser will contact you.")
            return self.reply(None, handoff=True)
        return self.small_talk("affirm")

    def other_language(self) -> Reply:
        from knowledge.language import reply_in

        texts = reply_in(self.p.language or "en")
        items = []
        if self.p.goal is not None:
            items.append(self.goal_words())
        items += self.p.skill_labels()
        if self.p.place is not None:
            items.append(self.p.place.name)
        self.say(
            texts["english_only"],
            [
                {"title": texts["yes"], "payload": "/human_handoff"},
                {"title": texts["no"], "payload": "/deny"},
            ],
        )
        if items:
            self.say(texts["kept"].format(items=", ".join(items)))
        self.p.language = None  # answered: the next English message goes on in English
        if self.p.goal is not None and self.p.goal.kind != "field" and not self.p.goal.ambiguous:
            # Answer first all the same: the options for the goal it could read (no question,
            # which would be in English).
            return self.recommend(then=lambda _: None)
        return self.reply(None)

    def goal_words(self) -> str:
        g = self.p.goal
        if g is None:
            return "your goal"
        if g.kind == "field":
            return {"it": "IT"}.get(g.field or "", g.field or g.title)
        return g.said if g.kind == "topic" and g.said else g.title

    # ---- recommendations ------------------------------------------------------------------------

    def recommend(
        self,
        *,
        exclude: Sequence[str] = (),
        query: str | None = None,
        head: str | None = None,
        then: Callable[[list[SearchResult]], Question | None] | None = None,
    ) -> Reply:
        p = self.p
        results = self.run_search(query=query, exclude=exclude)
        relaxed = False
        if not results and (p.place or p.schedule or p.childcare or p.transit or p.aid):
            results = self.run_search(query=query, exclude=exclude, local=False)
            relaxed = bool(results)
        if not results:
            self.say(
                f"I couldn't find options for {self.goal_words()} that fit all of that. "
                "Try a bigger budget or another format."
            )
            return self.reply(self.next_question([]))
        goal = self.goal_words()
        self.say(self.assumptions())
        many = f"Here are {len(results)} options" if len(results) > 1 else "Here is 1 option"
        lines = [head or f"{many} for {goal}:"]
        facts = self.search.facts([r.id for r in results])
        for i, r in enumerate(results, 1):
            f = facts.get(r.id) or {
                "name": r.name,
                "provider": r.provider,
                "cost_usd": r.cost_usd,
                "hours": r.hours,
            }
            lines.append(f"{i}. {self.line(f, r.miles, r.place)}")
        if relaxed:
            lines.append("Nothing fit every condition nearby, so these are the closest matches.")
        if p.place is not None and p.place.state != "TX":
            lines.append(
                "Local training programs are only known for Texas so far, so these are national and online options."
            )
        self.messages.append(
            Message(text="\n".join(lines), buttons=FOLLOW_UP_BUTTONS, results=results)
        )
        p.show(
            [
                Shown(r.id, r.name, r.provider, r.kind, r.cost_usd, r.hours, r.miles, r.place)
                for r in results
            ]
        )
        return self.reply(then(results) if then else self.next_question(results))

    def query(self) -> str:
        g = self.p.goal
        if g is None:
            return "entry level job credential"
        q = g.title
        if g.kind == "occupation" and g.said and g.said.lower() not in g.title.lower():
            q = f"{g.said} ({g.title})"
        elif g.kind == "field":
            q = {"it": "information technology IT support"}.get(
                g.field or "", g.title
            ) + " entry level"
        wants = self.p.skill_labels("wants") + self.p.skill_labels("asks")
        if wants:
            q += ". Wants to learn " + ", ".join(wants)
        return q

    def filters(self, *, local: bool = True) -> tuple[SearchFilters, SearchHints]:
        p = self.p
        budget = p.budget
        max_cost = float(budget) if budget not in (None, NO_LIMIT, UNKNOWN) else None
        fmt = p.format if p.format in ("online", "in_person", "hybrid") else None
        near = (p.place.lat, p.place.lon) if p.place is not None and local else None
        flexible = local and bool(set(p.schedule) & {"evenings", "nights", "weekends"})
        filters = SearchFilters(
            max_cost=max_cost,
            format=fmt,
            near=near,
            pell_eligible=local and "pell" in p.aid,
            flexible_hours=flexible,
            childcare=local and bool(p.childcare),
            transit=local and bool(p.transit),
        )
        program = (
            near is not None
            or filters.pell_eligible
            or flexible
            or filters.childcare
            or filters.transit
        )
        hints = SearchHints(prefer_low_cost=p.cheap, prefer_kind="program" if program else None)
        return filters, hints

    def run_search(
        self,
        *,
        query: str | None = None,
        exclude: Sequence[str] = (),
        local: bool = True,
        k: int = 3,
    ) -> list[SearchResult]:
        """Relevance first; with a budget, keep what is known to fit or not priced (never what
        is known to cost more), then fill from the strict search."""
        p = self.p
        filters, hints = self.filters(local=local)
        kw: dict[str, Any] = dict(
            user_skill_ids=[s.skill_id for s in p.skills if s.role == "has" and s.skill_id],
            target_occupation=p.goal.code if p.goal is not None else None,
            exclude=list(exclude),
            hints=hints,
        )
        q = query or self.query()
        try:
            if filters.max_cost is None:
                return _distinct(self.search.search(q, k=k * 3, filters=filters, **kw), k)
            pool = self.search.search(
                q, k=min(MAX_K, k * 10), filters=dataclasses.replace(filters, max_cost=None), **kw
            )
            fit = [r for r in pool if r.cost_usd is None or r.cost_usd <= filters.max_cost]
            out = _distinct(fit, k)
            if len(out) < k:
                have = {r.id for r in out}
                strict = self.search.search(q, k=k, filters=filters, **kw)
                # Never what is known to cost more, whatever the search's own filter did.
                out += [
                    r
                    for r in strict
                    if r.id not in have and (r.cost_usd is None or r.cost_usd <= filters.max_cost)
                ][: k - len(out)]
            return out
        except InvalidQuery:
            return []

    def assumptions(self) -> str:
        """What the list assumes, in one short line."""
        p = self.p
        said = []
        if p.budget in (None, NO_LIMIT, UNKNOWN):
            said.append("low cost first" if p.cheap else "any budget")
        elif p.budget == "0":
            said.append("free only")
        else:
            said.append(f"up to ${float(p.budget):,.0f}")
        where = p.place.name if p.place is not None else None
        if p.format == "online":
            said.append("online")
        elif p.format == "in_person":
            said.append(f"in person near {where}" if where else "in person")
        else:
            said.append(f"online or near {where}" if where else "online or in person")
        if p.schedule:
            said.append(" or ".join(p.schedule))
        if "pell" in p.aid:
            said.append("Pell-eligible programs")
        names = {"wioa": "WIOA funding", "gi_bill": "GI Bill benefits", "employer": "employer aid"}
        aid = [names[a] for a in p.aid if a in names]
        if aid:
            said.append(" or ".join(aid) + " to ask about")
        if p.childcare:
            said.append("childcare help")
        if p.transit:
            said.append("reachable by transit")
        if p.education:
            said.append(f"you have {EDUCATION_LABELS.get(p.education, p.education)}")
        line = "Assuming " + ", ".join(said) + "."
        f = self.facts
        has = [x.label for x in f.skills if x.role == "has"]
        asked = [x.label for x in f.skills if x.role in ("wants", "asks")]
        if has:
            line = f"Noted that you know {_join(has)}. " + line
        if asked:
            line += f" Training that covers {_join(asked)} ranks higher."
        return line

    # ---- the one question -------------------------------------------------------------------------

    def next_question(self, results: list[SearchResult]) -> Question | None:
        """The question whose answer would change these recommendations most."""
        p = self.p
        programs = any(r.kind == "program" for r in results)
        costs = [r.cost_usd for r in results if r.cost_usd is not None]
        scores: dict[str, float] = {}
        if p.place is None and p.format != "online":
            scores["place"] = 3.0 if programs else 1.5
        if p.budget is None and not p.cheap:
            spread = (max(costs) - min(costs)) if len(costs) >= 2 else 0.0
            scores["budget"] = 2.5 if spread >= 500 or (costs and max(costs) >= 1000) else 1.0
        if p.place is not None and not p.schedule and programs:
            scores["schedule"] = 1.2
        if (
            not p.has_skills()
            and p.current_job is None
            and not _NO_EXPERIENCE.search(self.facts.text)
        ):
            scores["experience"] = 0.8
        for topic in list(scores):
            if p.settled(topic) or topic in p.asked:
                del scores[topic]
        if not scores:
            return None
        topic = max(scores, key=lambda t: (scores[t], -list(scores).index(t)))
        return self.question_for(topic)

    def question_for(self, topic: str) -> Question | None:
        if topic == "place":
            return Question(
                "place",
                "Where do you live? A city or ZIP code lets me show programs near you first.",
                [SKIP],
            )
        if topic == "budget":
            return Question(
                "budget",
                "How much can you spend on training?",
                [
                    {"title": "Free only", "payload": "free only"},
                    {"title": "Up to $500", "payload": "up to $500"},
                    {"title": "Up to $2,000", "payload": "up to $2000"},
                    {"title": "No limit", "payload": "no budget limit"},
                    SKIP,
                ],
            )
        if topic == "schedule":
            return Question(
                "schedule",
                "When can you take classes?",
                [
                    {"title": "Daytime", "payload": "daytime classes"},
                    {"title": "Evenings", "payload": "evenings"},
                    {"title": "Weekends", "payload": "weekends"},
                    SKIP,
                ],
            )
        if topic == "experience":
            return Question(
                "experience",
                "Have you done any work like this, or used related tools?",
                [{"title": "No experience yet", "payload": "no experience yet"}, SKIP],
            )
        if topic in ("goal", "choice"):
            if self.p.options and self.p.last_list == "options":
                return Question(
                    "goal", "Which of these interests you?", self.option_buttons(self.p.options)
                )
            return self.goal_question()
        return None

    def goal_question(self) -> Question:
        return Question(
            "goal",
            "What job would you like to have? A job title or a field is fine.",
            _GOAL_BUTTONS,
        )

    def after_skip(self) -> Reply:
        p = self.p
        if p.goal is None and p.options and p.last_list == "options":
            first = p.options[0]
            p.goal = GoalFact("occupation", first.title, code=first.code)
            self.say(f"Then let's start with {first.title}; you can change it any time.")
        if p.goal is not None:
            return self.recommend()
        return self.starter_jobs()

    def starter_options(self) -> list[Option]:
        options: list[Option] = []
        if self.readers is not None:
            for fld in ("healthcare", "trades", "it"):
                options += [_option(s) for s in self.readers.goals.field_occupations(fld, 2)]
        return options

    def starter_jobs(self) -> Reply:
        """No goal yet: a few entry-level jobs from the fields most people start in, with pay."""
        options = self.starter_options()
        if not options:
            self.say("No problem. Here are some fields many people start in:")
            return self.reply(Question("goal", "Which one sounds closest, if any?", _GOAL_BUTTONS))
        options.sort(key=lambda o: -(o.median_wage_usd or 0))
        return self.choose(
            options[:4],
            "Does one of these interest you? A job or field of your own is fine too.",
            "Entry-level jobs that usually need no degree, and what they pay:",
        )

    # ---- choices --------------------------------------------------------------------------------

    @staticmethod
    def option_buttons(options: Sequence[Option]) -> list[dict[str, str]]:
        return [{"title": o.title, "payload": o.title} for o in options]

    def option_lines(self, options: Sequence[Option]) -> list[str]:
        lines = []
        for i, o in enumerate(options, 1):
            bits = []
            if o.median_wage_usd is not None:
                bits.append(f"median pay ${o.median_wage_usd:,.0f} a year")
            if o.typical_education:
                bits.append(f"usually {o.typical_education.lower()}")
            lines.append(f"{i}. {o.title}" + (" — " + ", ".join(bits) if bits else ""))
        return lines

    def choose(self, options: list[Option], ask: str, intro: str | None = None) -> Reply:
        options = options[:4]
        self.p.offer(options)
        self.p.goal = None if self.p.goal is not None and self.p.goal.ambiguous else self.p.goal
        text = "\n".join(([intro] if intro else []) + self.option_lines(options))
        self.say(text)
        return self.reply(Question("goal", ask, self.option_buttons(options)))

    def ambiguous(self, goal: GoalFact) -> Reply:
        """Answer first for the words said, then the occupations they could mean as buttons."""
        options = list(goal.candidates)[:3]

        def pick_one(_: list[SearchResult]) -> Question:
            self.p.offer(options)
            paid = [o for o in options if o.median_wage_usd is not None]
            if paid:
                self.say(
                    "It could mean: "
                    + "; ".join(
                        f"{o.title} (median pay ${o.median_wage_usd:,.0f} a year)" for o in paid
                    )
                    + "."
                )
            return Question("goal", "Which of these is closest?", self.option_buttons(options))

        reply = self.recommend(head=f"Options for {goal.said or goal.title}:", then=pick_one)
        if not reply.results:
            self.messages.clear()
            return self.choose(options, "Which of these do you mean?")
        self.p.last_list = "shown"
        return reply

    def field(self, goal: GoalFact) -> Reply:
        """Answer first: a field's starting credentials, and its entry-level jobs with pay to
        narrow down to."""
        readers = self.readers
        found = readers.goals.field_occupations(goal.field or goal.title, 4) if readers else []
        options = [_option(s) for s in found]
        if not options:
            return self.recommend()
        name = self.goal_words()
        lines = [f"Entry-level jobs in {name} and what they pay:", *self.option_lines(options)]
        self.say("\n".join(lines))

        def pick_one(_: list[SearchResult]) -> Question:
            self.p.offer(options)
            return Question(
                "goal", "Which of these jobs interests you most?", self.option_buttons(options)
            )

        return self.recommend(head=f"Ways to start in {name}:", then=pick_one)

    def suggest(self) -> Reply:
        p = self.p
        labels = p.skill_labels()
        code = p.current_job.code if p.current_job is not None else None
        found = self.readers.goals.suggest_occupations(labels, code, 4) if self.readers else []
        options = [_option(s) for s in found]
        if len(options) < 2:
            return (
                self.starter_jobs()
                if not options
                else self.choose(
                    options
                    + [
                        o for o in self.starter_options() if o.code not in {x.code for x in options}
                    ][:3],
                    "Which of these interests you?",
                    "Jobs that could fit you, and what they pay:",
                )
            )
        because = ", ".join(labels[:3]) if labels else (p.current_job.said if p.current_job else "")
        intro = (
            f"Jobs that use what you've done ({because}):"
            if because
            else "Jobs that could fit you:"
        )
        return self.choose(options, "Which of these interests you?", intro)

    def military(self, job: CurrentJobFact) -> Reply:
        options = list(job.civilian_options)
        if self.readers is not None and len(options) < 2:
            extra = [
                _option(s)
                for s in self.readers.goals.suggest_occupations(self.p.skill_labels(), job.code, 4)
            ]
            options += [o for o in extra if o.code not in {x.code for x in options}]
        if self.readers is not None and len(options) < 2:
            for fld in ("it", "trades"):
                options += [_option(s) for s in self.readers.goals.field_occupations(fld, 2)]
        intro = "Thank you for your service. Civilian jobs that fit what you did:"
        return self.choose(
            options,
            "Which civilian job would you like, or is there another you have in mind?",
            intro,
        )

    # ---- follow-ups on what was shown ------------------------------------------------------------

    def referred(self) -> Shown | None:
        p, f = self.p, self.facts
        shown = p.shown
        if not shown:
            return None
        if f.refers_cheapest:
            priced = [s for s in shown if s.cost_usd is not None]
            if priced:
                return min(priced, key=lambda s: s.cost_usd or 0.0)
        if f.refers_place:
            where = f.refers_place.lower()
            for s in shown:
                if where in f"{s.place or ''} {s.provider} {s.name}".lower():
                    return s
        if f.refers_to:
            return shown[f.refers_to[0]]
        said = _words(f.text)
        scored = sorted(
            ((len(said & _words(f"{s.name} {s.provider}")), i) for i, s in enumerate(shown)),
            reverse=True,
        )
        if scored and scored[0][0] > 0 and (len(scored) == 1 or scored[0][0] > scored[1][0]):
            return shown[scored[0][1]]
        return next((s for s in shown if s.id == p.focus), shown[0])

    def explicit_reference(self) -> bool:
        f, p = self.facts, self.p
        if f.refers_to or f.refers_cheapest or f.refers_place:
            return True
        said = _words(f.text)
        return any(said & _words(f"{s.name} {s.provider}") for s in p.shown)

    def follow_up(self, kind: str) -> Reply:
        p, f = self.p, self.facts
        if kind == "near_me":
            if p.place is None and not p.settled("place"):
                return self.reply(self.question_for("place"))
            return self.recommend(head=None)
        if kind == "more":
            return self.recommend(exclude=p.seen, head="Here are more options:")
        if kind == "more_like":
            like = self.referred()
            return self.recommend(
                exclude=p.seen,
                query=like.name if like else None,
                head=f"More like {like.name}:" if like else None,
            )
        target = self.referred()
        if target is None:
            return self.recommend()
        if kind == "cost" and not self.explicit_reference():
            # "how much does it cost?" after a list: what each of them costs.
            facts = self.search.facts([x.id for x in p.shown])
            lines = [
                f"{i}. {self.line(facts[x.id], x.miles, x.place)}"
                for i, x in enumerate(p.shown, 1)
                if x.id in facts
            ]
            if lines:
                self.say("What each one costs:\n" + "\n".join(lines))
                return self.reply(self.repeat_open(), focus=target.id)
        if f.refers_place and not any(
            f.refers_place.lower() in f"{x.place or ''} {x.provider} {x.name}".lower()
            for x in p.shown
        ):
            lead = f"None of these is in {f.refers_place} itself; the nearest one:"
            nearest = min(
                (x for x in p.shown if x.miles is not None),
                key=lambda x: x.miles or 0.0,
                default=None,
            )
            target = nearest or target
            p.focus = target.id
            facts = self.search.facts([target.id])
            self.say(lead)
            self.say(self.core_answer(kind, [facts[i] for i in [target.id] if i in facts], target))
            return self.reply(
                self.repeat_open(), focus=target.id, lead=lead, delegate=DELEGATES.get(kind)
            )
        p.focus = target.id
        ids = [target.id]
        if kind == "compare":
            ids = (
                [p.shown[i].id for i in f.refers_to[:2]]
                if len(f.refers_to) >= 2
                else [s.id for s in p.shown[:2]]
            )
        facts = self.search.facts(ids)
        self.say(self.core_answer(kind, [facts[i] for i in ids if i in facts], target))
        return self.reply(self.repeat_open(), delegate=DELEGATES.get(kind), focus=target.id)

    def core_answer(self, kind: str, records: list[dict[str, Any]], target: Shown) -> str:
        if not records:
            return f"{target.name} ({target.provider})."
        r = records[0]
        name = f"{r['name']} ({r['provider']})"
        if kind == "compare" and len(records) >= 2:
            return "\n".join(f"{i}. {self.line(x, None, None)}" for i, x in enumerate(records, 1))
        if kind == "recognition":
            rec = r.get("recognition") or []
            if rec:
                return f"{name} is recognized by " + ", ".join(x["by"] for x in rec[:3]) + "."
            return f"I have no record of employers recognizing {name}. Check job posts in your area for it by name."
        if kind == "credit":
            credit = r.get("credit") or []
            if credit:
                c = credit[0]
                return f"{name} has a college credit recommendation from {c['issuer']}" + (
                    f" ({c['semester_hours']:g} semester hours)."
                    if c.get("semester_hours")
                    else "."
                )
            return f"{name} has no college credit recommendation on record; each college decides what it accepts."
        if kind == "where":
            offers = [o for o in r.get("offerings") or [] if o.get("city")]
            if offers:
                o = offers[0]
                return (
                    f"{name} is taught at {o.get('campus') or r['provider']}, {o.get('address') or ''} {o['city']}".strip()
                    + "."
                )
            return f"{name} is offered by {r['provider']}; see {r.get('url') or 'its website'}."
        return self.line(r, target.miles, target.place)


def _join(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _distinct(results: list[SearchResult], k: int) -> list[SearchResult]:
    """One result per program name and provider: a college lists one program per campus."""
    seen: set[tuple[str, str]] = set()
    out = []
    for r in results:
        key = (r.name.lower(), r.provider.lower())
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out[:k]


FOLLOW_UP_BUTTONS = [
    {"title": "How much?", "payload": "how much does the first one cost"},
    {"title": "Employers?", "payload": "do employers recognize the first one"},
    {"title": "College credit?", "payload": "does the first one count for college credit"},
    {"title": "More options", "payload": "more options"},
]
