"""FAISS index over credential embeddings: build, save with metadata, load with checks, search.

Small catalogs use an exact inner-product index on normalized vectors (cosine similarity).
Above ``APPROX_THRESHOLD`` vectors an HNSW graph over 8-bit scalar-quantized vectors is used:
it keeps 1M x 384 vectors under 1 GB and answers in milliseconds at high recall.
Labels in the index are the credentials' integer ``num`` ids from the DB.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from knowledge.embed import DIM, MODEL_NAME

APPROX_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
INDEX_FILE = "credentials.faiss"
META_FILE = "credentials.json"


class IndexError_(RuntimeError):
    """The index on disk is missing, corrupt, or does not match the model or catalog."""


@dataclass(frozen=True)
class IndexMeta:
    model: str
    dim: int
    kind: str
    count: int
    fingerprint: str
    built_at: str


def make_index(vectors: np.ndarray, ids: np.ndarray, *, kind: str | None = None) -> faiss.Index:
    """An ID-mapped index; ``kind`` is 'flat' or 'hnsw_sq8' (default: chosen by size)."""
    n = len(vectors)
    kind = kind or ("flat" if n < APPROX_THRESHOLD else "hnsw_sq8")
    if kind == "flat":
        base = faiss.IndexFlatIP(DIM)
    elif kind == "hnsw_sq8":
        base = faiss.IndexHNSWSQ(
            DIM, faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT
        )
        base.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        base.hnsw.efSearch = HNSW_EF_SEARCH
        base.train(vectors)
    else:
        raise ValueError(f"unknown index kind {kind!r}")
    index = faiss.IndexIDMap2(base) if kind == "flat" else faiss.IndexIDMap(base)
    index.add_with_ids(np.ascontiguousarray(vectors, dtype="float32"), ids.astype("int64"))
    return index


def index_kind(index: faiss.Index) -> str:
    base = faiss.downcast_index(index.index) if hasattr(index, "index") else index
    return "hnsw_sq8" if isinstance(base, faiss.IndexHNSW) else "flat"


def save_index(index: faiss.Index, directory: Path, fingerprint: str) -> IndexMeta:
    """Write index + metadata to a fresh directory and swap it in atomically."""
    meta = IndexMeta(
        model=MODEL_NAME,
        dim=DIM,
        kind=index_kind(index),
        count=int(index.ntotal),
        fingerprint=fingerprint,
        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(directory.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    faiss.write_index(index, str(staging / INDEX_FILE))
    (staging / META_FILE).write_text(json.dumps(asdict(meta), indent=2), encoding="utf-8")
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        os.replace(directory, old)
    os.replace(staging, directory)
    shutil.rmtree(old, ignore_errors=True)
    return meta


def read_meta(directory: Path) -> IndexMeta | None:
    try:
        return IndexMeta(**json.loads((directory / META_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def load_index(directory: Path, *, fingerprint: str | None) -> tuple[faiss.Index, IndexMeta]:
    """Load and check an index; refuse with a clear error if it does not match."""
    meta = read_meta(directory)
    if meta is None:
        raise IndexError_(
            f"no usable index metadata in {directory}; run 'stackwise build' to build the index"
        )
    if meta.model != MODEL_NAME or meta.dim != DIM:
        raise IndexError_(
            f"index in {directory} was built with {meta.model} (dim {meta.dim}), "
            f"but this version uses {MODEL_NAME} (dim {DIM}); run 'stackwise build'"
        )
    if fingerprint is not None and meta.fingerprint != fingerprint:
        raise IndexError_(
            f"index in {directory} is stale: built for catalog {meta.fingerprint}, "
            f"the database holds {fingerprint}; run 'stackwise build'"
        )
    try:
        index = faiss.read_index(str(directory / INDEX_FILE))
    except RuntimeError as exc:
        raise IndexError_(f"index file {directory / INDEX_FILE} is corrupt: {exc}") from exc
    if index.d != meta.dim or index.ntotal != meta.count:
        raise IndexError_(
            f"index file {directory / INDEX_FILE} does not match its metadata "
            f"(d={index.d}, n={index.ntotal} vs {meta.dim}, {meta.count}); run 'stackwise build'"
        )
    return index, meta


def search(
    index: faiss.Index, query: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) for one query; ``allowed`` restricts results to those ids."""
    q = np.ascontiguousarray(query.reshape(1, -1), dtype="float32")
    k = max(1, min(k, int(index.ntotal)))
    if allowed is None:
        scores, ids = index.search(q, k)
    else:
        if len(allowed) == 0:
            return np.zeros(0, "float32"), np.zeros(0, "int64")
        selector = faiss.IDSelectorBatch(allowed.astype("int64"))
        params = faiss.SearchParameters(sel=selector)
        scores, ids = index.search(q, min(k, len(allowed)), params=params)
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]
