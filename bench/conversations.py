"""Play the learner conversation set (``tests/conversations``) over Rasa's REST channel.

Run against a running stack: ``.venv/bin/python -m bench.conversations [--rasa-url URL]``.
Each conversation gets a fresh random sender; every turn's reply is judged by the checks in
``bench/conversation_checks.py``. Reports the share of turns answered as expected (all checks of
the turn pass; target >= 95%), turns to the first recommendation when the first message names a
goal (target 1 in every such conversation), the share of turns ending in a fallback (target
<= 2%), per capability tag and per family, and the failing turns with their transcript. Writes
``bench/results/conversations.json``.

Exit code: 0 whatever the numbers (they are the result); with ``--strict`` 1 when a target is
missed (``make test``); 2 when the stack cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench.conversation_checks import (
    CheckResult,
    Context,
    Conversation,
    Reply,
    advance,
    check_turn,
    is_fallback,
    is_recommendation,
    load_conversations,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SET = ROOT / "tests" / "conversations"
DEFAULT_OUT = ROOT / "bench" / "results" / "conversations.json"
TARGET_TURNS = 0.95
TARGET_FALLBACK = 0.02


@dataclass
class TurnOutcome:
    say: str
    messages: list[dict[str, Any]]
    results: list[CheckResult]
    recommended: bool
    fallback: bool
    ms: float

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def _tracker_slots(session: requests.Session, url: str, sender: str) -> dict[str, Any] | None:
    try:
        r = session.get(f"{url}/conversations/{sender}/tracker", timeout=30)
        return r.json().get("slots") if r.ok else None
    except (requests.RequestException, ValueError):
        return None


def play(conversation: Conversation, url: str, timeout: float = 60.0) -> list[TurnOutcome]:
    """Send every turn of one conversation as a new learner and judge each reply."""
    sender = f"conv-{conversation.id}-{uuid.uuid4().hex[:12]}"
    context = Context()
    outcomes: list[TurnOutcome] = []
    with requests.Session() as session:
        for turn in conversation.turns:
            t = time.perf_counter()
            r = session.post(
                f"{url}/webhooks/rest/webhook",
                json={"sender": sender, "message": turn.say},
                timeout=timeout,
            )
            ms = (time.perf_counter() - t) * 1000
            r.raise_for_status()
            messages = r.json() or []
            reply = Reply.from_rest(messages)
            if "slots" in turn.checks:
                context.slots = _tracker_slots(session, url, sender)
            results = check_turn(turn, reply, context)
            outcomes.append(
                TurnOutcome(
                    turn.say, messages, results, is_recommendation(reply), is_fallback(reply), ms
                )
            )
            advance(context, reply)
    return outcomes


def _transcript(outcomes: list[TurnOutcome]) -> list[dict[str, Any]]:
    out = []
    for o in outcomes:
        reply = Reply.from_rest(o.messages)
        out.append(
            {
                "user": o.say,
                "bot": list(reply.texts),
                "buttons": list(reply.buttons),
                "cards": [str(c.get("name")) for c in reply.cards],
            }
        )
    return out


def _share(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def summarise(played: list[tuple[Conversation, list[TurnOutcome]]]) -> dict[str, Any]:
    """The report: overall shares, turns to first recommendation, per tag / family, failures."""
    turns = [o for _, outs in played for o in outs]
    passed = sum(o.passed for o in turns)
    fallbacks = sum(o.fallback for o in turns)

    first_rec: dict[str, int | None] = {}
    for c, outs in played:
        if c.first_message_names_goal:
            first_rec[c.id] = next((i + 1 for i, o in enumerate(outs) if o.recommended), None)
    in_one = sum(v == 1 for v in first_rec.values())

    groups: dict[str, dict[str, dict[str, int]]] = {"tags": {}, "families": {}}
    for c, outs in played:
        keys = [("tags", t) for t in c.tags] + [("families", c.family)]
        for kind, key in keys:
            g = groups[kind].setdefault(key, defaultdict(int))
            g["conversations"] += 1
            g["conversations_passed"] += all(o.passed for o in outs)
            g["turns"] += len(outs)
            g["turns_passed"] += sum(o.passed for o in outs)
    per = {
        kind: {
            key: {**g, "turn_share": _share(g["turns_passed"], g["turns"])}
            for key, g in sorted(gs.items())
        }
        for kind, gs in groups.items()
    }

    failures = []
    for c, outs in played:
        for i, o in enumerate(outs):
            if not o.passed:
                failures.append(
                    {
                        "conversation": c.id,
                        "file": c.source,
                        "turn": i + 1,
                        "say": o.say,
                        "failed": [
                            {"check": r.check, "detail": r.detail}
                            for r in o.results
                            if not r.passed
                        ],
                        "transcript": _transcript(outs[: i + 1]),
                    }
                )
    ms = sorted(o.ms for o in turns)
    return {
        "conversations": len(played),
        "turns": len(turns),
        "turns_passed": passed,
        "turn_share": _share(passed, len(turns)),
        "fallback_turns": fallbacks,
        "fallback_share": _share(fallbacks, len(turns)),
        "first_message_goal": {
            "conversations": len(first_rec),
            "recommended_in_turn_1": in_one,
            "turns_to_first_recommendation": first_rec,
            "never_recommended": sorted(k for k, v in first_rec.items() if v is None),
        },
        "latency_ms": {
            "p50": round(ms[len(ms) // 2], 1) if ms else None,
            "p95": round(ms[min(len(ms) - 1, int(len(ms) * 0.95))], 1) if ms else None,
        },
        "targets": {
            "turn_share>=0.95": bool(turns) and passed / len(turns) >= TARGET_TURNS,
            "first_recommendation_in_turn_1": in_one == len(first_rec),
            "fallback_share<=0.02": bool(turns) and fallbacks / len(turns) <= TARGET_FALLBACK,
        },
        "per_tag": per["tags"],
        "per_family": per["families"],
        "failures": failures,
    }


def _print(report: dict[str, Any]) -> None:
    fg = report["first_message_goal"]
    print(
        f"conversations {report['conversations']}, turns {report['turns']}\n"
        f"turns answered as expected: {report['turns_passed']}/{report['turns']} "
        f"= {report['turn_share']} (target >= {TARGET_TURNS})\n"
        f"first message names a goal: recommended in turn 1 in {fg['recommended_in_turn_1']}/"
        f"{fg['conversations']} (target all)\n"
        f"fallback turns: {report['fallback_turns']} = {report['fallback_share']} "
        f"(target <= {TARGET_FALLBACK})\n"
        f"latency ms: {report['latency_ms']}"
    )
    for kind in ("per_tag", "per_family"):
        print(f"\n| {kind[4:]} | conversations ok | turns ok | share |\n|---|---|---|---|")
        for key, g in report[kind].items():
            print(
                f"| {key} | {g['conversations_passed']}/{g['conversations']} | "
                f"{g['turns_passed']}/{g['turns']} | {g['turn_share']} |"
            )
    for f in report["failures"]:
        print(f"\nFAIL {f['conversation']} ({f['file']}) turn {f['turn']}: {f['say']!r}")
        for r in f["failed"]:
            print(f"  - {r['check']}: {r['detail']}")
        for t in f["transcript"]:
            print(f"    learner: {t['user']}")
            for line in t["bot"]:
                print("    bot:     " + line.replace("\n", "\n             "))
            if t["buttons"]:
                print(f"    buttons: {t['buttons']}")
            if t["cards"]:
                print(f"    cards:   {t['cards']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.conversations", description=__doc__)
    ap.add_argument("--rasa-url", default="http://127.0.0.1:5005")
    ap.add_argument("--set", type=Path, default=DEFAULT_SET, help="folder of *.yaml conversations")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--only", help="regex on conversation ids")
    ap.add_argument("--concurrency", type=int, default=4, help="conversations played at once")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)

    url = args.rasa_url.rstrip("/")
    conversations = load_conversations(args.set)
    if args.only:
        conversations = [c for c in conversations if re.search(args.only, c.id)]
    try:
        requests.get(f"{url}/", timeout=10).raise_for_status()
    except requests.RequestException as e:
        print(f"Rasa is not reachable at {url}: {e}", file=sys.stderr)
        return 2

    with ThreadPoolExecutor(max_workers=max(1, args.concurrency)) as pool:
        played = list(
            zip(conversations, pool.map(lambda c: play(c, url), conversations), strict=True)
        )
    report = {"rasa_url": url, **summarise(played)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    _print(report)
    print(f"\nwrote {args.out}")
    if args.strict and not all(report["targets"].values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
