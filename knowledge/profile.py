"""What the bot knows about one learner, folded from every message: the answer-first
conversation's state (issue #16).

``LearnerProfile`` holds skills with roles, the goal (an occupation, a field or a search topic,
with the candidates when several fit), the current job kept apart from both, the constraints
(budget, hours, format, place, schedule, childcare, transit, aid, education, language), which
questions were asked, answered or skipped, and what was shown. ``apply(facts)`` folds in one
message's ``MessageFacts``: whatever a message states wins over what was known, at any time
("actually under $500", "I moved to Austin", "I also know SQL"). The whole profile is plain data
(``to_dict`` / ``from_dict``), so Rasa keeps it in one slot and the adapters stay thin.

Pure: no Rasa, no DB, no I/O.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from knowledge.constraints import Constraints

QUESTION_TOPICS = ("goal", "place", "budget", "schedule", "experience")


@dataclass(frozen=True)
class SkillFact:
    label: str
    skill_id: str = ""
    role: str = "has"  # has / lacks / wants (knowledge.skills roles)


@dataclass(frozen=True)
class Option:
    """An occupation offered to pick from (ambiguous goal, a field, suggestions)."""

    code: str
    title: str
    median_wage_usd: float | None = None
    typical_education: str | None = None


@dataclass(frozen=True)
class GoalFact:
    kind: str  # "occupation", "field" or "topic" (a credential or training asked for by name)
    title: str  # what to search for: the occupation's title, the field, or the topic words
    code: str | None = None  # O*NET-SOC code for an occupation
    field: str | None = None
    said: str | None = None  # the learner's words for it
    candidates: tuple[Option, ...] = ()  # several occupations fit: the learner picks one
    ambiguous: bool = False


@dataclass(frozen=True)
class CurrentJobFact:
    said: str
    code: str | None = None
    title: str | None = None
    military: bool = False
    branch: str | None = None
    mos: str | None = None
    civilian_options: tuple[Option, ...] = ()


@dataclass(frozen=True)
class PlaceFact:
    name: str
    lat: float
    lon: float
    state: str
    kind: str = "city"


@dataclass(frozen=True)
class Shown:
    """One record shown to the learner, with what follow-ups refer to."""

    id: str
    name: str
    provider: str = ""
    kind: str = "credential"
    cost_usd: float | None = None
    hours: float | None = None
    miles: float | None = None
    place: str | None = None


@dataclass(frozen=True)
class MessageFacts:
    """What one message says, read by ``knowledge.advise.understand``. None / () = not said."""

    text: str = ""
    intent: str | None = None  # the NLU's guess, a hint only
    act: str | None = None  # greet, thanks, bye, skip, affirm, deny, help, faq, chitchat, ...
    goal: GoalFact | None = None
    goal_options: tuple[Option, ...] = ()  # a field's entry-level occupations
    current_job: CurrentJobFact | None = None
    skills: tuple[SkillFact, ...] = ()
    removed_skills: tuple[str, ...] = ()
    constraints: Constraints = field(default_factory=Constraints)
    place: PlaceFact | None = None
    place_unknown: str | None = None  # a place-like phrase we cannot locate
    language: str | None = None  # ISO code when reliably not English
    follow_up: str | None = None  # cost, time, where, near_me, compare, recognition, credit, ...
    refers_to: tuple[int, ...] = ()  # 0-based positions in what was shown / offered
    refers_cheapest: bool = False
    refers_place: str | None = None  # "the one in Houston"
    picked: Option | None = None  # an option of the last list, chosen by position or title
    wants_recommendations: bool = False  # "what do you recommend", "what are my options"
    question: bool = False  # the message asks something


@dataclass
class LearnerProfile:
    skills: list[SkillFact] = field(default_factory=list)
    goal: GoalFact | None = None
    current_job: CurrentJobFact | None = None
    budget: str | None = None  # as knowledge.constraints.parse_budget
    cheap: bool = False
    weekly_hours: str | None = None
    format: str | None = None
    format_excluded: str | None = None
    place: PlaceFact | None = None
    schedule: tuple[str, ...] = ()
    childcare: bool | None = None
    transit: bool | None = None
    aid: tuple[str, ...] = ()
    education: str | None = None
    wants_degree: bool | None = None
    language: str | None = None  # a non-English language the learner wrote in
    asked: list[str] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    open_question: str | None = None
    repeated: bool = False  # the open question was already repeated once
    shown: list[Shown] = field(default_factory=list)  # the last list of records shown
    seen: list[str] = field(default_factory=list)  # every record id shown, first first
    options: list[Option] = field(default_factory=list)  # the last occupations offered
    last_list: str | None = None  # "shown" or "options": what "the second one" points to
    focus: str | None = None  # the record follow-ups are about
    turns: int = 0

    # ---- reading -----------------------------------------------------------------------------

    def has_skills(self) -> bool:
        return any(s.role == "has" for s in self.skills)

    def skill_labels(self, role: str = "has") -> list[str]:
        return [s.label for s in self.skills if s.role == role]

    def settled(self, topic: str) -> bool:
        """Answered or skipped: never asked again."""
        return topic in self.answered or topic in self.skipped

    # ---- folding a message in ----------------------------------------------------------------

    def apply(self, facts: MessageFacts) -> LearnerProfile:
        """A new profile with the message's facts folded in; what the message says wins."""
        p = dataclasses.replace(
            self,
            skills=list(self.skills),
            asked=list(self.asked),
            answered=list(self.answered),
            skipped=list(self.skipped),
            shown=list(self.shown),
            seen=list(self.seen),
            options=list(self.options),
        )
        p.turns += 1
        self._apply_skills(p, facts)
        if facts.goal is not None:
            p.goal = facts.goal
            p._answer("goal")
        elif facts.picked is not None:
            p.goal = GoalFact("occupation", facts.picked.title, code=facts.picked.code)
            p._answer("goal")
        if facts.current_job is not None:
            p.current_job = facts.current_job
            if p.has_skills() or facts.current_job.code:
                p._answer("experience")
        c = facts.constraints
        if c.budget is not None:
            p.budget = c.budget
            p._answer("budget")
        if c.cheap:
            p.cheap = True
        if c.weekly_hours is not None:
            p.weekly_hours = c.weekly_hours
        if c.format is not None:
            p.format = c.format
            p.format_excluded = None
        if c.format_excluded is not None:
            p.format_excluded = c.format_excluded
            if p.format == c.format_excluded:
                p.format = None
        if c.schedule:
            p.schedule = tuple(c.schedule)
            p._answer("schedule")
        if c.childcare is not None:
            p.childcare = c.childcare
        if c.transit is not None:
            p.transit = c.transit
        if c.aid:
            p.aid = tuple(dict.fromkeys((*p.aid, *c.aid)))
        if c.education is not None:
            p.education = c.education
        if c.wants_degree is not None:
            p.wants_degree = c.wants_degree
        if facts.place is not None:
            p.place = facts.place
            p._answer("place")
        if facts.language is not None:
            p.language = facts.language
        if p.has_skills():
            p._answer("experience")
        if facts.act == "skip" and p.open_question and not p.settled(p.open_question):
            p.skipped.append(p.open_question)
            p.open_question = None
        if p.open_question and p.settled(p.open_question):
            p.open_question = None
        return p

    @staticmethod
    def _apply_skills(p: LearnerProfile, facts: MessageFacts) -> None:
        gone = {s.lower() for s in facts.removed_skills}
        if gone:
            p.skills = [s for s in p.skills if s.label.lower() not in gone or s.role != "has"]
        for s in facts.skills:
            # A skill said again with another role ("I don't know SQL after all") moves.
            p.skills = [x for x in p.skills if x.label.lower() != s.label.lower()]
            p.skills.append(s)

    def _answer(self, topic: str) -> None:
        if topic not in self.answered:
            self.answered.append(topic)

    def ask(self, topic: str) -> None:
        """Record that ``topic`` is now the open question."""
        if topic not in self.asked:
            self.asked.append(topic)
        self.open_question = topic
        self.repeated = False

    def show(self, records: list[Shown]) -> None:
        self.shown = list(records)
        self.options = []  # offered before these records: no longer what "the nurse one" means
        self.seen += [r.id for r in records if r.id not in self.seen]
        self.last_list = "shown"
        self.focus = records[0].id if records else self.focus

    def offer(self, options: list[Option]) -> None:
        self.options = list(options)
        self.last_list = "options"

    # ---- one Rasa slot -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> LearnerProfile:
        """The profile kept in a slot; anything malformed or missing starts empty."""
        if not isinstance(data, dict):
            return cls()
        try:
            return _build(cls, data)
        except (TypeError, ValueError, KeyError, AttributeError):
            return cls()


# Which fields hold nested records, per class: (container or None, record type).
_NESTED: dict[str, dict[str, Any]] = {
    "LearnerProfile": {
        "skills": (list, SkillFact),
        "goal": (None, GoalFact),
        "current_job": (None, CurrentJobFact),
        "place": (None, PlaceFact),
        "shown": (list, Shown),
        "options": (list, Option),
    },
    "GoalFact": {"candidates": (tuple, Option)},
    "CurrentJobFact": {"civilian_options": (tuple, Option)},
}
_TUPLES = {"schedule", "aid"}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _build(cls: type, data: dict[str, Any]) -> Any:
    known = {f.name for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if name not in known:
            continue
        nested = _NESTED.get(cls.__name__, {}).get(name)
        if nested is not None and value is not None:
            container, inner = nested
            if container is None:
                value = _build(inner, value)
            else:
                value = container(_build(inner, v) for v in value)
        elif name in _TUPLES and value is not None:
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)
