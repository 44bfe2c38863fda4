"""The encoder's ONNX Runtime path (knowledge/embed.py): used for one text at a time only when it
gives torch's vectors, and never trusted blindly (a damaged export falls back to torch)."""

from __future__ import annotations

import dataclasses

import numpy as np

from knowledge.embed import ONNX_TOLERANCE, Encoder, export_onnx

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
