"""Search quality: nDCG@5 and recall@5 of BM25 alone, embeddings alone and the hybrid ranker.

Judgments are in ``bench/data/search_queries.yaml`` (learner-phrased queries, graded 2 = ideal,
1 = relevant). Also measures query-embedding latency and ``CredentialSearch.search`` latency at
the real catalog size. Writes ``bench/results/search_quality.json`` and prints a markdown table.

    .venv/bin/python -m bench.search_quality
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BENCH_DIR = Path(__file__).resolve().parent
QUERIES = BENCH_DIR / "data" / "search_queries.yaml"
RESULTS = BENCH_DIR / "results" / "search_quality.json"
K = 5


def load_judgments(path: Path = QUERIES) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [{"q": q["q"], "relevant": dict(q["relevant"])} for q in data["queries"]]


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int = K) -> float:
    """nDCG@k with gain 2^grade - 1 and log2 discount."""
    dcg = sum((2 ** grades.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], grades: dict[str, int], k: int = K) -> float:
    """Share of the relevant ids (grade >= 1) in the top k, out of min(k, number relevant)."""
    rel = {d for d, g in grades.items() if g > 0}
    return len(rel & set(ranked[:k])) / min(k, len(rel)) if rel else 0.0


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(values, dtype="float64"), p))


def rankers(search) -> dict[str, Any]:
    """The three rankers, each a function query -> ranked credential ids."""
    from knowledge import index as faiss_index

    docs = search.docs

    def bm25(q: str) -> list[str]:
        # The same lexical scoring the hybrid uses (normalized terms), on its own.
        scores = search.lexical_scores(q)
        order = np.argsort(-scores, kind="stable")[:K]
        return [docs[i].id for i in order if scores[i] > 0]

    def embeddings(q: str) -> list[str]:
        _scores, nums = faiss_index.search(search.index, search.encoder.encode_query(q), K)
        return [search.by_num[int(n)].id for n in nums]

    def hybrid(q: str) -> list[str]:
        return [r.id for r in search.search(q, k=K)]

    return {"bm25": bm25, "embeddings": embeddings, "hybrid": hybrid}


def evaluate(search, judgments: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    per_query: dict[str, list[dict[str, Any]]] = {}
    for name, rank in rankers(search).items():
        nd, rc = [], []
        rows = []
        for j in judgments:
            ranked = rank(j["q"])
            nd.append(ndcg_at(ranked, j["relevant"]))
            rc.append(recall_at(ranked, j["relevant"]))
            rows.append({"q": j["q"], "top": ranked, "ndcg": round(nd[-1], 4)})
        out[name] = {
            "ndcg@5": round(float(np.mean(nd)), 4),
            "recall@5": round(float(np.mean(rc)), 4),
        }
        per_query[name] = rows
    return {"metrics": out, "per_query": per_query}


def latency(search, judgments: list[dict[str, Any]], repeats: int = 3) -> dict[str, Any]:
    """Query embedding alone, and CredentialSearch.search end to end (in process)."""
    queries = [j["q"] for j in judgments]
    for q in queries[:10]:  # warm up
        search.search(q, k=K)
    emb, full = [], []
    for _ in range(repeats):
        for q in queries:
            t = time.perf_counter()
            search.encoder.encode_query(q)
            emb.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            search.search(q, k=K)
            full.append((time.perf_counter() - t) * 1000)
    return {
        "queries": len(emb),
        "embed_ms": {"p50": round(pct(emb, 50), 2), "p95": round(pct(emb, 95), 2)},
        "search_ms": {"p50": round(pct(full, 50), 2), "p95": round(pct(full, 95), 2)},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=Path, default=QUERIES)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--no-latency", action="store_true", help="skip the latency measurements")
    args = ap.parse_args(argv)

    from knowledge.services import get_services

    svc = get_services()
    search = svc.search
    judgments = load_judgments(args.queries)
    result = evaluate(search, judgments)
    result["queries"] = len(judgments)
    result["catalog_size"] = len(search.docs)
    result["weights"] = vars(search.weights) if hasattr(search.weights, "__dict__") else {}
    if not args.no_latency:
        result["latency"] = latency(search, judgments)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")

    m = result["metrics"]
    print(f"\nSearch quality ({len(judgments)} queries, {len(search.docs)} credentials)\n")
    print("| ranker | nDCG@5 | recall@5 |\n|---|---|---|")
    for name in ("bm25", "embeddings", "hybrid"):
        print(f"| {name} | {m[name]['ndcg@5']:.3f} | {m[name]['recall@5']:.3f} |")
    if "latency" in result:
        lat = result["latency"]
        print(
            f"\nquery embedding p50/p95 {lat['embed_ms']['p50']}/{lat['embed_ms']['p95']} ms; "
            f"CredentialSearch.search p50/p95 {lat['search_ms']['p50']}/"
            f"{lat['search_ms']['p95']} ms"
        )
    hybrid_wins = all(m["hybrid"]["ndcg@5"] > m[o]["ndcg@5"] for o in ("bm25", "embeddings"))
    print(f"hybrid beats both on nDCG@5: {hybrid_wins}; results in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
