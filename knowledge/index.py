"""FAISS index over credential embeddings: build, save with metadata, load with checks, search.

Small catalogs use an exact inner-product index on normalized vectors (cosine similarity).
At ``APPROX_THRESHOLD`` vectors and above, an inverted-file index over 8-bit scalar-quantized
vectors (``ivf_sq8``) is used: at 1M x 384 it takes ~0.45 GB, builds in minutes on 2 cores and
answers in a few milliseconds at recall@10 >= 0.95 against exact search (docs/benchmarks.md,
``bench/search_scale.py``). An HNSW graph over the same 8-bit codes (``hnsw_sq8``) is kept as an
option: it is faster per query but takes far longer to build on a small machine.
Labels in the index are the credentials' integer ``num`` ids from the DB.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from knowledge.embed import DIM, MODEL_NAME

APPROX_THRESHOLD = 50_000
APPROX_KIND = "ivf_sq8"
KINDS = ("flat", "ivf_sq8", "hnsw_sq8")
# ivf_sq8: nlist ~ IVF_LISTS_PER_SQRT * sqrt(n) (a power of two), k-means on IVF_TRAIN_PER_LIST
# points per list, IVF_NPROBE lists scanned per query (tuned in bench/search_scale.py).
IVF_LISTS_PER_SQRT = 4
IVF_MIN_LISTS = 64
IVF_MAX_LISTS = 16_384
IVF_TRAIN_PER_LIST = 24
IVF_KMEANS_ITER = 10
IVF_CODEC_TRAIN = 20_000
IVF_NPROBE = 16
# hnsw_sq8 (the alternative approximate kind)
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
SEARCH_THREADS = 1
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
    # SHA-256 of the index file: a truncated or damaged copy (each action server holds one) is
    # refused. None in metadata written before it was recorded.
    sha256: str | None = None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ivf_nlist(n: int) -> int:
    """Number of inverted lists for ``n`` vectors: a power of two near 4 * sqrt(n)."""
    target = IVF_LISTS_PER_SQRT * math.sqrt(max(n, 1))
    nlist = 2 ** round(math.log2(target))
    return int(min(IVF_MAX_LISTS, max(IVF_MIN_LISTS, nlist, 1)))


def _kmeans(x: np.ndarray, k: int, niter: int, seed: int = 1234) -> np.ndarray:
    """Spherical k-means with NumPy's BLAS (several times faster here than FAISS's own
    clustering on 2 cores); returns unit-norm centroids."""
    rng = np.random.default_rng(seed)
    cent = x[rng.choice(len(x), k, replace=False)].copy()
    for _ in range(niter):
        assign = _assign(x, cent)
        order = np.argsort(assign, kind="stable")
        counts = np.bincount(assign, minlength=k)
        sums = np.zeros_like(cent)
        present = np.flatnonzero(counts)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[present]
        sums[present] = np.add.reduceat(x[order], starts, axis=0)
        empty = counts == 0
        if empty.any():  # re-seed empty lists with random points
            sums[empty] = x[rng.choice(len(x), int(empty.sum()), replace=False)]
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        cent = sums / np.maximum(norms, 1e-12)
    return np.ascontiguousarray(cent, dtype="float32")


def _assign(x: np.ndarray, centroids: np.ndarray, chunk: int = 32_768) -> np.ndarray:
    """Index of the nearest centroid (max inner product) of each row of ``x``."""
    out = np.empty(len(x), dtype="int64")
    ct = np.ascontiguousarray(centroids.T)
    for start in range(0, len(x), chunk):
        out[start : start + chunk] = np.argmax(x[start : start + chunk] @ ct, axis=1)
    return out


def _make_ivf_sq8(vectors: np.ndarray, ids: np.ndarray) -> faiss.Index:
    n = len(vectors)
    nlist = min(ivf_nlist(n), max(1, n))
    rng = np.random.default_rng(1234)
    train = vectors
    if n > nlist * IVF_TRAIN_PER_LIST:
        train = vectors[np.sort(rng.choice(n, nlist * IVF_TRAIN_PER_LIST, replace=False))]
    centroids = _kmeans(np.ascontiguousarray(train), nlist, IVF_KMEANS_ITER)
    quantizer = faiss.IndexFlatIP(DIM)
    quantizer.add(centroids)
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, DIM, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    # The quantizer is already trained: this trains the 8-bit codec (per-dimension ranges of
    # the residuals) only, for which a few thousand points are plenty.
    index.train(train[:IVF_CODEC_TRAIN])
    # Ids -> entries, so vectors can be reconstructed for re-ranking lexical-only hits.
    index.set_direct_map_type(faiss.DirectMap.Hashtable)
    index.nprobe = min(IVF_NPROBE, nlist)
    assign = _assign(vectors, centroids)  # keep a reference: swig_ptr does not
    index.add_core(n, faiss.swig_ptr(vectors), faiss.swig_ptr(ids), faiss.swig_ptr(assign))
    return index


def make_index(vectors: np.ndarray, ids: np.ndarray, *, kind: str | None = None) -> faiss.Index:
    """An index labelled with ``ids``; ``kind`` is one of ``KINDS`` (default: chosen by size)."""
    n = len(vectors)
    kind = kind or ("flat" if n < APPROX_THRESHOLD else APPROX_KIND)
    vectors = np.ascontiguousarray(vectors, dtype="float32")
    ids = np.ascontiguousarray(ids, dtype="int64")
    if kind == "flat":
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
    elif kind == "ivf_sq8":
        return _make_ivf_sq8(vectors, ids)
    elif kind == "hnsw_sq8":
        base = faiss.IndexHNSWSQ(
            DIM, faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT
        )
        base.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        base.hnsw.efSearch = HNSW_EF_SEARCH
        base.train(vectors)
        index = faiss.IndexIDMap(base)
    else:
        raise ValueError(f"unknown index kind {kind!r}; expected one of {KINDS}")
    index.add_with_ids(vectors, ids)
    return index


def _base(index: faiss.Index) -> faiss.Index:
    inner = getattr(index, "index", None)
    return faiss.downcast_index(inner) if inner is not None else faiss.downcast_index(index)


def index_kind(index: faiss.Index) -> str:
    base = _base(index)
    if isinstance(base, faiss.IndexHNSW):
        return "hnsw_sq8"
    if isinstance(base, faiss.IndexIVF):
        return "ivf_sq8"
    return "flat"


def can_reconstruct(index: faiss.Index) -> bool:
    """Whether ``index.reconstruct(id)`` works with the credential ids used as labels."""
    kind = index_kind(index)
    if kind == "ivf_sq8":
        return _base(index).direct_map.type != faiss.DirectMap.NoMap
    return kind == "flat"


def save_index(index: faiss.Index, directory: Path, fingerprint: str) -> IndexMeta:
    """Write index + metadata to a fresh directory and swap it in atomically."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(directory.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    faiss.write_index(index, str(staging / INDEX_FILE))
    meta = IndexMeta(
        model=MODEL_NAME,
        dim=DIM,
        kind=index_kind(index),
        count=int(index.ntotal),
        fingerprint=fingerprint,
        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        sha256=file_sha256(staging / INDEX_FILE),
    )
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
    path = directory / INDEX_FILE
    try:
        actual = file_sha256(path) if meta.sha256 else None
    except OSError as exc:
        raise IndexError_(
            f"index file {path} cannot be read: {exc}; run 'stackwise build'"
        ) from exc
    if meta.sha256 and actual != meta.sha256:
        raise IndexError_(
            f"index file {path} is corrupt: its SHA-256 is not the one recorded when it was "
            f"built (damaged or partly copied); run 'stackwise build' or copy it again"
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
    tune_search(index)
    return index, meta


def tune_search(index: faiss.Index) -> faiss.Index:
    """Apply this version's search-time settings (nprobe / efSearch) to an index.

    Serving answers one query at a time, so FAISS runs single-threaded: on a 2-core machine its
    OpenMP threads otherwise spin-wait against the encoder and web server (p50 0.9 ms vs 8 ms
    for exact search over 10k vectors in bench/search_scale.py).
    """
    faiss.omp_set_num_threads(SEARCH_THREADS)
    base = _base(index)
    if isinstance(base, faiss.IndexIVF):
        base.nprobe = min(IVF_NPROBE, base.nlist)
    elif isinstance(base, faiss.IndexHNSW):
        base.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def _params(index: faiss.Index, sel: faiss.IDSelector | None, exhaustive: bool = False):
    """Search parameters of the type this index expects (each kind rejects the others)."""
    base = _base(index)
    if isinstance(base, faiss.IndexIVF):
        nprobe = base.nlist if exhaustive else base.nprobe
        return faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
    if isinstance(base, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(sel=sel, efSearch=base.hnsw.efSearch)
    return faiss.SearchParameters(sel=sel)


def search(
    index: faiss.Index, query: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) for one query; ``allowed`` restricts results to those ids.

    With a filter on an ``ivf_sq8`` index, the probed lists may hold fewer than k allowed
    entries (a narrow filter); then every list is scanned, still only scoring allowed entries.
    """
    q = np.ascontiguousarray(query.reshape(1, -1), dtype="float32")
    k = max(1, min(k, int(index.ntotal)))
    if allowed is None:
        scores, ids = index.search(q, k)
    else:
        if len(allowed) == 0:
            return np.zeros(0, "float32"), np.zeros(0, "int64")
        k = min(k, len(allowed))
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype="int64"))
        scores, ids = index.search(q, k, params=_params(index, selector))
        if (ids[0] >= 0).sum() < k and index_kind(index) == "ivf_sq8":
            scores, ids = index.search(q, k, params=_params(index, selector, exhaustive=True))
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]
