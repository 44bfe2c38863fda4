"""CareerOneStop Certification Finder source: reading, curated matches, inferred occupations."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from knowledge.loaders.catalog import CatalogError, load_catalog
from knowledge.loaders.onet import read_occupations, read_technology
from knowledge.sources.careeronestop import (
    DATASET_URL,
    FILE_DATE,
    MIN_OCCUPATION_SCORE,
    SOURCE,
    certification_text,
    infer_occupations,
    match_curated,
    occupation_text,
    read_careeronestop,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "sources"
REAL = (
    REPO / "knowledge" / "reference" / "careeronestop-certifications" / "certification_finder.tsv"
)
ONET = REPO / "knowledge" / "reference" / "onet-29.3"


@pytest.fixture(scope="module")
def sample():
    records, report = read_careeronestop(FIXTURES / "cos_sample.tsv")
    return {r.external_id: r for r in records}, report


@pytest.fixture(scope="module")
def real():
    return read_careeronestop(REAL)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(REPO / "knowledge" / "catalog")


@pytest.fixture(scope="module")
def matches(real, catalog):
    return match_curated(real[0], catalog.credentials, catalog.providers)


# --- reading ---------------------------------------------------------------------------------


def test_sample_text_is_decoded_and_collapsed(sample):
    recs, _ = sample
    a_plus = recs["0019"]
    assert a_plus.id == "cos-0019"
    assert a_plus.name == "CompTIA A+ Certification"
    assert a_plus.description == (
        'The CompTIA A+ certification validates "foundational" IT skills & knowledge: '
        "hardware, software \u2013 and troubleshooting."
    )
    assert a_plus.org_id == "cos-org-0005"
    assert a_plus.org_acronym == "CompTIA"


def test_sample_flags_blank_is_none(sample):
    recs, _ = sample
    a_plus, ccma = recs["0019"], recs["3779"]
    assert a_plus.training_required is None  # blank TRAINING
    assert a_plus.exam_required is True and a_plus.ceu_required is True
    assert a_plus.cpd_required is False
    assert ccma.training_required is True
    assert ccma.ceu_required is None and ccma.reexam_required is None


def test_sample_renewal_type_and_urls(sample):
    recs, report = sample
    assert recs["0019"].renewal_years == 3.0
    assert recs["7018"].renewal_years == 0.5  # ".5" in the file
    adobe = recs["10100"]
    assert adobe.renewal_years is None
    assert any("renewal '0' rejected" in n for n in adobe.quality_notes)
    assert adobe.cert_type == "product"
    assert recs["8650"].cert_type == "skill"
    welder = recs["0350"]
    assert welder.url is None and welder.org_url is None
    assert welder.provenance.url == DATASET_URL  # no valid page of its own
    assert any("ftp://" in n for n in welder.quality_notes)
    assert any(n.startswith("org url 'www.aws.org'") for n in welder.quality_notes)
    assert recs["3779"].provenance.url.startswith("https://www.nhanow.com/")
    assert report.rejected == {
        "duplicate_cert_id": 1,
        "org_url_not_http": 1,
        "renewal_zero": 1,
        "url_not_http": 1,
    }


def test_sample_duplicate_id_is_one_record(sample):
    recs, report = sample
    assert report.records == len(recs) == 8
    acrp = recs["14051"]
    assert acrp.cert_type == "advanced"  # the first row's
    assert "also listed as type 'Core'" in acrp.quality_notes


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cos_missing_column.tsv", "cos_missing_column.tsv: row 1: header: missing column EXAM"),
        ("cos_short_row.tsv", "cos_short_row.tsv: row 3: row: 20 fields, the header has 27"),
        (
            "cos_flag_text.tsv",
            "cos_flag_text.tsv: row 3: TRAINING: expected 0, 1 or blank, got 'yes'",
        ),
    ],
)
def test_bad_input_names_file_row_and_field(name, expected):
    with pytest.raises(CatalogError) as err:
        read_careeronestop(FIXTURES / name)
    assert err.value.problems == [expected]


def test_real_file(real):
    records, report = real
    assert 6000 <= len(records) <= 6444
    assert len({r.id for r in records}) == len(records)
    assert report.rejected["duplicate_cert_id"] == 6444 - len(records)
    for r in records:
        assert r.provenance.source == SOURCE
        assert r.provenance.as_of == FILE_DATE == dt.date(2026, 3, 1)
        assert r.provenance.url.startswith(("http://", "https://"))
        assert r.url is None or r.url.startswith(("http://", "https://"))
    assert report.known["url"] == sum(r.url is not None for r in records) > 6000
    assert report.known["renewal_years"] > 4000
    assert {r.cert_type for r in records} == {
        "core",
        "advanced",
        "specialty",
        "product",
        "skill",
        None,
    }


# --- curated matches -------------------------------------------------------------------------


def _cos_id(real, org_name: str, name: str) -> str:
    (hit,) = [r.id for r in real[0] if r.org_name == org_name and r.name == name]
    return hit


@pytest.mark.parametrize(
    ("org", "name", "curated"),
    [
        ("Computing Technology Industry Association (CompTIA)", "CompTIA A+ Certification", "comptia-a-plus"),
        ("Computing Technology Industry Association (CompTIA)", "CompTIA Security+", "comptia-security-plus"),
        ("Computing Technology Industry Association (CompTIA)", "CompTIA Cybersecurity Analyst", "comptia-cysa-plus"),
        ("Project Management Institute", "Project Management Professional", "pmi-pmp"),
        ("National Healthcareer Association", "Certified Clinical Medical Assistant", "nha-ccma"),
        ("National Healthcareer Association", "Certified Phlebotomy Technician", "nha-cpt"),
        ("Amazon.com Web Services", "AWS Certified Cloud Practitioner", "aws-cloud-practitioner"),
        ("American Welding Society", "Certified Welding Inspector", "american-welding-society-certified-welding-inspector"),
    ],
)  # fmt: skip
def test_real_matches(real, matches, org, name, curated):
    assert matches[_cos_id(real, org, name)].curated_id == curated


def test_real_non_matches(real, matches, catalog):
    comptia = "Computing Technology Industry Association (CompTIA)"
    # Same organisation, different credential: never merged with a curated sibling.
    assert _cos_id(real, comptia, "CompTIA Project+") not in matches
    assert matches[_cos_id(real, comptia, "CompTIA Security+")].curated_id != "comptia-a-plus"
    # The family is not the track: CCNP is not "CCNP Enterprise".
    ccnp = _cos_id(real, "Cisco Systems, Inc.", "Cisco Certified Network Professional")
    assert ccnp not in matches
    # AWS the welding society is not AWS the cloud: no welding cert joins an Amazon credential.
    welding = {r.id for r in real[0] if r.org_name == "American Welding Society"}
    assert all(not m.curated_id.startswith("aws-") for k, m in matches.items() if k in welding)
    # One acronym, two curated credentials (PCM - Digital Marketing / - Marketing Management).
    pcm = _cos_id(real, "American Marketing Association", "Professional Certified Marketer")
    assert pcm not in matches


def test_matches_are_one_to_one(matches, catalog):
    curated_ids = [m.curated_id for m in matches.values()]
    assert len(curated_ids) == len(set(curated_ids))
    assert set(curated_ids) <= {c.id for c in catalog.credentials}
    assert len(matches) >= 120  # 148 on the file of 2026-03


# --- inferred occupations --------------------------------------------------------------------


@pytest.fixture(scope="session")
def occupation_vectors():
    """O*NET occupation texts encoded once per test session (~15 s on two cores)."""
    from knowledge.embed import Encoder

    tech: dict[str, list[tuple[bool, bool, str]]] = defaultdict(list)
    for t in read_technology(ONET):
        tech[t.code].append((not t.hot, not t.in_demand, t.example))
    occupations = read_occupations(ONET, None)
    texts = [
        occupation_text(o.code, o.title, o.description, [e for *_, e in sorted(tech[o.code])])
        for o in occupations
    ]
    encoder = Encoder()
    return encoder, encoder.encode(texts), [o.code for o in occupations]


@pytest.mark.parametrize(
    ("org", "name", "wanted"),
    [
        ("American Welding Society", "Certified Welder", {"51-4121.00"}),
        (
            "Pharmacy Technician Certification Board",
            "Certified Pharmacy Technician",
            {"29-2052.00"},
        ),
        (
            "Computing Technology Industry Association (CompTIA)",
            "CompTIA Network+",
            {"15-1231.00", "15-1232.00", "15-1244.00", "15-1241.00"},
        ),
    ],
)
def test_infer_occupations_real(real, occupation_vectors, org, name, wanted):
    encoder, occ_vecs, codes = occupation_vectors
    (cert,) = [r for r in real[0] if r.org_name == org and r.name == name]
    vec = encoder.encode([certification_text(cert)])
    (ranked,) = infer_occupations(vec, occ_vecs, codes, min_score=0.0)  # the ranking alone
    assert len(ranked) == 3 and wanted & {code for code, _ in ranked}, ranked
    (stored,) = infer_occupations(vec, occ_vecs, codes)  # what the default threshold keeps
    assert stored == [(c, s) for c, s in ranked if s >= MIN_OCCUPATION_SCORE]


def test_infer_occupations_default_keeps_a_confident_link(real, occupation_vectors):
    encoder, occ_vecs, codes = occupation_vectors
    (cert,) = [
        r
        for r in real[0]
        if r.org_name == "National Healthcareer Association"
        and r.name == "Certified Phlebotomy Technician"
    ]
    (stored,) = infer_occupations(encoder.encode([certification_text(cert)]), occ_vecs, codes)
    assert stored and stored[0][0] == "31-9097.00"  # Phlebotomists, cosine ~0.67


def test_infer_occupations_threshold_and_order():
    occ = np.eye(3, dtype="float32")
    certs = np.array([[0.6, 0.8, 0.0], [0.1, 0.1, 0.99]], dtype="float32")
    links = infer_occupations(certs, occ, ["a", "b", "c"], top_k=2, min_score=0.5)
    assert [[c for c, _ in row] for row in links] == [["b", "a"], ["c"]]
    assert links[0][0][1] == pytest.approx(0.8)
    with pytest.raises(ValueError):
        infer_occupations(certs, occ, ["a", "b"])
