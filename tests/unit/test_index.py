"""The FAISS index on small synthetic vectors: exact vs approximate kinds, id mapping, filters,
atomic save/load and refusal of indexes that do not match."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from knowledge import index as kindex
from knowledge.embed import DIM, MODEL_NAME
from knowledge.index import IndexError_, load_index, make_index, save_index, search


def unit(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype="float32")


@pytest.fixture(scope="module")
def data():
    """3,000 clustered unit vectors with sparse, non-contiguous integer ids."""
    rng = np.random.default_rng(0)
    centers = unit(rng.normal(size=(30, DIM)))
    x = unit(centers[rng.integers(0, 30, 3000)] + 0.08 * rng.normal(size=(3000, DIM)))
    ids = np.sort(rng.choice(10_000_000, 3000, replace=False)).astype("int64") + 1
    queries = unit(x[rng.integers(0, 3000, 40)] + 0.03 * rng.normal(size=(40, DIM)))
    return x, ids, queries


@pytest.fixture(scope="module")
def ivf(data):
    x, ids, _ = data
    return make_index(x, ids, kind="ivf_sq8")


def exact_top(x, ids, q, k, allowed=None):
    scores = x @ q
    order = [i for i in np.argsort(-scores) if allowed is None or ids[i] in allowed]
    return ids[order[:k]]


def test_kind_is_chosen_by_size(data, monkeypatch):
    x, ids, _ = data
    assert kindex.index_kind(make_index(x, ids)) == "flat"  # 3,000 < APPROX_THRESHOLD
    monkeypatch.setattr(kindex, "APPROX_THRESHOLD", 1000)
    approx = make_index(x, ids)
    assert kindex.index_kind(approx) == kindex.APPROX_KIND
    assert approx.ntotal == len(x)
    assert kindex.index_kind(make_index(x[:999], ids[:999])) == "flat"


def test_explicit_kinds_and_unknown_kind(data):
    x, ids, _ = data
    for kind in kindex.KINDS:
        assert kindex.index_kind(make_index(x[:600], ids[:600], kind=kind)) == kind
    with pytest.raises(ValueError, match="unknown index kind"):
        make_index(x, ids, kind="lsh")


def test_nlist_grows_with_size():
    assert kindex.ivf_nlist(100) == kindex.IVF_MIN_LISTS
    assert kindex.ivf_nlist(100_000) < kindex.ivf_nlist(1_000_000) <= kindex.IVF_MAX_LISTS


@pytest.mark.parametrize("kind", ["flat", "ivf_sq8", "hnsw_sq8"])
def test_ids_map_back_and_approximate_recall(data, kind):
    x, ids, queries = data
    index = make_index(x, ids, kind=kind)
    scores, found = search(index, x[17], 5)
    assert found[0] == ids[17] and scores[0] == pytest.approx(1.0, abs=0.02)
    hits = [
        len(set(search(index, q, 10)[1].tolist()) & set(exact_top(x, ids, q, 10).tolist()))
        for q in queries
    ]
    assert np.mean(hits) / 10 >= (1.0 if kind == "flat" else 0.9)


@pytest.mark.parametrize("kind", ["flat", "ivf_sq8", "hnsw_sq8"])
def test_allowed_restricts_results(data, kind):
    x, ids, queries = data
    index = make_index(x, ids, kind=kind)
    allowed = ids[::7]
    allowed_set = set(allowed.tolist())
    for q in queries[:10]:
        _s, found = search(index, q, 10, allowed)
        assert 0 < len(found) <= 10 and set(found.tolist()) <= allowed_set
    assert len(search(index, queries[0], 5, np.zeros(0, "int64"))[1]) == 0


def test_narrow_filter_on_ivf_still_returns_every_allowed(data, ivf):
    """A handful of allowed ids sits in lists the query does not probe: all lists are scanned."""
    x, ids, queries = data
    far = np.argsort(x @ queries[0])[:3]  # the three entries least like the query
    allowed = ids[far]
    scores, found = search(ivf, queries[0], 5, allowed)
    assert sorted(found.tolist()) == sorted(allowed.tolist())
    assert list(scores) == sorted(scores, reverse=True)


def test_ivf_reconstructs_by_credential_id(data, ivf):
    x, ids, _ = data
    assert kindex.can_reconstruct(ivf)
    assert float(ivf.reconstruct(int(ids[5])) @ x[5]) > 0.99


def test_save_and_load_round_trip(tmp_path, data, ivf):
    x, ids, queries = data
    directory = tmp_path / "index"
    meta = save_index(ivf, directory, "fp-1")
    assert (meta.kind, meta.count, meta.model, meta.dim) == ("ivf_sq8", len(x), MODEL_NAME, DIM)
    faiss.downcast_index(ivf).nprobe = 1
    loaded, meta2 = load_index(directory, fingerprint="fp-1")
    assert meta2 == meta
    assert loaded.nprobe == min(kindex.IVF_NPROBE, loaded.nlist)  # search settings re-applied
    for q in queries[:5]:
        assert search(loaded, q, 5)[1][0] == search(ivf, q, 5)[1][0]
    assert load_index(directory, fingerprint=None)[1] == meta
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]  # no staging left behind


def test_failed_save_keeps_the_previous_index(tmp_path, data, monkeypatch):
    x, ids, _ = data
    directory = tmp_path / "index"
    save_index(make_index(x[:100], ids[:100]), directory, "old")

    def boom(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", boom)
    with pytest.raises(OSError, match="disk full"):
        save_index(make_index(x, ids), directory, "new")
    index, meta = load_index(directory, fingerprint="old")
    assert (meta.fingerprint, index.ntotal) == ("old", 100)


def test_mismatched_or_damaged_indexes_are_refused(tmp_path, data):
    x, ids, _ = data
    directory = tmp_path / "index"
    with pytest.raises(IndexError_, match="stackwise build"):
        load_index(directory, fingerprint="fp")  # nothing there
    save_index(make_index(x[:200], ids[:200]), directory, "fp")
    with pytest.raises(IndexError_, match="stale"):
        load_index(directory, fingerprint="other")
    meta_file = directory / kindex.META_FILE
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps(meta | {"model": "another-model"}))
    with pytest.raises(IndexError_, match="another-model"):
        load_index(directory, fingerprint="fp")
    meta_file.write_text(json.dumps(meta | {"count": 999}))
    with pytest.raises(IndexError_, match="does not match its metadata"):
        load_index(directory, fingerprint="fp")
    meta_file.write_text("{not json")
    with pytest.raises(IndexError_, match="no usable index metadata"):
        load_index(directory, fingerprint="fp")
    meta_file.write_text(json.dumps(meta))
    (directory / kindex.INDEX_FILE).write_bytes(b"\x00" * 64)
    with pytest.raises(IndexError_, match="corrupt"):
        load_index(directory, fingerprint="fp")
