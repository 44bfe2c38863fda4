"""The learner conversation set of issue #16: it loads strictly, covers what the issue asks, is
kept out of the NLU training data, and its checks judge hand-made replies correctly."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from bench.conversation_checks import (
    CAPABILITIES,
    NON_OCCUPATION_FAMILIES,
    Context,
    ConversationSetError,
    Reply,
    Turn,
    advance,
    check_turn,
    detect_language,
    is_fallback,
    is_recommendation,
    load_conversations,
    load_file,
    questions,
)

ROOT = Path(__file__).resolve().parents[2]
SET = ROOT / "tests" / "conversations"


@pytest.fixture(scope="module")
def conversations():
    return load_conversations(SET)


# --- the set --------------------------------------------------------------------------------


def test_set_size_families_and_capabilities(conversations):
    assert len(conversations) >= 120
    families = {c.family for c in conversations} - NON_OCCUPATION_FAMILIES
    assert len(families) >= 20, sorted(families)
    missing = CAPABILITIES - {t for c in conversations for t in c.tags}
    assert not missing, f"capabilities without a conversation: {sorted(missing)}"


def test_why_examples_are_all_there(conversations):
    firsts = {c.turns[0].say for c in conversations if "why_example" in c.tags}
    for text in (
        "I want to become a welder. What should I do?",
        "I drive for Uber and I want to get my CDL to drive trucks in Houston",
        "I'm a teacher and want to switch into IT help desk. I know Google Workspace and Excel",
        "what's the cheapest way to get into IT?",
        "I know Excel and want to become a data analyst",
        "Hola, quiero ser asistente médico",
    ):
        assert text in firsts
    assert any(s.startswith("I was an 11B infantry in the Army") for s in firsts)


def test_first_message_goal_conversations_check_the_first_turn(conversations):
    marked = [c for c in conversations if c.first_message_names_goal]
    assert len(marked) >= 40
    # A conversation tagged answer_first must be marked, so the bench measures it.
    for c in conversations:
        if "answer_first" in c.tags and c.turns[0].checks.get("recommends") is True:
            assert c.first_message_names_goal, c.id


def _normalise(text: str) -> str:
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text.lower())
    return re.sub(r"\s+", " ", text).strip()


_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def _nlu_examples() -> set[str]:
    out: set[str] = set()
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in doc.get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    out.add(_normalise(_ANNOTATION.sub(r"\1", line[2:])))
    return out


def test_normalise_and_annotations():
    raw = "  I know [Python](skill),  and SQL!! "
    assert _normalise(_ANNOTATION.sub(r"\1", raw)) == "i know python and sql"
    assert _normalise(_ANNOTATION.sub(r"\1", 'I know [Excel]{"entity": "skill"}')) == (
        "i know excel"
    )
    assert len(_nlu_examples()) > 100


def test_no_message_is_an_nlu_training_example(conversations):
    examples = _nlu_examples()
    clashes = [
        (c.source, c.id, i + 1, t.say)
        for c in conversations
        for i, t in enumerate(c.turns)
        if _normalise(t.say) in examples
    ]
    assert not clashes, f"messages that are NLU training examples: {clashes}"


# --- strict loading -------------------------------------------------------------------------


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_unknown_check_is_refused_naming_file_and_turn(tmp_path):
    path = _write(
        tmp_path,
        "family: welding\nconversations:\n  - id: w1\n    tags: [answer_first]\n    turns:\n"
        "      - say: welding\n        recommends: true\n      - say: cost?\n"
        "        recomends: true\n",
    )
    with pytest.raises(
        ConversationSetError, match=r"bad\.yaml: w1 turn 2: unknown check 'recomends'"
    ):
        load_file(path)


@pytest.mark.parametrize(
    ("turn", "message"),
    [
        ("say: x\n        asks: money", "asks"),
        ("say: x\n        mentions: '(unclosed'", "expected a non-empty list"),
        ("say: x\n        mentions: ['(unclosed']", "bad regex"),
        ("say: x\n        recommends_matching: {near: Nowhereville Q}", "go together"),
        (
            "say: x\n        recommends_matching: {near: 'Zzyzxqq, TX', within_miles: 5}",
            "unknown place",
        ),
        ("say: x\n        recommends_matching: {colour: red}", "unknown card condition"),
        ("say: x\n        refers_to: [0]", "not a position"),
        ("say: ''", "non-empty"),
    ],
)
def test_malformed_turns_are_refused(tmp_path, turn, message):
    path = _write(
        tmp_path,
        f"conversations:\n  - id: w1\n    family: hvac\n    tags: [fragment]\n    turns:\n      - {turn}\n",
    )
    with pytest.raises(ConversationSetError, match=message):
        load_file(path)


def test_unknown_tag_family_and_duplicate_ids_are_refused(tmp_path):
    base = (
        "conversations:\n  - id: a\n    family: {f}\n    tags: [{t}]\n    turns:\n      - say: hi\n"
    )
    with pytest.raises(ConversationSetError, match="unknown tag"):
        load_file(_write(tmp_path, base.format(f="hvac", t="answer_frist")))
    with pytest.raises(ConversationSetError, match="family 'hvak'"):
        load_file(_write(tmp_path, base.format(f="hvac", t="fragment").replace("hvac", "hvak")))
    (tmp_path / "bad.yaml").unlink()
    (tmp_path / "one.yaml").write_text(base.format(f="hvac", t="fragment"), encoding="utf-8")
    (tmp_path / "two.yaml").write_text(base.format(f="cna", t="fragment"), encoding="utf-8")
    with pytest.raises(ConversationSetError, match="two.yaml: id 'a' also in one.yaml"):
        load_conversations(tmp_path)


# --- checks on hand-made replies ------------------------------------------------------------

WELD_CARDS = {
    "custom": {
        "type": "credential_cards",
        "cards": [
            {
                "id": "etpl:1",
                "name": "Welding Technology Certificate",
                "provider": "St. Philip's College",
                "kind": "program",
                "cost_usd": 4524,
                "city": "San Antonio",
                "state": "TX",
            },
            {
                "id": "etpl:2",
                "name": "Combination Welding",
                "provider": "Lone Star College",
                "kind": "program",
                "cost_usd": 3100,
                "zip": "77338",
            },
            {"id": "c:3", "name": "AWS Certified Welder", "provider": "AWS", "cost_usd": None},
        ],
    }
}


def _reply(*messages: dict) -> Reply:
    return Reply.from_rest([{"recipient_id": "x", **m} for m in messages])


def _passed(checks: dict, reply: Reply, context: Context | None = None) -> dict[str, bool]:
    return {r.check: r.passed for r in check_turn(Turn("x", checks), reply, context)}


def test_recommendations_from_cards_or_numbered_options():
    assert is_recommendation(_reply({"text": "Here are three:"}, WELD_CARDS))
    assert is_recommendation(_reply({"text": "1. Welding AAS - $4,524\n2) Pipe welding - $900"}))
    assert not is_recommendation(_reply({"text": "What do you know how to do today?"}))
    assert not is_recommendation(_reply({"text": "1. Just one thing"}))


def test_card_conditions_place_kind_cost():
    reply = _reply({"text": "Welding near you:"}, WELD_CARDS)
    near_sa = {"name": "(?i)weld", "near": "San Antonio, TX", "within_miles": 40}
    assert _passed({"recommends_matching": near_sa}, reply)["recommends_matching"]
    # Lone Star (ZIP 77338, Humble) is near Houston, not San Antonio.
    near_hou = {"provider": "Lone Star", "near": "Houston, TX", "within_miles": 40}
    assert _passed({"recommends_matching": near_hou}, reply)["recommends_matching"]
    far = {"provider": "Lone Star", "near": "San Antonio, TX", "within_miles": 40}
    assert not _passed({"recommends_matching": far}, reply)["recommends_matching"]
    # A card with no place never counts as near.
    no_place = {"provider": "^AWS$", "near": "San Antonio, TX", "within_miles": 4000}
    assert not _passed({"recommends_matching": no_place}, reply)["recommends_matching"]
    assert _passed({"recommends_matching": {"kind": "program"}}, reply)["recommends_matching"]
    assert _passed({"not_recommends_matching": {"name": "(?i)osha"}}, reply)[
        "not_recommends_matching"
    ]
    # Unknown cost passes a budget; a known one above it fails.
    assert _passed({"all_cards_match": {"max_cost": 5000}}, reply)["all_cards_match"]
    assert not _passed({"all_cards_match": {"max_cost": 4000}}, reply)["all_cards_match"]
    assert not _passed({"all_cards_match": {"max_cost": 4000}}, _reply({"text": "hm"}))[
        "all_cards_match"
    ]


def test_questions_topics_and_count():
    reply = _reply({"text": "Here you go. Where do you live? A ZIP code works best."})
    assert questions(reply) == ["Where do you live?"]
    got = _passed({"asks": "place", "asks_at_most": 1}, reply)
    assert got["asks"] and got["asks_at_most"]
    assert not _passed({"asks": ["budget", "schedule"]}, reply)["asks"]
    two = _reply({"text": "What's your budget?\nAnd how many hours a week?"})
    assert not _passed({"asks_at_most": 1}, two)["asks_at_most"]
    assert not _passed({"asks": "goal"}, _reply({"text": "Welding programs below."}))["asks"]


def test_fallback_mentions_pay_buttons():
    assert is_fallback(_reply({"text": "Sorry, I didn't get that. Could you rephrase?"}))
    assert is_fallback(Reply())
    assert not is_fallback(_reply({"text": "I don't know that place; a ZIP code works best."}))
    assert not _passed({}, _reply({"text": "Sorry, I didn't understand you."}))["not_fallback"]
    assert "not_fallback" not in _passed({"not_fallback": False}, _reply({"text": "Sorry?"}))
    occupations = _reply(
        {"text": "A few ways in:", "buttons": [{"title": "CNA ($17/hr)"}, {"title": "EMT"}]}
    )
    got = _passed({"mentions_pay": True, "buttons_at_least": 2, "options_at_least": 3}, occupations)
    assert got == {"replied": True, "not_fallback": True, "mentions_pay": True,
                   "buttons_at_least": True, "options_at_least": False}  # fmt: skip
    # A price is not a wage.
    assert not _passed({"mentions_pay": True}, _reply({"text": "It costs $575."}))["mentions_pay"]
    assert _passed({"mentions_pay": True}, _reply({"text": "Median pay $48,000 a year"}))[
        "mentions_pay"
    ]
    costs = _reply({"text": "Here:"}, WELD_CARDS)
    got = _passed({"mentions": [r"\$\s?\d|4524"], "not_mentions": ["(?i)osha"]}, costs)
    assert got["mentions"] and got["not_mentions"]
    assert not _passed({"mentions_any": ["(?i)pell"]}, costs)["mentions_any"]


def test_refers_to_earlier_cards():
    context = Context()
    assert not _passed({"refers_to": [1]}, _reply({"text": "Ask me first"}), context)["refers_to"]
    advance(context, _reply({"text": "Here:"}, WELD_CARDS))
    compare = _reply(
        {"text": "Welding Technology Certificate costs $4,524; Combination Welding costs $3,100."}
    )
    assert _passed({"refers_to": [1, 2]}, compare, context)["refers_to"]
    assert _passed({"refers_to": ["cheapest"]}, compare, context)["refers_to"]
    only_first = _reply({"text": "Welding Technology Certificate costs $4,524."})
    assert not _passed({"refers_to": [1, 2]}, only_first, context)["refers_to"]
    assert not _passed({"refers_to": ["cheapest"]}, only_first, context)["refers_to"]
    # A turn without cards keeps what was shown before.
    advance(context, only_first)
    assert _passed({"refers_to": [2]}, compare, context)["refers_to"]


def test_slots_check():
    context = Context(slots={"goal_code": "51-4121.06", "budget": 500})
    assert _passed({"slots": {"goal_code": r"51-4121.*"}}, Reply(("ok",)), context)["slots"]
    assert not _passed({"slots": {"budget": "1000"}}, Reply(("ok",)), context)["slots"]
    assert not _passed({"slots": {"budget": "500"}}, Reply(("ok",)), Context())["slots"]


def test_language_check():
    try:
        detect_language("hola, ¿cómo estás?")
    except LookupError:
        pytest.skip("no language-identification package installed")
    es = _reply({"text": "Por ahora Stackwise solo habla inglés. ¿Quieres hablar con un asesor?"})
    assert _passed({"language": "es"}, es)["language"]
    en = _reply({"text": "Stackwise speaks English for now. Would you like an adviser?"})
    assert not _passed({"language": "es"}, en)["language"]


def test_summary_counts_turns_fallbacks_and_first_recommendation():
    from bench.conversation_checks import CheckResult, Conversation
    from bench.conversations import TurnOutcome, summarise

    def outcome(ok: bool, rec: bool, fb: bool = False) -> TurnOutcome:
        return TurnOutcome("x", [{"text": "y"}], [CheckResult("c", ok)], rec, fb, 10.0)

    a = Conversation("a", "welding", ("answer_first",), (), True, "w.yaml")
    b = Conversation("b", "hvac", ("no_goal",), (), True, "h.yaml")
    report = summarise(
        [(a, [outcome(True, True), outcome(False, False)]), (b, [outcome(True, False, True)] * 2)]
    )
    assert (report["turns"], report["turns_passed"], report["fallback_turns"]) == (4, 3, 2)
    assert report["first_message_goal"]["turns_to_first_recommendation"] == {"a": 1, "b": None}
    assert report["targets"] == {
        "turn_share>=0.95": False,
        "first_recommendation_in_turn_1": False,
        "fallback_share<=0.02": False,
    }
    assert report["per_family"]["hvac"]["turn_share"] == 1.0
    assert report["per_tag"]["answer_first"]["conversations_passed"] == 0
    assert [(f["conversation"], f["turn"]) for f in report["failures"]] == [("a", 2)]
