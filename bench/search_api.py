"""Search API latency end to end over real HTTP at the real catalog size.

Starts the web app (``python -m bot.web``) as a subprocess on a free port against the built
``var/`` (whatever STACKWISE_* points at), then sends the learner queries from
``bench/data/search_queries.yaml`` one at a time over a keep-alive connection, a third of them
with filters, ``--repeats`` times. The server caches query embeddings, so the first round (every
query unseen: the encoder runs) is also reported on its own (``p95_first_ms``).
Writes ``bench/results/search_api.json``.

    .venv/bin/python -m bench.search_api
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from bot.supervisor import free_port

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "search_api.json"
FILTERS = [{}, {}, {"max_cost": "300", "level": "beginner"}, {}, {"format": "online"}, {}]


def start_web(port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.web", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"web app exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"web app did not start: {log.read_text()[-2000:]}")
        time.sleep(0.25)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    from bench.search_quality import load_judgments

    queries = [q.q for q in load_judgments()]
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="stackwise-bench-")) / "web.log"
    proc = start_web(port, log)
    times: list[float] = []
    first: list[float] = []
    statuses: dict[int, int] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for q in queries[:10]:  # warm up the connection and the search path, not the cache
                client.get("/api/credentials/search", params={"q": f"warm up: {q}"})
            for round_ in range(args.repeats):
                for i, q in enumerate(queries):
                    params = {"q": q, "k": "5", **FILTERS[i % len(FILTERS)]}
                    t = time.perf_counter()
                    r = client.get("/api/credentials/search", params=params)
                    r.read()
                    times.append((time.perf_counter() - t) * 1000)
                    if round_ == 0:
                        first.append(times[-1])
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    arr = np.asarray(times)
    result = {
        "requests": len(times),
        "statuses": statuses,
        "p50_ms": round(float(np.percentile(arr, 50)), 2),
        "p95_ms": round(float(np.percentile(arr, 95)), 2),
        "max_ms": round(float(arr.max()), 2),
        "p50_first_ms": round(float(np.percentile(first, 50)), 2),
        "p95_first_ms": round(float(np.percentile(first, 95)), 2),
        "filtered_share": round(sum(1 for f in FILTERS if f) / len(FILTERS), 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(
        f"\nSearch API over HTTP: {result['requests']} requests, p50 {result['p50_ms']} ms, "
        f"p95 {result['p95_ms']} ms; first round (queries unseen) p50 {result['p50_first_ms']} "
        f"ms, p95 {result['p95_first_ms']} ms (statuses {statuses}); results in {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
