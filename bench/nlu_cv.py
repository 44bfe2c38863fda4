"""5-fold NLU cross-validation of the Rasa pipeline: intent macro F1 (target >= 0.93).

`python -m bench.nlu_cv` runs `rasa test nlu --cross-validation --folds 5` on data/nlu with
config.yml and writes bench/results/nlu_cv.json. Slow (five trainings): part of `make bench`,
not `make test`.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGET = 0.93


def main(argv: list[str] | None = None) -> int:
    out = ROOT / "var" / "bench" / "nlu_cv"
    out.mkdir(parents=True, exist_ok=True)
    rasa = str(Path(sys.executable).with_name("rasa"))
    started = time.perf_counter()
    subprocess.run(
        [
            rasa,
            "test",
            "nlu",
            "--cross-validation",
            "--folds",
            "5",
            "--config",
            "config.yml",
            "--nlu",
            "data/nlu",
            "--domain",
            "bot/domain",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        check=True,
    )
    report = json.loads((out / "intent_report.json").read_text())
    macro = report["macro avg"]
    worst = sorted(
        (
            (k, v["f1-score"])
            for k, v in report.items()
            if isinstance(v, dict)
            and "support" in v
            and k not in ("macro avg", "weighted avg", "micro avg")
        ),
        key=lambda kv: kv[1],
    )[:5]
    result = {
        "folds": 5,
        "intent_macro_f1": round(macro["f1-score"], 4),
        "intent_macro_precision": round(macro["precision"], 4),
        "intent_macro_recall": round(macro["recall"], 4),
        "accuracy": round(report.get("accuracy", 0.0), 4),
        "weakest_intents": [{"intent": k, "f1": round(v, 3)} for k, v in worst],
        "target": TARGET,
        "met": macro["f1-score"] >= TARGET,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "nlu_cv.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
