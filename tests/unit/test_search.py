"""Semantic search with filters, id mapping, and refusal of stale or corrupt indexes."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select

from knowledge import schema
from knowledge.index import IndexError_, load_index
from knowledge.recommend import InvalidQuery, SearchFilters


def test_meaning_not_keywords(services):
    top = [r.id for r in services.search.search("I want to fix air conditioners", k=5)]
    assert "epa-section-608" in top
    cloud = [r.id for r in services.search.search("Amazon's cloud", k=5)]
    assert any(i.startswith("aws-") for i in cloud)


def test_results_map_to_db_rows(services):
    results = services.search.search("data analyst with spreadsheets and SQL", k=5)
    assert len(results) == 5
    with services.engine.connect() as conn:
        rows = dict(conn.execute(select(schema.Credential.id, schema.Credential.name)).all())
    for r in results:
        assert rows[r.id] == r.name
        assert set(r.why) >= {"matched_skills", "gaps_closed", "recognition", "credit"}


@pytest.mark.parametrize(
    "filters",
    [
        SearchFilters(max_cost=100),
        SearchFilters(format="in_person"),
        SearchFilters(credit_only=True),
        SearchFilters(level="beginner", max_cost=300),
        SearchFilters(provider="comptia"),
    ],
)
def test_filters_are_never_violated_and_k_comes_back(services, filters):
    allowed = set(services.search.allowed_nums(filters).tolist())
    results = services.search.search("entry level job in technology", k=5, filters=filters)
    assert len(results) == min(5, len(allowed))
    for r in results:
        assert services.search.by_id[r.id].num in allowed
        if filters.max_cost is not None:
            assert r.cost_usd is not None and r.cost_usd <= filters.max_cost
        if filters.credit_only:
            assert r.why["credit"] or r.why["articulations"]


@pytest.mark.parametrize(
    ("query", "k", "filters", "message"),
    [
        ("", 5, SearchFilters(), "must not be empty"),
        ("x" * 10_000, 5, SearchFilters(), "longer than"),
        ("nurse", 0, SearchFilters(), "k must be"),
        ("nurse", 5, SearchFilters(max_cost=-1), "max_cost"),
        ("nurse", 5, SearchFilters(max_hours=1e12), "max_hours"),
        ("nurse", 5, SearchFilters(format="telepathy"), "format"),
    ],
)
def test_bad_input_is_a_clear_error(services, query, k, filters, message):
    with pytest.raises(InvalidQuery, match=message):
        services.search.search(query, k=k, filters=filters)


def test_stale_or_corrupt_index_is_refused(services, settings, tmp_path, built):
    copy = tmp_path / "index"
    shutil.copytree(settings.index_dir, copy)
    load_index(copy, fingerprint=built.fingerprint)  # the real one loads
    with pytest.raises(IndexError_, match="stale"):
        load_index(copy, fingerprint="0000000000000000")
    meta = json.loads((copy / "credentials.json").read_text())
    (copy / "credentials.json").write_text(json.dumps(meta | {"model": "other-model", "dim": 768}))
    with pytest.raises(IndexError_, match="other-model"):
        load_index(copy, fingerprint=built.fingerprint)
    (copy / "credentials.json").write_text(json.dumps(meta))
    (copy / "credentials.faiss").write_bytes(b"not an index")
    with pytest.raises(IndexError_, match="corrupt"):
        load_index(copy, fingerprint=built.fingerprint)


def test_incremental_rebuild_reembeds_only_changes(services, settings, tmp_path):
    from knowledge.documents import build_credential_index
    from knowledge.embed import EmbeddingCache

    cache = EmbeddingCache(settings.var_dir / "embeddings.npz")
    assert len(cache) >= 300
    n, fresh = build_credential_index(
        settings, services.engine, "test-fp", services.encoder, progress=False
    )
    assert fresh == 0 and n == len(cache)
