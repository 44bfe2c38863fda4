"""Search quality: nDCG@5 and recall@5 of BM25 alone, embeddings alone and the hybrid ranker.

Judgments are in ``bench/data/search_queries.yaml`` (learner-phrased queries, graded 2 = ideal,
1 = relevant), by curated id or by rules over record fields (``bench/search_judgments.py``): the
facts of every catalog record are built once per run and each query's grades and ideal top 5
come from the whole catalog. Each query goes through ``knowledge.query_plan.plan_query`` as the
bot's would (place -> near, budget -> max_cost, schedule -> flags, "online" -> format), and the
three rankers get the same filters. Reported overall and on the local, rule-judged and
curated-only subsets, with the ratio hybrid / max(BM25, embeddings). Also measures query
planning, query-embedding and ``CredentialSearch.search`` latency at the real catalog size.
Writes ``bench/results/search_quality.json`` and prints a markdown table.

    .venv/bin/python -m bench.search_quality
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.search_judgments import Query, grades, load_queries  # noqa: E402
from knowledge.query_plan import SearchPlan, plan_query  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
QUERIES = BENCH_DIR / "data" / "search_queries.yaml"
RESULTS = BENCH_DIR / "results" / "search_quality.json"
K = 5


def load_judgments(path: Path = QUERIES) -> list[Query]:
    """The judged queries, strictly validated (re-read every run: judgments may grow)."""
    return load_queries(path)


def ndcg_at(ranked: list[str], grades: dict[str, int], ideal: list[int], k: int = K) -> float:
    """nDCG@k with gain 2^grade - 1 and log2 discount; ``ideal`` is the catalog's best k grades."""
    dcg = sum((2 ** grades.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal[:k]))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], grades: dict[str, int], k: int = K) -> float:
    """Share of the relevant ids (grade >= 1) in the top k, out of min(k, number relevant)."""
    rel = {d for d, g in grades.items() if g > 0}
    return len(rel & set(ranked[:k])) / min(k, len(rel)) if rel else 0.0


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(values, dtype="float64"), p))


def place_point(text: str) -> tuple[float, float] | None:
    """The evaluator's place lookup ("San Antonio, TX", "78207") through the app's gazetteer."""
    from knowledge.places import Place, resolve_place

    place = resolve_place(text)
    return (place.lat, place.lon) if isinstance(place, Place) else None


def judgment_facts(search) -> list[dict[str, Any]]:
    """Every catalog record as the evaluator's facts dict (bench/search_judgments.py header),
    from the same facts the app shows (``CredentialSearch.facts``)."""
    from sqlalchemy import select

    from knowledge import schema

    facts = search.facts([d.id for d in search.docs])
    # The evaluator's occupations are the ones a source states; a program's codes reached
    # through the CIP-SOC crosswalk are links the build made.
    PO = schema.ProgramOccupation
    stated: dict[str, list[str]] = {}
    with search.engine.connect() as conn:
        for program_id, code in conn.execute(
            select(PO.program_id, PO.code).where(PO.rule == "stated")
        ):
            stated.setdefault(program_id, []).append(code)
    out = []
    for doc in search.docs:
        f = facts[doc.id]
        program = doc.kind == "program"
        cost = f["cost_usd"]
        if cost is None and f.get("free"):
            cost = 0.0
        if program:
            outcome = f["outcome"]
        elif f["source"] == "careeronestop":
            outcome = "industry_certification"
        else:
            outcome = f["type"]
        out.append(
            {
                "id": doc.id,
                "source": f["source"],
                "kind": doc.kind,
                "name": f["name"],
                "credential_name": f.get("credential_name"),
                "provider": f["provider"],
                "cip": f.get("cip"),
                # Stated occupations only (inferred CareerOneStop links are not facts).
                "occupations": stated.get(doc.id, []) if program else list(doc.occupation_codes),
                "outcome": outcome,
                "required_cost_usd": cost,
                "delivery": list(f.get("delivery") or ()),
                "offerings": [
                    {
                        key: o.get(key)
                        for key in (
                            "city",
                            "zip",
                            "lat",
                            "lon",
                            "delivery",
                            "flexible_hours",
                            "childcare",
                            "transit",
                        )
                    }
                    for o in f.get("offerings") or ()
                ],
                "pell_eligible": f.get("pell_eligible"),
            }
        )
    return out


def judge(queries: list[Query], all_facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per query: id -> grade over the whole catalog, and the ideal top-k grades."""
    resolve = functools.lru_cache(maxsize=None)(place_point)
    out = []
    for q in queries:
        if q.rules:
            found = grades(all_facts, q.rules, resolve_place=resolve, relevant=q.relevant)
        else:
            found = dict(q.relevant)
        out.append({"grades": found, "ideal": sorted(found.values(), reverse=True)[:K]})
    return out


def rankers(search) -> dict[str, Any]:
    """The three rankers, each a function SearchPlan -> ranked ids, under the same filters."""
    from knowledge import index as faiss_index

    docs = search.docs
    pos = {d.num: i for i, d in enumerate(docs)}

    def allowed_positions(plan: SearchPlan) -> np.ndarray | None:
        nums = search.allowed_nums(plan.filters.validate())
        return None if nums is None else np.array([pos[int(n)] for n in nums], dtype="int64")

    def bm25(plan: SearchPlan) -> list[str]:
        # The same lexical scoring the hybrid uses (normalized terms), on its own.
        scores = search.lexical_scores(search.expand_query(plan.text))
        allowed = allowed_positions(plan)
        if allowed is not None:
            masked = np.full_like(scores, -1.0)
            masked[allowed] = scores[allowed]
            scores = masked
        order = np.argsort(-scores, kind="stable")[:K]
        return [docs[i].id for i in order if scores[i] > 0]

    def embeddings(plan: SearchPlan) -> list[str]:
        allowed = search.allowed_nums(plan.filters.validate())
        _scores, nums = faiss_index.search(
            search.index, search.query_vector(search.expand_query(plan.text)), K, allowed
        )
        return [search.by_num[int(n)].id for n in nums]

    def hybrid(plan: SearchPlan) -> list[str]:
        return [r.id for r in search.search(plan.text, k=K, filters=plan.filters, hints=plan.hints)]

    return {"bm25": bm25, "embeddings": embeddings, "hybrid": hybrid}


def _given(value: Any) -> bool:
    return value is not None and value is not False  # 0.0 (a budget of $0) is given


SUBSETS = {
    "all": lambda q: True,
    "local": lambda q: "local" in q.tags,
    "rules": lambda q: bool(q.rules),
    "curated_only": lambda q: not q.rules,
}


def evaluate(
    search, queries: list[Query], judged: list[dict[str, Any]], *, plan: bool = True
) -> dict[str, Any]:
    """Every query through the three rankers; ``plan=False`` searches the raw text unfiltered
    (what the numbers were before query planning)."""
    plans = [plan_query(q.q) if plan else SearchPlan(text=q.q) for q in queries]
    scores: dict[str, list[tuple[float, float]]] = {}
    per_query: list[dict[str, Any]] = [
        {
            "q": q.q,
            "tags": list(q.tags),
            "search_text": p.text,
            "filters": {k: v for k, v in vars(p.filters).items() if v not in (None, False)},
            "hints": {k: v for k, v in vars(p.hints).items() if v not in (None, False)},
            "ideal": j["ideal"],
        }
        for q, p, j in zip(queries, plans, judged, strict=True)
    ]
    for name, rank in rankers(search).items():
        scores[name] = []
        for row, plan, j in zip(per_query, plans, judged, strict=True):
            ranked = rank(plan)
            nd = ndcg_at(ranked, j["grades"], j["ideal"])
            rc = recall_at(ranked, j["grades"])
            scores[name].append((nd, rc))
            row[name] = {
                "ndcg": round(nd, 4),
                "top": [[d, j["grades"].get(d, 0)] for d in ranked],
            }
    metrics: dict[str, Any] = {}
    for subset, keep in SUBSETS.items():
        idx = [i for i, q in enumerate(queries) if keep(q)]
        m: dict[str, Any] = {"queries": len(idx)}
        for name, rows in scores.items():
            m[name] = {
                "ndcg@5": round(float(np.mean([rows[i][0] for i in idx])), 4) if idx else None,
                "recall@5": round(float(np.mean([rows[i][1] for i in idx])), 4) if idx else None,
            }
        best_single = max(m["bm25"]["ndcg@5"] or 0.0, m["embeddings"]["ndcg@5"] or 0.0)
        m["ratio"] = round(m["hybrid"]["ndcg@5"] / best_single, 3) if best_single else None
        metrics[subset] = m
    return {"metrics": metrics, "per_query": per_query}


def latency(search, queries: list[Query], repeats: int = 3) -> dict[str, Any]:
    """Query planning, query embedding, and CredentialSearch.search end to end (in process)."""
    texts = [q.q for q in queries]
    for t in texts[:10]:  # warm up
        plan = plan_query(t)
        search.search(plan.text, k=K, filters=plan.filters, hints=plan.hints)
    planned, emb, full = [], [], []
    for _ in range(repeats):
        for t in texts:
            start = time.perf_counter()
            plan = plan_query(t)
            planned.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            search.encoder.encode_query(plan.text)
            emb.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            search.search(plan.text, k=K, filters=plan.filters, hints=plan.hints)
            full.append((time.perf_counter() - start) * 1000)

    def summary(values: list[float]) -> dict[str, float]:
        return {"p50": round(pct(values, 50), 2), "p95": round(pct(values, 95), 2)}

    return {
        "queries": len(emb),
        "plan_ms": summary(planned),
        "embed_ms": summary(emb),
        "search_ms": summary(full),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=Path, default=QUERIES)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--no-latency", action="store_true", help="skip the latency measurements")
    ap.add_argument(
        "--no-plan", action="store_true", help="search the raw query text without filters"
    )
    args = ap.parse_args(argv)

    from knowledge.services import get_services

    svc = get_services()
    search = svc.search
    queries = load_judgments(args.queries)
    t = time.perf_counter()
    judged = judge(queries, judgment_facts(search))
    judge_s = time.perf_counter() - t
    result = evaluate(search, queries, judged, plan=not args.no_plan)
    result["query_plan"] = not args.no_plan
    result["queries"] = len(queries)
    result["catalog_size"] = len(search.docs)
    result["judging_s"] = round(judge_s, 1)
    result["weights"] = dict(vars(search.weights))
    if not args.no_latency:
        result["latency"] = latency(search, queries)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")

    m = result["metrics"]
    print(f"\nSearch quality ({len(queries)} queries, {len(search.docs)} records)\n")
    print("| subset | queries | BM25 nDCG/recall | embeddings | hybrid | ratio |")
    print("|---|---|---|---|---|---|")
    for subset, row in m.items():
        cells = [
            f"{row[r]['ndcg@5']:.3f} / {row[r]['recall@5']:.3f}"
            for r in ("bm25", "embeddings", "hybrid")
        ]
        print(f"| {subset} | {row['queries']} | " + " | ".join(cells) + f" | {row['ratio']} |")
    if "latency" in result:
        lat = result["latency"]
        print(
            f"\nplan p95 {lat['plan_ms']['p95']} ms; query embedding p50/p95 "
            f"{lat['embed_ms']['p50']}/{lat['embed_ms']['p95']} ms; CredentialSearch.search "
            f"p50/p95 {lat['search_ms']['p50']}/{lat['search_ms']['p95']} ms"
        )
    print(f"results in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
