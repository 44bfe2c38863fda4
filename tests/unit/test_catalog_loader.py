"""Catalog validation: every error names file, record and field; loading is all-or-nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from knowledge.loaders.catalog import CatalogError, load_catalog, parse_provider_document

REPO = Path(__file__).resolve().parents[2]
# The credentials the knowledge-base issue names (docs/catalog-format.md, "Required credential ids").
REQUIRED = set(
    [
        "google-it-support",
        "google-data-analytics",
        "google-cybersecurity",
        "google-project-management",
        "google-ux-design",
        "google-digital-marketing-ecommerce",
        "google-advanced-data-analytics",
        "ibm-data-analyst",
        "ibm-data-science",
        "ibm-cybersecurity-analyst",
        "meta-front-end-developer",
        "meta-social-media-marketing",
        "microsoft-azure-fundamentals-az-900",
        "microsoft-power-bi-data-analyst-pl-300",
        "microsoft-office-specialist-excel",
        "aws-cloud-practitioner",
        "aws-solutions-architect-associate",
        "comptia-a-plus",
        "comptia-network-plus",
        "comptia-security-plus",
        "comptia-linux-plus",
        "cisco-ccna",
        "isc2-certified-in-cybersecurity",
        "pmi-capm",
        "pmi-pmp",
        "shrm-cp",
        "hrci-aphr",
        "salesforce-administrator",
        "hubspot-inbound-marketing",
        "intuit-bookkeeping",
        "redhat-rhcsa",
        "nha-ccma",
        "nha-cpt",
        "ptcb-cpht",
        "texas-hhsc-cna",
        "american-welding-society-certified-welder",
        "epa-section-608",
        "osha-10-construction",
        "osha-30-construction",
        "asq-six-sigma-green-belt",
        "atd-instructional-design-certificate",
    ]
)


def credential(**overrides):
    base = {
        "id": "acme-widget-basics",
        "name": "Acme Widget Basics",
        "type": "digital_badge",
        "description": "Short course on widgets.",
        "url": "https://example.org/widgets",
        "delivery": ["online_self_paced"],
        "level": "beginner",
        "hours": None,
        "cost_usd": 49,
        "skills": ["Microsoft Excel"],
        "occupations": ["15-1232.00"],
        "source": {"url": "https://example.org/widgets", "recorded": "2026-11-28"},
    }
    base.update(overrides)
    return base


def doc(*creds):
    return {
        "provider": {"id": "acme", "name": "Acme", "kind": "vendor", "url": "https://example.org"},
        "credentials": list(creds),
    }


def parse(d):
    problems: list[str] = []
    cat = parse_provider_document("acme.yaml", d, problems)
    return cat, problems


def test_valid_record_parses_and_keeps_unknown_as_none():
    cat, problems = parse(doc(credential()))
    assert problems == []
    (c,) = cat.credentials
    assert c.hours is None and c.weeks is None
    assert c.cost_usd == 49.0
    assert c.source.url == "https://example.org/widgets"


@pytest.mark.parametrize(
    ("field", "value", "expect"),
    [
        ("cost_usd", -5, "field 'cost_usd'"),
        ("cost_usd", "cheap", "field 'cost_usd'"),
        ("hours", 10**9, "field 'hours'"),
        ("type", "diploma", "field 'type'"),
        ("delivery", ["telepathy"], "field 'delivery'"),
        ("url", "javascript:alert(1)", "field 'url'"),
        ("description", "<script>alert(1)</script>", "HTML tags are not allowed"),
        ("occupations", ["data analyst"], "O*NET-SOC code"),
        ("source", None, "field 'source'"),
        ("name", "", "field 'name'"),
    ],
)
def test_errors_name_file_record_and_field(field, value, expect):
    _, problems = parse(doc(credential(**{field: value})))
    assert problems, f"{field}={value!r} should be rejected"
    assert any("acme.yaml" in p and "acme-widget-basics" in p and expect in p for p in problems), (
        problems
    )


def test_free_with_a_price_is_rejected():
    _, problems = parse(doc(credential(free=True, cost_usd=100)))
    assert any("free credential" in p for p in problems)


def test_real_catalog_loads_and_meets_coverage(tmp_path):
    cat = load_catalog(REPO / "knowledge" / "catalog")
    assert len(cat.credentials) >= 300
    assert len({c.provider_id for c in cat.credentials}) >= 40
    for c in cat.credentials:
        assert c.source.url.startswith("http") and c.source.recorded
    ids = {c.id for c in cat.credentials}
    assert not REQUIRED - ids, f"required credentials missing: {sorted(REQUIRED - ids)}"


def test_a_broken_file_fails_the_whole_load(tmp_path):
    shutil.copytree(REPO / "knowledge" / "catalog", tmp_path / "catalog")
    (tmp_path / "catalog" / "providers" / "zz-broken.yaml").write_text(
        yaml.safe_dump(
            doc(credential(id="zz-broken-one", cost_usd=-1))
            | {"provider": {"id": "zz-broken", "name": "Broken", "kind": "vendor"}}
        )
    )
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path / "catalog")
    assert "zz-broken.yaml" in str(err.value) and "cost_usd" in str(err.value)


def test_malformed_yaml_is_reported_with_the_file_name(tmp_path):
    shutil.copytree(REPO / "knowledge" / "catalog", tmp_path / "catalog")
    (tmp_path / "catalog" / "providers" / "bad.yaml").write_text("provider: [unclosed\n")
    with pytest.raises(CatalogError, match="bad.yaml: invalid YAML"):
        load_catalog(tmp_path / "catalog")


def test_duplicate_ids_and_dangling_articulations_are_errors(tmp_path):
    shutil.copytree(REPO / "knowledge" / "catalog", tmp_path / "catalog")
    google = yaml.safe_load((tmp_path / "catalog" / "providers" / "google.yaml").read_text())
    dup = dict(google["credentials"][0])
    (tmp_path / "catalog" / "providers" / "acme.yaml").write_text(
        yaml.safe_dump(
            {"provider": {"id": "acme", "name": "Acme", "kind": "vendor"}, "credentials": [dup]}
        )
    )
    (tmp_path / "catalog" / "institutions" / "zz.yaml").write_text(
        yaml.safe_dump(
            {
                "institution": {"id": "zz", "name": "ZZ College", "example": True},
                "articulations": [
                    {
                        "credential": "no-such-credential",
                        "program": "no-such-program",
                        "kind": "transfer_credit",
                        "source": {"url": "https://example.org", "recorded": "2026-11-28"},
                    }
                ],
            }
        )
    )
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path / "catalog")
    text = str(err.value)
    assert f"duplicate credential id '{dup['id']}'" in text
    assert "unknown credential" in text and "unknown program" in text
