"""Search at scale: build time, memory, latency and recall of the FAISS index at 10k-1M entries.

Embedding a million texts with MiniLM on two cores would take hours, so the synthetic catalogs
are derived in vector space from real embeddings (all from the same model):

* the real credential vectors (``var/embeddings.npz``, i.e. what ``stackwise build`` indexes),
* the embeddings of every skill label in the taxonomy (O*NET + ESCO, ~11k labels, encoded once and
  cached in ``var/bench/skill_embeddings.npz``).

A synthetic entry is "a variant of a real credential": one real credential vector, plus 2-4 skill
vectors drawn from the 40 skill labels nearest to that credential (and, one time in three, one
random skill from anywhere in the taxonomy), with random weights, plus Gaussian noise, then
L2-normalized. This keeps the cluster structure of the real catalog (many variants per topic,
overlapping topics) rather than uniform random points, which would be unrealistically easy or
hard for an approximate index. 10k and 100k are prefixes of the 1M set (cached as
``var/bench/synthetic_<n>.npy``).

Held-out queries are never in the index: the embeddings of the learner queries in
``bench/data/search_queries.yaml``, real credential vectors with noise added, and fresh synthetic
entries drawn with another seed. Recall@10 is measured against exact inner-product search.

    .venv/bin/python -m bench.search_scale [--sizes 10000 100000 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import faiss  # noqa: E402

from knowledge import index as kindex  # noqa: E402
from knowledge.embed import DIM  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "search_scale.json"
SIZES = (10_000, 100_000, 1_000_000)
K = 10
NEAR_SKILLS = 40
NOISE = 0.25  # norm of the Gaussian noise added to a unit-norm mix (before renormalizing)


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(values, dtype="float64"), p))


# -- real vectors ------------------------------------------------------------------------------
def real_vectors(settings) -> tuple[np.ndarray, np.ndarray]:
    """(credential vectors, skill-label vectors), all from the same MiniLM model."""
    from sqlalchemy import select

    from knowledge import schema
    from knowledge.db import make_engine
    from knowledge.documents import load_documents
    from knowledge.embed import EmbeddingCache, Encoder

    engine = make_engine(settings.database_url)
    try:
        docs = load_documents(engine)
        with engine.connect() as conn:
            labels = sorted({r for r in conn.execute(select(schema.Skill.label)).scalars() if r})
    finally:
        engine.dispose()
    encoder = Encoder()
    cred_cache = EmbeddingCache(settings.var_dir / "embeddings.npz")
    creds, fresh = cred_cache.embed(encoder, [d.text for d in docs])
    if fresh:
        print(f"  embedded {fresh} credential texts missing from the build cache")
    skill_cache = EmbeddingCache(settings.var_dir / "bench" / "skill_embeddings.npz")
    t = time.perf_counter()
    skills, fresh = skill_cache.embed(encoder, labels)
    if fresh:
        skill_cache.save()
        print(f"  embedded {fresh} skill labels in {time.perf_counter() - t:.0f}s (cached)")
    return creds, skills


def query_vectors(creds: np.ndarray, skills: np.ndarray, seed: int = 7) -> dict[str, np.ndarray]:
    """Held-out query sets (none of these vectors is in any index)."""
    from bench.search_quality import load_judgments
    from knowledge.embed import Encoder

    rng = np.random.default_rng(seed)
    learner = Encoder().encode([j["q"] for j in load_judgments()])
    picks = rng.integers(0, len(creds), 200)
    noisy = creds[picks] + rng.normal(size=(200, DIM)).astype("float32") * (0.3 / np.sqrt(DIM))
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    fresh = synthesize(200, creds, skills, seed=seed + 1000)
    return {
        "learner": np.ascontiguousarray(learner, dtype="float32"),
        "perturbed_credential": np.ascontiguousarray(noisy, dtype="float32"),
        "synthetic_held_out": fresh,
    }


# -- synthetic catalog -------------------------------------------------------------------------
def synthesize(
    n: int, creds: np.ndarray, skills: np.ndarray, seed: int = 0, chunk: int = 100_000
) -> np.ndarray:
    """``n`` synthetic credential vectors (see the module docstring)."""
    rng = np.random.default_rng(seed)
    near = np.argsort(-(creds @ skills.T), axis=1)[:, :NEAR_SKILLS]  # skills near each credential
    out = np.empty((n, DIM), dtype="float32")
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        base = rng.integers(0, len(creds), m)
        mix = creds[base] * rng.uniform(0.6, 1.0, (m, 1)).astype("float32")
        n_sk = rng.integers(2, 5, m)
        for j in range(4):
            use = n_sk > j
            sk = near[base, rng.integers(0, NEAR_SKILLS, m)]
            w = rng.uniform(0.15, 0.45, m).astype("float32") * use
            mix += skills[sk] * w[:, None]
        wild = rng.random(m) < 1 / 3
        mix[wild] += skills[rng.integers(0, len(skills), int(wild.sum()))] * 0.3
        mix /= np.linalg.norm(mix, axis=1, keepdims=True)
        mix += rng.normal(size=(m, DIM)).astype("float32") * (NOISE / np.sqrt(DIM))
        mix /= np.linalg.norm(mix, axis=1, keepdims=True)
        out[start : start + m] = mix
    return out


def synthetic_catalog(n_max: int, creds: np.ndarray, skills: np.ndarray, cache_dir: Path):
    path = cache_dir / f"synthetic_{n_max}.npy"
    if path.exists():
        data = np.load(path, mmap_mode="r")
        if data.shape == (n_max, DIM):
            return data
    t = time.perf_counter()
    data = synthesize(n_max, creds, skills)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, data)
    os.replace(tmp, path)
    print(f"  synthesized {n_max:,} vectors in {time.perf_counter() - t:.1f}s -> {path}")
    return np.load(path, mmap_mode="r")


# -- measurement -------------------------------------------------------------------------------
def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [
        len(set(f[f >= 0].tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True)
    ]
    return float(np.mean(hits)) / truth.shape[1]


def latency_ms(index, queries: np.ndarray, threads: int, k: int = K) -> tuple[list[float], Any]:
    faiss.omp_set_num_threads(threads)
    for q in queries[:20]:
        kindex.search(index, q, k)
    times, found = [], np.full((len(queries), k), -1, dtype="int64")
    for i, q in enumerate(queries):
        t = time.perf_counter()
        _s, ids = kindex.search(index, q, k)
        times.append((time.perf_counter() - t) * 1000)
        found[i, : len(ids)] = ids
    return times, found


def measure(
    xb: np.ndarray, queries: dict[str, np.ndarray], kind: str | None, exact_ms: bool
) -> dict[str, Any]:
    n = len(xb)
    xq = np.concatenate(list(queries.values()))
    faiss.omp_set_num_threads(2)
    t = time.perf_counter()
    _d, truth = faiss.knn(xq, xb, K, metric=faiss.METRIC_INNER_PRODUCT)
    truth_s = time.perf_counter() - t
    ids = np.arange(n, dtype="int64")
    gc.collect()
    rss0 = rss_bytes()
    t = time.perf_counter()
    index = kindex.make_index(xb, ids, kind=kind)
    build_s = time.perf_counter() - t
    rss_delta = rss_bytes() - rss0
    size = int(len(faiss.serialize_index(index)))
    row: dict[str, Any] = {
        "n": n,
        "kind": kindex.index_kind(index),
        "params": index_params(index),
        "build_s": round(build_s, 2),
        "index_bytes": size,
        "rss_delta_bytes": int(rss_delta),
        "ground_truth_s": round(truth_s, 2),
        "queries": int(len(xq)),
    }
    for threads in (1, 2):
        times, found = latency_ms(index, xq, threads)
        row[f"p50_ms_{threads}t"] = round(pct(times, 50), 3)
        row[f"p95_ms_{threads}t"] = round(pct(times, 95), 3)
        if threads == 1:
            row["recall@10"] = round(recall_at_k(found, truth), 4)
            start = 0
            for name, q in queries.items():
                row[f"recall@10_{name}"] = round(
                    recall_at_k(found[start : start + len(q)], truth[start : start + len(q)]), 4
                )
                start += len(q)
    if exact_ms and row["kind"] != "flat":
        # Exact search on the same vectors for the speedup ratio (a sample: it is slow).
        flat = faiss.IndexFlatIP(DIM)
        flat.add(np.ascontiguousarray(xb))
        for threads in (1, 2):
            faiss.omp_set_num_threads(threads)
            sample = xq[:: max(1, len(xq) // 40)]
            flat.search(sample[:2], K)
            times = []
            for q in sample:
                t = time.perf_counter()
                flat.search(q.reshape(1, -1), K)
                times.append((time.perf_counter() - t) * 1000)
            row[f"exact_p50_ms_{threads}t"] = round(pct(times, 50), 2)
            row[f"exact_p95_ms_{threads}t"] = round(pct(times, 95), 2)
        row["speedup_p50_1t"] = round(row["exact_p50_ms_1t"] / row["p50_ms_1t"], 1)
        row["speedup_p50_2t"] = round(row["exact_p50_ms_2t"] / row["p50_ms_2t"], 1)
        del flat
    del index
    gc.collect()
    faiss.omp_set_num_threads(2)
    return row


def index_params(index) -> dict[str, Any]:
    base = kindex._base(index)
    if isinstance(base, faiss.IndexIVF):
        return {"nlist": int(base.nlist), "nprobe": int(base.nprobe), "quantizer": "SQ8"}
    if isinstance(base, faiss.IndexHNSW):
        return {
            "M": kindex.HNSW_M,
            "efConstruction": int(base.hnsw.efConstruction),
            "efSearch": int(base.hnsw.efSearch),
            "quantizer": "SQ8",
        }
    return {}


def machine() -> dict[str, Any]:
    cpu = ""
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem / 2**30, 1),
        "python": platform.python_version(),
        "faiss": faiss.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--quick", action="store_true", help="skip the 1M size")
    ap.add_argument(
        "--kinds",
        nargs="+",
        default=["auto"],
        help="index kinds to measure at each size: auto (what make_index picks), "
        + ", ".join(kindex.KINDS),
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    from knowledge.config import get_settings

    settings = get_settings()
    sizes = sorted(s for s in args.sizes if not (args.quick and s >= 1_000_000))
    t0 = time.perf_counter()
    creds, skills = real_vectors(settings)
    print(f"real vectors: {len(creds)} credentials, {len(skills)} skill labels")
    queries = query_vectors(creds, skills)
    catalog = synthetic_catalog(max(sizes), creds, skills, settings.var_dir / "bench")
    rows = []
    for n in sizes:
        xb = np.ascontiguousarray(catalog[:n])
        for kind in args.kinds:
            print(f"n={n:,} kind={kind} ...", flush=True)
            row = measure(xb, queries, None if kind == "auto" else kind, exact_ms=True)
            rows.append(row)
            print("  " + json.dumps(row), flush=True)
        del xb
        gc.collect()
    result = {
        "machine": machine(),
        "command": "python -m bench.search_scale " + " ".join(argv or []),
        "k": K,
        "approx_threshold": kindex.APPROX_THRESHOLD,
        "query_sets": {name: len(q) for name, q in queries.items()},
        "rows": rows,
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(
        "\n| n | index | build s | index MB | p50/p95 ms (1 thr) | p50/p95 ms (2 thr) | recall@10 |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']:,} | {r['kind']} {r['params']} | {r['build_s']} | "
            f"{r['index_bytes'] / 1e6:.0f} | {r['p50_ms_1t']}/{r['p95_ms_1t']} | "
            f"{r['p50_ms_2t']}/{r['p95_ms_2t']} | {r['recall@10']} |"
        )
    print(f"\nwall {result['wall_s']}s; results in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
