"""`make bench` (`python -m bench [--quick]`): every benchmark in bench/, results in bench/results/.

--quick skips the 1M-entry size of the scale benchmark (and keeps everything else).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 1M-entry scale run")
    args = ap.parse_args(argv)

    from bench import build_time, load, nlu_cv, search_api, search_quality, search_scale

    steps = [
        ("search_quality", lambda: search_quality.main([])),
        ("search_api", lambda: search_api.main([])),
        ("search_scale", lambda: search_scale.main(["--quick"] if args.quick else [])),
        ("nlu_cv", lambda: nlu_cv.main([])),
        ("load", lambda: load.main([])),
        ("load (learner's script)", lambda: load.main(["--script", "learner"])),
        ("build_time", lambda: build_time.main([])),
    ]
    if importlib.util.find_spec("bench.skills_eval") is not None:

        def skills() -> int:
            from bench import skills_eval

            return skills_eval.main([]) or 0

        steps.insert(0, ("skills_eval", skills))

    summary: dict[str, dict[str, object]] = {}
    failed = 0
    for name, run in steps:
        print(f"\n=== {name} ===", flush=True)
        t = time.perf_counter()
        try:
            rc = run() or 0
        except Exception:  # one broken benchmark must not hide the others' results
            traceback.print_exc()
            rc = 1
        summary[name] = {"rc": rc, "seconds": round(time.perf_counter() - t, 1)}
        failed += rc != 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.json").write_text(
        json.dumps({"quick": args.quick, "steps": summary}, indent=2), encoding="utf-8"
    )
    print("\n" + json.dumps(summary, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
