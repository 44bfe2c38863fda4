"""Build time of the whole catalog: ``stackwise build`` from a clean var dir, then again warm.

Cold: a fresh temporary var dir with no DB, no index and no embedding cache (every text is
encoded). Warm: ``stackwise build --force`` in the same dir, the embedding cache kept (the DB is
rebuilt, nothing is re-encoded). Each run is a subprocess, as a deployment runs it; the load
average is recorded next to the figures since a shared machine slows both. Writes
``bench/results/build_time.json``. Targets (issue 15): cold <= 300 s, warm <= 60 s.

    .venv/bin/python -m bench.build_time
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "build_time.json"
COLD_TARGET_S = 300.0
WARM_TARGET_S = 60.0


def run_build(var_dir: Path, *, force: bool) -> dict[str, Any]:
    env = dict(
        os.environ,
        STACKWISE_VAR_DIR=str(var_dir),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    for key in ("STACKWISE_DATABASE_URL", "STACKWISE_INDEX_DIR"):
        env.pop(key, None)  # everything under the temporary var dir
    cmd = [sys.executable, "-m", "bot.cli", "build", *(["--force"] if force else [])]
    load_before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-3000:]}")
    lines = [
        line
        for line in proc.stdout.splitlines()
        if line.startswith(("knowledge DB", "search index", "encoder"))
    ]
    return {
        "seconds": round(seconds, 1),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "output": lines,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--keep", action="store_true", help="keep the temporary var dir")
    args = ap.parse_args(argv)

    var_dir = Path(tempfile.mkdtemp(prefix="stackwise-build-"))
    try:
        cold = run_build(var_dir, force=False)
        print(f"cold build {cold['seconds']} s (load {cold['load_before']})", flush=True)
        warm = run_build(var_dir, force=True)
        print(f"warm build {warm['seconds']} s (load {warm['load_before']})", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)
    result = {
        "cold": cold,
        "warm": warm,
        "targets_s": {"cold": COLD_TARGET_S, "warm": WARM_TARGET_S},
        "met": {"cold": cold["seconds"] <= COLD_TARGET_S, "warm": warm["seconds"] <= WARM_TARGET_S},
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result["met"]), f"results in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
