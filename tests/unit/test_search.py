"""Semantic search with filters, id mapping, and refusal of stale or corrupt indexes."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from sqlalchemy import select

from knowledge import schema
from knowledge.index import IndexError_, load_index
from knowledge.recommend import InvalidQuery, SearchFilters


def test_meaning_not_keywords(services):
    # At catalog scale the answers are Texas HVAC programs as well as the EPA 608 credential.
    top = services.search.search("I want to fix air conditioners", k=5)
    hvac = re.compile(r"hvac|air condition|refrigerat|heating|608", re.IGNORECASE)
    assert all(hvac.search(f"{r.name} {r.id}") for r in top), [r.name for r in top]
    cloud = [r.id for r in services.search.search("Amazon's cloud", k=5)]
    assert any(i.startswith("aws-") for i in cloud)


def test_results_map_to_db_rows(services):
    results = services.search.search("data analyst with spreadsheets and SQL", k=5)
    assert len(results) == 5
    with services.engine.connect() as conn:
        rows = dict(conn.execute(select(schema.Credential.id, schema.Credential.name)).all())
        # At catalog scale a result may be a training program.
        rows |= dict(
            conn.execute(select(schema.TrainingProgram.id, schema.TrainingProgram.name)).all()
        )
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
    # One vector per distinct text: a provider may list the same program twice (ETPL).
    texts = {d.text for d in services.search.docs}
    assert fresh == 0 and n == len(services.search.docs) and len(cache) == len(texts)


# -- the fast paths give exactly what the straightforward ones gave ---------------------------


def test_lexical_index_scores_are_rank_bm25s_bit_for_bit():
    from rank_bm25 import BM25Okapi

    from knowledge.recommend import LexicalIndex

    texts = (
        "aws cloud practitioner cloud basics",
        "comptia a+ it support help desk cloud",
        "welding certification weld inspect",
        "cloud security and it support",  # "cloud" in most docs: rank_bm25's idf floor
        "",
    )
    corpus = [t.split() for t in texts]
    ours, theirs = LexicalIndex(corpus), BM25Okapi(corpus)
    for terms in (["cloud"], ["cloud", "cloud", "support"], ["unknown", "weld"], []):
        assert np.array_equal(ours.scores(terms), theirs.get_scores(terms))


def test_lexical_scores_match_rank_bm25_on_the_catalog(services):
    from rank_bm25 import BM25Okapi

    from knowledge.recommend import lexical_terms

    search = services.search
    reference = BM25Okapi([lexical_terms(d.text) for d in search.docs])
    for q in ("I want to fix air conditioners", "AZ-900 and CCNA", "nurse nurse aide", "zzz"):
        assert np.array_equal(search.lexical_scores(q), reference.get_scores(lexical_terms(q)))


def test_lean_encoder_is_transformers_bit_for_bit(services):
    import torch

    from knowledge.embed import _features

    encoder = services.encoder
    model = encoder.model
    assert encoder._lean is not None  # the model is the plain BERT encoder it replays
    texts = ["nurse", "get into cloud at amazon", "C++ / C# dev?", "weld " * 400]  # last: cut
    with torch.inference_mode():
        for text in texts:
            features = _features(model, text)
            expected = model[0].auto_model(**features).last_hidden_state[0]
            assert torch.equal(encoder._lean(features), expected)


def test_cached_work_gives_the_same_results(services):
    search = services.search
    filters = SearchFilters(max_cost=300, level="beginner")
    first = [r.to_dict() for r in search.search("help desk job with no degree", 5, filters)]
    vec = search.query_vector("help desk job with no degree")
    assert not vec.flags.writeable  # shared between requests: nobody may change it
    assert np.array_equal(vec, services.encoder.encode_query("help desk job with no degree"))
    again = [r.to_dict() for r in search.search("help desk job with no degree", 5, filters)]
    assert again == first
    allowed = search.allowed_nums(filters)
    assert search.allowed_nums(filters) is allowed  # cached per filter combination
    assert np.array_equal(allowed, search._query_allowed(filters))


def test_goal_skills_are_cached_per_goal_and_exclude_known_skills(services):
    search = services.search
    with services.engine.connect() as conn:
        code, skill = conn.execute(
            select(schema.OccupationSkill.code, schema.OccupationSkill.skill_id).where(
                schema.OccupationSkill.importance >= 0.5
            )
        ).first()
    gaps = search._gap_skills(code, set())
    assert skill in gaps
    assert skill not in search._gap_skills(code, {skill})
    assert search._gap_skills(code, set()) == gaps


def test_to_dict_is_a_deep_plain_copy(services):
    from dataclasses import asdict

    result = services.search.search("college credit for IT certifications", k=3)[0]
    d = result.to_dict()
    assert d == asdict(result) and list(d) == list(asdict(result))
    d["why"]["matched_skills"].append("changed")
    assert "changed" not in result.why["matched_skills"]
