"""The encoder's ONNX Runtime path (knowledge/embed.py): used for one text at a time only when it
gives torch's vectors, and never trusted blindly (a damaged export falls back to torch). A server
runs it without torch at all (tokenizer file + ONNX Runtime), checked against torch's vectors for
probe texts that `stackwise build` stores next to the export."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from knowledge.embed import (
    ONNX_TOLERANCE,
    Encoder,
    _file_tokenizer,
    _model_token_ids,
    export_onnx,
    probes_path_for,
)

REPO = Path(__file__).resolve().parents[2]

TEXTS = [
    "hi",
    "I know Excel, customer service and a bit of SQL",
    "C++ / C# dev? Node.js, CI/CD",
    "Quiero ser enfermera 👩‍⚕️",
    "<script>alert(1)</script>",
    "weld " * 400,  # longer than the model takes: cut the same way on both paths
]


def test_the_servers_encoder_runs_on_onnx_and_gives_torchs_vectors(services, settings):
    encoder = services.encoder
    assert encoder.runtime == "onnxruntime"
    reference = Encoder(threads=1)  # torch only
    assert reference.runtime == "torch-lean"
    for text in TEXTS:
        ours, theirs = encoder.encode_query(text), reference.encode_query(text)
        assert ours.dtype == np.float32 and ours.shape == theirs.shape == (384,)
        assert float(np.abs(ours - theirs).max()) <= ONNX_TOLERANCE
        assert abs(float(np.linalg.norm(ours)) - 1.0) < 1e-5
    # The batch path (index build, training) is torch's own, unchanged.
    batch = encoder.encode(TEXTS[:3])
    assert np.array_equal(batch, reference.encode(TEXTS[:3]))


def test_export_is_written_once(services, settings):
    path = settings.onnx_encoder_path
    assert path is not None and path.exists()
    before = path.stat().st_mtime_ns
    assert export_onnx(path) is False
    assert path.stat().st_mtime_ns == before


def test_a_damaged_export_falls_back_to_torch(tmp_path):
    broken = tmp_path / "all-MiniLM-L6-v2-broken.onnx"
    broken.write_bytes(b"not an onnx model")
    encoder = Encoder(threads=1, onnx_path=broken)
    assert encoder.runtime == "torch-lean"
    assert encoder.encode_query("hello").shape == (384,)


def test_a_missing_export_or_runtime_torch_means_torch(tmp_path, settings):
    assert Encoder(threads=1, onnx_path=tmp_path / "missing.onnx").runtime == "torch-lean"
    torch_only = dataclasses.replace(settings, encoder_runtime="torch")
    assert torch_only.onnx_encoder_path is None


@pytest.fixture(scope="module")
def torch_encoder() -> Encoder:
    return Encoder(threads=1)


def test_a_server_encodes_without_torch(services, settings, torch_encoder):
    path = settings.onnx_encoder_path
    assert probes_path_for(path).exists()  # written by export_onnx with the export
    encoder = Encoder(threads=1, onnx_path=path)
    assert encoder.runtime == "onnxruntime"
    for text in TEXTS:
        ours, theirs = encoder.encode_query(text), torch_encoder.encode_query(text)
        assert ours.dtype == np.float32 and ours.shape == (384,)
        assert float(np.abs(ours - theirs).max()) <= ONNX_TOLERANCE
    assert not encoder.torch_loaded
    # In a fresh process nothing imports torch (~10 s of CPU at every server start).
    code = (
        "import sys; from pathlib import Path; from knowledge.embed import Encoder; "
        f"e = Encoder(threads=1, onnx_path=Path({str(path)!r})); v = e.encode_query('hi'); "
        "print(e.runtime, v.shape, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["onnxruntime", "(384,)", "False", "False"]


@hsettings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.text(max_size=300) | st.text(alphabet=st.sampled_from("ab ,.!é漢👩\u200b\x00"), max_size=900)
)
def test_the_tokenizer_file_gives_sentence_transformers_tokens(torch_encoder, text):
    ids, types = _file_tokenizer()(text)
    want_ids, want_types = _model_token_ids(torch_encoder.model, text)
    assert ids.dtype == want_ids.dtype == np.int64
    assert np.array_equal(ids, want_ids) and np.array_equal(types, want_types)


def _copy_export(settings, tmp_path: Path) -> Path:
    path = tmp_path / settings.onnx_encoder_path.name
    shutil.copy(settings.onnx_encoder_path, path)
    return path


def test_probes_that_do_not_match_mean_the_checked_torch_path(services, settings, tmp_path):
    path = _copy_export(settings, tmp_path)
    probes = probes_path_for(settings.onnx_encoder_path)
    data = np.load(probes)
    # Vectors off by more than the tolerance (another model's, say): not trusted.
    np.savez(probes_path_for(path), texts=data["texts"], vectors=data["vectors"] + 1e-3)
    encoder = Encoder(threads=1, onnx_path=path)
    assert encoder.encode_query("hi").shape == (384,)
    assert encoder.torch_loaded and encoder.runtime == "onnxruntime"  # checked with torch instead
    # A damaged probes file, or none: the same.
    probes_path_for(path).write_bytes(b"not a numpy file")
    assert Encoder(threads=1, onnx_path=path)._light_onnx() is None
    probes_path_for(path).unlink()
    assert Encoder(threads=1, onnx_path=path)._light_onnx() is None
    # `stackwise build` (export_onnx) writes the missing probes next to an existing export.
    assert export_onnx(path) is True
    assert Encoder(threads=1, onnx_path=path)._light_onnx() is not None
