"""Shared fixtures. The suite builds its own knowledge DB and index from the real catalog and
reference data into a temporary directory (STACKWISE_VAR_DIR), so it never touches var/."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_TMP_VAR = Path(tempfile.mkdtemp(prefix="stackwise-test-var-"))
# Must happen before knowledge.config.get_settings() is first called.
os.environ["STACKWISE_VAR_DIR"] = str(_TMP_VAR)
os.environ.pop("STACKWISE_DATABASE_URL", None)
os.environ.pop("STACKWISE_INDEX_DIR", None)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def settings():
    from knowledge.config import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def built(settings):
    """The real knowledge DB + index, built once per test session."""
    from knowledge.build import build_database, read_meta
    from knowledge.db import make_engine
    from knowledge.documents import build_credential_index
    from knowledge.embed import export_onnx, probes_path_for

    for name in ("embeddings.npz", "embeddings-occupations.npz"):
        cached = REPO / "var" / name
        if cached.exists():  # re-use vectors from `make build`: only changed texts are re-embedded
            settings.var_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(cached, settings.var_dir / name)
    onnx = settings.onnx_encoder_path
    if onnx is not None:  # the encoder's ONNX export, as `stackwise build` writes it
        exported = REPO / "var" / "encoder" / onnx.name
        for source, target in (
            (exported, onnx),
            (probes_path_for(exported), probes_path_for(onnx)),
        ):
            if source.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, target)
        export_onnx(onnx)
    result = build_database(settings, force=True)
    engine = make_engine(settings.database_url)
    build_credential_index(settings, engine, read_meta(engine, "fingerprint") or "", progress=False)
    yield result
    engine.dispose()


@pytest.fixture(scope="session")
def services(built, settings):
    from knowledge.services import get_services

    return get_services()


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_TMP_VAR, ignore_errors=True)
