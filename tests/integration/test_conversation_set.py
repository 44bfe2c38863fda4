"""The learner conversation set (tests/conversations, issue 16) over REST against the real stack:
the bench's targets are the test's (>= 95% of turns as expected, recommendations in the first
turn of every conversation whose first message names a goal, <= 2% fallback turns)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.conversation_checks import load_conversations
from bench.conversations import DEFAULT_SET, play, summarise

pytestmark = pytest.mark.integration


def test_learner_conversations_meet_the_targets(stack):
    url = f"http://127.0.0.1:{stack.ports.rasa}"
    conversations = load_conversations(DEFAULT_SET)
    assert len(conversations) >= 120
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = pool.map(lambda c: play(c, url), conversations)
        played = list(zip(conversations, replies, strict=True))
    report = summarise(played)
    first = report["first_message_goal"]
    print(
        f"conversation set: {report['turns_passed']}/{report['turns']} turns as expected "
        f"({report['turn_share']:.1%}); first recommendation in turn 1 in "
        f"{first['recommended_in_turn_1']}/{first['conversations']}; "
        f"fallback turns {report['fallback_turns']} ({report['fallback_share']:.1%})"
    )
    failing = "\n".join(
        f"{f['conversation']} turn {f['turn']} ({f['say']!r}): "
        + "; ".join(x["check"] for x in f["failed"])
        for f in report["failures"]
    )
    assert report["targets"]["turn_share>=0.95"], failing
    assert report["targets"]["first_recommendation_in_turn_1"], first["never_recommended"]
    assert report["targets"]["fallback_share<=0.02"], failing
