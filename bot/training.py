"""Train the Rasa model only when its inputs changed (data, domain, config, custom component,
skill patterns). Rasa's own fingerprint ignores our component's code and the patterns file,
so we keep our own."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from knowledge.config import REPO_ROOT, Settings

MODEL_NAME = "stackwise"


def training_inputs(settings: Settings) -> list[Path]:
    files = [REPO_ROOT / "config.yml"]
    for folder in ("data", "bot/domain", "bot/nlu"):
        files += sorted(
            p
            for p in (REPO_ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        )
    # The components use code in knowledge/ (skill matching, sentence encoder): inputs too.
    files += [
        REPO_ROOT / "knowledge" / "skills.py",
        REPO_ROOT / "knowledge" / "skill_words.py",
        REPO_ROOT / "knowledge" / "embed.py",
        settings.patterns_path,
    ]
    return files


def training_fingerprint(settings: Settings) -> str:
    h = hashlib.sha256()
    for path in training_inputs(settings):
        if not path.exists():
            raise FileNotFoundError(f"training input missing: {path} (run 'stackwise build' first)")
        h.update(
            str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path).encode()
        )
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def model_path(settings: Settings) -> Path:
    return settings.models_dir / f"{MODEL_NAME}.tar.gz"


def _stamp(settings: Settings) -> Path:
    return settings.models_dir / f"{MODEL_NAME}.fingerprint.json"


def is_current(settings: Settings) -> bool:
    stamp = _stamp(settings)
    if not model_path(settings).exists() or not stamp.exists():
        return False
    try:
        return json.loads(stamp.read_text())["fingerprint"] == training_fingerprint(settings)
    except (ValueError, KeyError):
        return False


def train(settings: Settings, *, force: bool = False) -> bool:
    """Train if needed; returns True when a new model was trained."""
    if not force and is_current(settings):
        return False
    fingerprint = training_fingerprint(settings)
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    rasa = Path(sys.executable).with_name("rasa")
    cmd = [
        str(rasa),
        "train",
        "--config",
        str(REPO_ROOT / "config.yml"),
        "--domain",
        str(REPO_ROOT / "bot" / "domain"),
        "--data",
        str(REPO_ROOT / "data"),
        "--out",
        str(settings.models_dir),
        "--fixed-model-name",
        MODEL_NAME,
        "--force",
    ]
    subprocess.run(cmd, check=True, cwd=REPO_ROOT)
    _stamp(settings).write_text(json.dumps({"fingerprint": fingerprint}))
    return True
