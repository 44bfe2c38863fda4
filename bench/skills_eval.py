"""Evaluate the skill extractor: chat set quality, speed, SkillSpan and ESCO-linking references.

Run: ``.venv/bin/python -m bench.skills_eval [--patterns PATH] [--out PATH]``

* Chat set (``bench/data/skills_chat_eval.yaml``): micro precision / recall / F1 over
  (utterance, canonical skill) pairs and role accuracy over the correctly found skills.
* Chat set 2026 (``bench/data/skills_chat_eval_2026.yaml``, written for issue #16 and never used
  to tune): the same figures under ``chat_2026``. Its ``asks`` role (a skill named only in a
  question) is not a gold pair: predicting it as ``wants`` or not at all is fine, as ``has`` or
  ``lacks`` it is a false positive and a question error. Both sets also report negation errors:
  found skills whose role is ``lacks`` on one side (gold or predicted) and not on the other.
* Speed: messages per second on one core (the process is pinned to one CPU where the OS allows),
  p50 / p95 milliseconds per message and the load time of the extractor.
* SkillSpan dev (job-ad sentences, ``../shared/data/eval/skillspan/*_dev.conll``): span-level
  P/R/F1, exact and partial overlap, skill and knowledge columns merged. A reference point only:
  the extractor looks for taxonomy names, not for every skill phrase an annotator marks.
* ESCO-linking validation (``../shared/data/eval/esco-linking/*_validation_annotations.csv``):
  for spans whose gold ESCO label is in our taxonomy, the share for which the extractor finds
  that skill on the span (and, looser, anywhere in the sentence).

Writes ``bench/results/skills.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from knowledge.config import get_settings
from knowledge.taxonomy import skill_key

ROOT = Path(__file__).resolve().parent.parent

BENCH_DIR = Path(__file__).resolve().parent
CHAT_SET = BENCH_DIR / "data" / "skills_chat_eval.yaml"
CHAT_SET_2026 = BENCH_DIR / "data" / "skills_chat_eval_2026.yaml"
ROLES = frozenset({"has", "lacks", "wants", "asks"})
RESULTS = BENCH_DIR / "results" / "skills.json"


def ensure_patterns(path: Path) -> Path:
    """Write the patterns JSON from the real taxonomy when it does not exist yet."""
    if path.exists():
        return path
    from knowledge.build import load_taxonomy, write_skill_patterns

    path.parent.mkdir(parents=True, exist_ok=True)
    write_skill_patterns(load_taxonomy(get_settings()), path, "bench")
    return path


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


# --- chat set ---------------------------------------------------------------------------------


def eval_chat(extractor: Any, label_to_id: dict[str, str], path: Path = CHAT_SET) -> dict[str, Any]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    tp = n_pred = n_gold = role_ok = negation_errors = question_errors = 0
    errors: list[dict[str, Any]] = []
    for item in items:
        alternatives: list[tuple[list[str], str]] = []
        for labels, role in (item.get("skills") or {}).items():
            ids = [label_to_id[x] for x in labels.split("|") if x in label_to_id]
            if not ids:
                raise ValueError(f"chat set label {labels!r} is not a taxonomy label")
            if role not in ROLES:
                raise ValueError(f"chat set role {role!r} ({item['text']!r}) is not one of {ROLES}")
            alternatives.append((ids, role))
        pred = {m.skill_id: m.role for m in extractor.extract(item["text"])}
        # "A|B": near-duplicate taxonomy skills; the predicted one (if any) stands for the item.
        gold: dict[str, str] = {}
        asked: set[str] = set()
        for ids, role in alternatives:
            sid = next((i for i in ids if i in pred), ids[0])
            if role == "asks":
                asked.add(sid)
            else:
                gold[sid] = role
        # A skill named only in a question: "wants" (or nothing) is fine, a claim is not.
        asked_claims = sorted(s for s in asked if pred.get(s) in ("has", "lacks"))
        question_errors += len(asked_claims)
        pred = {s: r for s, r in pred.items() if s not in asked or s in asked_claims}
        n_pred += len(pred)
        n_gold += len(gold)
        hits = set(pred) & set(gold)
        tp += len(hits)
        role_ok += sum(pred[s] == gold[s] for s in hits)
        negation_errors += sum((pred[s] == "lacks") != (gold[s] == "lacks") for s in hits)
        missed = sorted(set(gold) - hits)
        spurious = sorted(
            f"{s}: {pred[s]} (gold asks)" if s in asked else s for s in set(pred) - hits
        )
        wrong_role = sorted(f"{s}: {pred[s]} (gold {gold[s]})" for s in hits if pred[s] != gold[s])
        if missed or spurious or wrong_role:
            errors.append(
                {
                    "text": item["text"],
                    "missed": missed,
                    "spurious": spurious,
                    "wrong_role": wrong_role,
                }
            )
    out = _prf(tp, n_pred, n_gold)
    out.update(
        utterances=len(items),
        gold=n_gold,
        predicted=n_pred,
        true_positives=tp,
        role_accuracy=round(role_ok / tp, 4) if tp else 0.0,
        negation_errors=negation_errors,
        errors=errors,
    )
    if asked_total := sum(
        role == "asks" for i in items for role in (i.get("skills") or {}).values()
    ):
        out.update(asked=asked_total, question_errors=question_errors)
    return out


# --- speed ------------------------------------------------------------------------------------


def background_texts() -> list[str]:
    """Other people's messages: the NLU training examples (annotations stripped). Not the chat
    evaluation set, so they share vocabulary with it, not sentences."""
    import re

    out: list[str] = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line.startswith("- ") and ":" not in line[:12]:
                text = re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", line[2:]).strip()
                if text:
                    out.append(text)
    return out


def eval_speed(
    extractor: Any,
    texts: list[str],
    seconds: float = 3.0,
    background: list[str] | None = None,
    rounds: int = 15,
) -> dict[str, float]:
    """Throughput and latency on the chat set. The extractor caches the tokens of each
    whitespace-separated chunk; looping over the same 250 messages would make every chunk a cache
    hit. So before each timed pass the cache is emptied and refilled from ``background`` (other
    messages, untimed), as in a server that has seen other traffic: only shared vocabulary hits.
    The all-hits figure is reported separately as ``messages_per_s_warm_cache``.

    A round is one pass over the messages (a few milliseconds), so one busy moment of a shared
    machine sinks it: the median of ``rounds`` rounds is the figure to compare with a target,
    the best round shows what the code does undisturbed."""
    clear_cache = getattr(extractor, "clear_token_cache", lambda: None)
    background = background or []

    def clear() -> None:
        clear_cache()
        for b in background:
            extractor.extract(b)

    for t in texts:  # warm-up (imports, lazy tables)
        extractor.extract(t)
    lat: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        clear()
        for t in texts:
            t0 = time.perf_counter()
            extractor.extract(t)
            lat.append(time.perf_counter() - t0)
    total = sum(lat)  # time inside extract() only, not the untimed cache refills
    n = len(lat)
    lat.sort()
    # Throughput without the per-call timer overhead, per round (shared machines are noisy).
    rates: list[float] = []
    warm: list[float] = []
    for _ in range(rounds):
        clear()
        t0 = time.perf_counter()
        for t in texts:
            extractor.extract(t)
        rates.append(len(texts) / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for t in texts:
            extractor.extract(t)
        warm.append(len(texts) / (time.perf_counter() - t0))
    throughput = max(rates)
    return {
        "messages_per_s": round(throughput, 1),
        "messages_per_s_median_round": round(statistics.median(rates), 1),
        "rounds": rounds,
        "messages_per_s_warm_cache": round(statistics.median(warm), 1),
        "messages_per_s_timed_loop": round(n / total, 1),
        "p50_ms": round(lat[len(lat) // 2] * 1000, 4),
        "p95_ms": round(lat[int(len(lat) * 0.95)] * 1000, 4),
        "max_ms": round(lat[-1] * 1000, 4),
        "mean_chars": round(statistics.mean(len(t) for t in texts), 1),
    }


# --- SkillSpan --------------------------------------------------------------------------------


def _bio_spans(tags: list[str]) -> set[tuple[int, int]]:
    spans: set[tuple[int, int]] = set()
    start = None
    for i, tag in enumerate([*tags, "O"]):
        if tag.startswith("B") or tag == "O" or (tag.startswith("I") and start is None):
            if start is not None:
                spans.add((start, i))
                start = None
            if tag.startswith(("B", "I")):
                start = i
    return spans


def read_conll(path: Path) -> list[tuple[list[str], set[tuple[int, int]]]]:
    sents: list[tuple[list[str], set[tuple[int, int]]]] = []
    toks: list[str] = []
    skill: list[str] = []
    know: list[str] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        parts = line.split("\t")
        if not line.strip() or len(parts) < 3:
            if toks:
                sents.append((toks, _bio_spans(skill) | _bio_spans(know)))
            toks, skill, know = [], [], []
            continue
        toks.append(parts[0])
        skill.append(parts[1])
        know.append(parts[2])
    return sents


def eval_skillspan(extractor: Any, files: list[Path]) -> dict[str, Any]:
    gold_n = pred_n = exact = pred_overlap = gold_overlap = 0
    for path in files:
        for toks, gold in read_conll(path):
            offsets: list[int] = []
            pos = 0
            for t in toks:
                offsets.append(pos)
                pos += len(t) + 1
            text = " ".join(toks)
            pred: set[tuple[int, int]] = set()
            for m in extractor.extract(text):
                idx = [i for i, o in enumerate(offsets) if m.start <= o < m.end]
                if idx:
                    pred.add((idx[0], idx[-1] + 1))
            gold_n += len(gold)
            pred_n += len(pred)
            exact += len(gold & pred)
            pred_overlap += sum(any(p[0] < g[1] and g[0] < p[1] for g in gold) for p in pred)
            gold_overlap += sum(any(p[0] < g[1] and g[0] < p[1] for p in pred) for g in gold)
    ex = _prf(exact, pred_n, gold_n)
    pp = pred_overlap / pred_n if pred_n else 0.0
    pr = gold_overlap / gold_n if gold_n else 0.0
    pf = 2 * pp * pr / (pp + pr) if pp + pr else 0.0
    return {
        "files": [p.name for p in files],
        "gold_spans": gold_n,
        "predicted_spans": pred_n,
        "exact": ex,
        "partial": {"precision": round(pp, 4), "recall": round(pr, 4), "f1": round(pf, 4)},
    }


# --- ESCO linking -----------------------------------------------------------------------------


def eval_esco_linking(extractor: Any, key_to_id: dict[str, str], files: list[Path]) -> dict:
    considered = span_hits = sent_hits = not_in_taxonomy = 0
    for path in files:
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                label = (row.get("label") or "").strip()
                if not label or label in {"LABEL NOT PRESENT", "UNDERSPECIFIED"}:
                    continue
                sid = key_to_id.get(skill_key(label))
                if sid is None:
                    not_in_taxonomy += 1
                    continue
                considered += 1
                sentence, span = row["sentence"], row["span"].strip()
                mentions = extractor.extract(sentence)
                found = [m for m in mentions if m.skill_id == sid]
                if found:
                    sent_hits += 1
                start = sentence.find(span) if span else -1
                end = start + len(span)
                if start >= 0 and any(m.start < end and start < m.end for m in found):
                    span_hits += 1
    return {
        "files": [p.name for p in files],
        "spans_with_label_in_taxonomy": considered,
        "spans_with_label_not_in_taxonomy": not_in_taxonomy,
        "recall_on_span": round(span_hits / considered, 4) if considered else 0.0,
        "recall_in_sentence": round(sent_hits / considered, 4) if considered else 0.0,
    }


# --- main -------------------------------------------------------------------------------------


def _taxonomy_maps(payload: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """label -> id, and normalized key (labels first, then aliases) -> id."""
    label_to_id: dict[str, str] = {}
    key_to_id: dict[str, str] = {}
    for s in payload["skills"]:
        label_to_id.setdefault(s["label"], s["id"])
        key_to_id.setdefault(skill_key(s["label"]), s["id"])
    for s in payload["skills"]:
        for alias in s.get("aliases") or []:
            for a in alias.split(" | "):
                key_to_id.setdefault(skill_key(a), s["id"])
    return label_to_id, key_to_id


def _pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patterns", type=Path, default=get_settings().patterns_path)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--errors", action="store_true", help="print the chat set errors")
    args = ap.parse_args(argv)

    pinned = _pin_one_core()
    patterns = ensure_patterns(args.patterns)
    t0 = time.perf_counter()
    from knowledge.skills import SkillExtractor  # noqa: E402 - import time is reported apart

    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    extractor = SkillExtractor.from_patterns_file(patterns)
    load_s = time.perf_counter() - t0
    payload = json.loads(patterns.read_text(encoding="utf-8"))
    label_to_id, key_to_id = _taxonomy_maps(payload)

    chat = eval_chat(extractor, label_to_id)
    chat_2026 = eval_chat(extractor, label_to_id, CHAT_SET_2026)
    texts = [i["text"] for i in yaml.safe_load(CHAT_SET.read_text(encoding="utf-8"))["items"]]
    speed = eval_speed(extractor, texts, background=background_texts())
    speed.update(load_s=round(load_s, 3), import_s=round(import_s, 3), cpu=pinned)

    eval_dir = get_settings().shared_data_dir / "eval"
    span_files = sorted((eval_dir / "skillspan").glob("*_dev.conll"))
    link_files = sorted((eval_dir / "esco-linking").glob("*_validation_annotations.csv"))
    skillspan = eval_skillspan(extractor, span_files) if span_files else {"skipped": True}
    linking = (
        eval_esco_linking(extractor, key_to_id, link_files) if link_files else {"skipped": True}
    )

    results = {
        "patterns": str(patterns),
        "fingerprint": extractor.fingerprint,
        "skills_loaded": len(extractor),
        "chat": chat,
        "chat_2026": chat_2026,
        "speed": speed,
        "skillspan_dev": skillspan,
        "esco_linking_validation": linking,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")

    rows = [
        ("Chat precision", chat["precision"]),
        ("Chat recall", chat["recall"]),
        ("Chat F1", chat["f1"]),
        ("Chat role accuracy", chat["role_accuracy"]),
        ("Chat utterances / gold skills", f"{chat['utterances']} / {chat['gold']}"),
        ("Chat negation errors", chat["negation_errors"]),
        ("Chat 2026 precision", chat_2026["precision"]),
        ("Chat 2026 recall", chat_2026["recall"]),
        ("Chat 2026 F1", chat_2026["f1"]),
        ("Chat 2026 role accuracy", chat_2026["role_accuracy"]),
        ("Chat 2026 negation errors", chat_2026["negation_errors"]),
        (
            "Chat 2026 question errors (asked skills read as has/lacks)",
            f"{chat_2026.get('question_errors', 0)} of {chat_2026.get('asked', 0)}",
        ),
        (
            "Chat 2026 utterances / gold skills",
            f"{chat_2026['utterances']} / {chat_2026['gold']}",
        ),
        (
            f"Speed (messages/s, one core), median / best of {speed['rounds']} rounds",
            f"{speed['messages_per_s_median_round']} / {speed['messages_per_s']}",
        ),
        ("Latency p50 / p95 (ms)", f"{speed['p50_ms']} / {speed['p95_ms']}"),
        ("Load time (s)", speed["load_s"]),
    ]
    if "exact" in skillspan:
        ex, pa = skillspan["exact"], skillspan["partial"]
        rows += [
            ("SkillSpan dev exact P / R / F1", f"{ex['precision']} / {ex['recall']} / {ex['f1']}"),
            (
                "SkillSpan dev partial P / R / F1",
                f"{pa['precision']} / {pa['recall']} / {pa['f1']}",
            ),
        ]
    if "recall_on_span" in linking:
        rows += [
            (
                "ESCO-linking recall on span (labels in taxonomy)",
                f"{linking['recall_on_span']} (n={linking['spans_with_label_in_taxonomy']})",
            ),
            ("ESCO-linking recall in sentence", linking["recall_in_sentence"]),
        ]
    print("| Metric | Value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    if args.errors:
        for name, res in (("chat", chat), ("chat_2026", chat_2026)):
            for e in res["errors"]:
                print(json.dumps({"set": name, **e}), file=sys.stderr)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
