"""The issue #16 skill-extraction chat set: loads, is big enough, uses real taxonomy labels and
shares no utterance with the old chat set or the NLU training examples."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from bench.skills_eval import CHAT_SET, CHAT_SET_2026, ROLES
from knowledge.config import get_settings

ROOT = Path(__file__).resolve().parents[2]
_ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _items(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["items"]


def _nlu_examples() -> set[str]:
    out: set[str] = set()
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            examples = block.get("examples")
            if not isinstance(examples, str):
                continue
            for line in examples.splitlines():
                line = line.strip()
                if line.startswith("- "):
                    out.add(_norm(_ANNOTATION.sub(r"\1", line[2:])))
    return out


def test_new_set_loads_with_at_least_300_items_and_known_roles() -> None:
    items = _items(CHAT_SET_2026)
    assert len(items) >= 300
    texts = [_norm(i["text"]) for i in items]
    assert len(set(texts)) == len(texts), "duplicate utterances"
    for item in items:
        assert isinstance(item["text"], str) and item["text"].strip()
        skills = item["skills"]
        assert isinstance(skills, dict), item["text"]
        assert set(skills.values()) <= ROLES, item["text"]
    roles = {r for i in items for r in i["skills"].values()}
    assert roles == ROLES  # every role, asks included, is exercised
    assert sum(not i["skills"] for i in items) >= 30  # messages with no skill at all


def test_new_set_shares_no_text_with_old_set_or_nlu_training_data() -> None:
    new = {_norm(i["text"]) for i in _items(CHAT_SET_2026)}
    old = {_norm(i["text"]) for i in _items(CHAT_SET)}
    nlu = _nlu_examples()
    assert len(nlu) > 100  # the loader really read the training examples
    assert not new & old
    assert not new & nlu


def test_every_annotated_label_is_a_taxonomy_label() -> None:
    # The test settings point var/ at a temporary folder; the built file lives in the checkout.
    candidates = [get_settings().patterns_path, ROOT / "var" / "skill_patterns.json"]
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        pytest.skip(f"no skill patterns file at {candidates} (make build writes it)")
    labels = {s["label"] for s in json.loads(path.read_text(encoding="utf-8"))["skills"]}
    unknown = sorted(
        {
            alt
            for item in _items(CHAT_SET_2026)
            for key in item["skills"]
            for alt in key.split("|")
            if alt not in labels
        }
    )
    assert not unknown, unknown
