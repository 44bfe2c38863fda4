"""`stackwise catalog import`: CTDL JSON-LD, CSV + mapping and our YAML, all-or-nothing.

Every test works on a temporary copy of knowledge/catalog; the real catalog is never touched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml

from knowledge.importer import detect_format, import_catalog, onet_codes, plan_import
from knowledge.loaders.catalog import CatalogError, load_catalog
from knowledge.loaders.ctdl import convert_ctdl, parse_duration

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "import"
CTDL = FIXTURES / "example-college-ctdl.jsonld"
CSV = FIXTURES / "example-college-courses.csv"
MAPPING = FIXTURES / "example-college-mapping.yaml"
TODAY = dt.date(2026, 11, 28)
ORG = "example-valley-technical-college"


@pytest.fixture(scope="module")
def codes():
    known = onet_codes(REPO / "knowledge" / "reference")
    assert known, "O*NET reference data is missing"
    return known


@pytest.fixture
def catalog(tmp_path):
    """A private copy of the real catalog."""
    target = tmp_path / "catalog"
    shutil.copytree(REPO / "knowledge" / "catalog", target)
    return target


def snapshot(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def by_id(catalog_dir: Path) -> dict:
    return {c.id: c for c in load_catalog(catalog_dir).credentials}


# --- CTDL -----------------------------------------------------------------------------------


def test_ctdl_import_converts_fields(catalog, codes):
    plan = import_catalog(CTDL, catalog, today=TODAY, known_occupations=codes)
    assert plan.format == "ctdl" and plan.created
    assert plan.target == catalog / "providers" / f"{ORG}.yaml"
    assert len(plan.added) == 3 and plan.updated == ()
    doc = yaml.safe_load(plan.target.read_text())
    assert doc["provider"] == {
        "id": ORG,
        "name": "Example Valley Technical College",
        "kind": "college",
        "url": "https://example.edu/",
    }
    creds = by_id(catalog)

    coding = creds[f"{ORG}-example-medical-coding-certificate"]
    assert coding.type == "college_certificate"
    assert coding.hours == 120.0 and coding.weeks is None  # PT120H
    assert coding.cost_usd == 2550.0  # tuition 2400 + technology fee 150
    assert "Tuition $2,400" in coding.cost_note and "Technology Fee $150" in coding.cost_note
    assert coding.occupations == ("29-2072.00",)  # "29-2072" normalized
    assert coding.skills == ("Medical coding", "Medical terminology", "Health insurance claims")
    assert coding.delivery == ("hybrid",)
    assert coding.financial_aid is True and coding.free is False
    assert coding.language == "en"
    assert coding.url == "https://example.edu/programs/medical-coding"
    assert coding.source.url == (
        "https://credentialfinder.org/credential/ce-00000000-0000-4000-8000-0000000000a1"
    )
    assert coding.source.recorded == TODAY
    assert coding.verified is False and coding.provider_id == ORG

    cert = creds[f"{ORG}-example-it-support-technician-certification"]
    assert cert.type == "industry_certification"
    assert cert.hours is None and cert.weeks == 12.0  # P12W
    assert cert.cost_usd == 1250.0  # the aggregate cost alone, not aggregate + tuition
    assert cert.occupations == ("15-1232.00",)  # from the O*NET targetNode URL
    assert cert.skills == ("Technical support", "Troubleshooting", "Microsoft Windows")
    assert cert.delivery == ("online_instructor_led", "in_person")
    assert cert.url.startswith("https://credentialfinder.org/credential/")  # no subjectWebpage

    badge = creds[f"{ORG}-example-shop-safety-badge"]
    assert badge.type == "digital_badge"
    assert badge.cost_usd == 0.0 and badge.free is True
    assert badge.hours is None and badge.weeks is None  # only a min/max range: unknown
    assert badge.occupations == ("51-4121.00",)  # from isPreparationFor
    assert badge.skills == ("Workplace safety", "Welding")


def test_ctdl_import_into_an_institution_keeps_its_file(catalog, codes):
    target = catalog / "institutions" / "example-community-college.yaml"
    before = yaml.safe_load(target.read_text())
    plan = import_catalog(
        CTDL, catalog, institution="example-community-college", today=TODAY, known_occupations=codes
    )
    assert plan.target == target and not plan.created and len(plan.added) == 3
    text = target.read_text()
    assert text.startswith("# EXAMPLE / DEMO DATA ONLY.")  # header comment kept
    after = yaml.safe_load(text)
    assert after["institution"] == before["institution"]
    assert after["programs"] == before["programs"]
    assert after["articulations"] == before["articulations"]
    creds = by_id(catalog)
    badge = creds["example-community-college-example-shop-safety-badge"]
    assert badge.institution_id == "example-community-college"
    assert badge.provider_id == "example-community-college"


def test_reimport_replaces_records_in_place(catalog, codes):
    import_catalog(CTDL, catalog, today=TODAY, known_occupations=codes)
    first = (catalog / "providers" / f"{ORG}.yaml").read_text()
    again = import_catalog(CTDL, catalog, today=TODAY, known_occupations=codes)
    assert again.added == () and len(again.updated) == 3
    assert (catalog / "providers" / f"{ORG}.yaml").read_text() == first


@pytest.mark.parametrize(
    ("text", "hours", "weeks"),
    [
        ("PT120H", 120.0, None),
        ("PT1H30M", 1.5, None),
        ("P12W", None, 12.0),
        ("P10D", None, 1.4),
        ("P3M", None, 13.0),
        ("P1Y", None, 52.0),
    ],
)
def test_parse_duration(text, hours, weeks):
    assert parse_duration(text) == (hours, weeks)


@pytest.mark.parametrize("text", ["120 hours", "P", "PT", "P1DT2H", "12W"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_ctdl_skips_degrees_and_reads_value_objects():
    doc = json.loads(CTDL.read_text())
    doc["@graph"][1]["ceterms:name"] = {"@language": "en-US", "@value": "Example Coding Cert"}
    doc["@graph"].append(
        {
            "@id": "https://example.org/ctdl/resources/ce-degree",
            "@type": "ceterms:AssociateDegree",
            "ceterms:name": {"en-US": "Example A.A.S. Health Information"},
        }
    )
    problems: list[str] = []
    result = convert_ctdl("x.jsonld", doc, today=TODAY, problems=problems)
    assert problems == []
    assert [r.raw["name"] for r in result.records][0] == "Example Coding Cert"
    assert len(result.records) == 3
    assert result.skipped == [
        "Example A.A.S. Health Information (AssociateDegree: not a micro-credential)"
    ]


def test_ctdl_with_two_owners_is_refused(catalog):
    doc = json.loads(CTDL.read_text())
    other = dict(doc["@graph"][0], **{"@id": "https://example.org/other"})
    other["ceterms:name"] = {"en-US": "Example Other College"}
    doc["@graph"].append(other)
    (cert,) = [n for n in doc["@graph"] if n["@type"] == "ceterms:Certification"]
    cert["ceterms:ownedBy"] = ["https://example.org/other"]
    source = catalog.parent / "two-owners.jsonld"
    source.write_text(json.dumps(doc))
    with pytest.raises(CatalogError, match="owned by 2 organizations"):
        plan_import(source, catalog, today=TODAY)


def test_unknown_onet_code_is_rejected(catalog, codes):
    doc = json.loads(CTDL.read_text())
    doc["@graph"][1]["ceterms:occupationType"][0]["ceterms:codedNotation"] = "29-9999"
    source = catalog.parent / "unknown-soc.jsonld"
    source.write_text(json.dumps(doc))
    before = snapshot(catalog)
    with pytest.raises(CatalogError) as err:
        import_catalog(source, catalog, today=TODAY, known_occupations=codes)
    assert any(
        "unknown-soc.jsonld" in p
        and "example-medical-coding-certificate" in p
        and "field 'occupations'" in p
        and "29-9999.00" in p
        for p in err.value.problems
    ), err.value.problems
    assert snapshot(catalog) == before


# --- CSV ------------------------------------------------------------------------------------


def test_csv_mapping_and_empty_cells_are_none(catalog, codes):
    plan = import_catalog(CSV, catalog, mapping=MAPPING, today=TODAY, known_occupations=codes)
    assert plan.format == "csv" and plan.target == catalog / "providers" / f"{ORG}.yaml"
    creds = by_id(catalog)
    hvac = creds[f"{ORG}-example-hvac-fundamentals-certificate"]
    assert hvac.hours == 180.0 and hvac.weeks == 16.0 and hvac.cost_usd == 3200.0  # "$3,200"
    assert hvac.delivery == ("in_person", "hybrid")  # split on ';'
    assert hvac.skills == ("HVAC", "Refrigeration", "Electrical wiring")
    assert hvac.occupations == ("49-9021.00",)  # "49-9021" normalized
    assert hvac.financial_aid is True
    assert hvac.source.url == "https://example.edu/programs/hvac-fundamentals"
    assert hvac.source.recorded == dt.date(2026, 11, 20)
    assert hvac.language == "en" and hvac.level == "beginner"  # mapping defaults

    book = creds[f"{ORG}-example-bookkeeping-essentials-badge"]
    assert book.hours is None and book.weeks is None and book.cost_usd is None  # never 0
    assert book.cost_note is None
    assert book.source.recorded == TODAY  # empty "Last Reviewed": the import date

    pharm = creds[f"{ORG}-example-pharmacy-technician-certificate"]
    assert pharm.cost_usd == 0.0  # an explicit 0 stays 0
    assert pharm.hours is None and pharm.weeks == 32.0
    raw = yaml.safe_load(plan.target.read_text())["credentials"]
    assert {c["name"]: c["hours"] for c in raw}["Example Bookkeeping Essentials Badge"] is None


def test_csv_into_new_institution_file(catalog, codes):
    plan = import_catalog(
        CSV, catalog, mapping=MAPPING, institution=ORG, today=TODAY, known_occupations=codes
    )
    assert plan.target == catalog / "institutions" / f"{ORG}.yaml" and plan.created
    inst = {i.id: i for i in load_catalog(catalog).institutions}[ORG]
    assert inst.example is True and inst.name.startswith("Example Valley")


def test_csv_id_clash_with_another_file(catalog, tmp_path):
    source = tmp_path / "clash.csv"
    source.write_text(
        "Code,Title,Summary,Page\n"
        "comptia-security-plus,Example Security Course,EXAMPLE DATA ONLY.,https://example.edu/s\n"
    )
    mapping = tmp_path / "clash.yaml"
    mapping.write_text(
        yaml.safe_dump(
            {
                "provider": {"id": "example-clash", "name": "Example Clash", "kind": "college"},
                "columns": {
                    "id": "Code",
                    "name": "Title",
                    "description": "Summary",
                    "url": "Page",
                    "source_url": "Page",
                },
                "defaults": {"type": "college_certificate", "skills": ["Network security"]},
            }
        )
    )
    with pytest.raises(CatalogError) as err:
        plan_import(source, catalog, mapping=mapping, today=TODAY)
    assert any(
        "clash.csv" in p
        and "'comptia-security-plus'" in p
        and "field 'id'" in p
        and "providers/comptia.yaml" in p
        for p in err.value.problems
    ), err.value.problems


def test_mapping_errors_name_the_mapping_file(catalog, tmp_path):
    mapping = tmp_path / "bad-mapping.yaml"
    mapping.write_text(yaml.safe_dump({"columns": {"name": "Title", "price": "Tuition"}}))
    with pytest.raises(CatalogError) as err:
        plan_import(CSV, catalog, mapping=mapping)
    problems = err.value.problems
    assert any("bad-mapping.yaml" in p and "field 'price'" in p for p in problems), problems
    assert any("bad-mapping.yaml" in p and "field 'source_url'" in p for p in problems), problems


def test_csv_needs_a_mapping(catalog):
    with pytest.raises(CatalogError, match="--mapping"):
        plan_import(CSV, catalog)


# --- our YAML -------------------------------------------------------------------------------


def test_stackwise_yaml_import_copies_the_file(catalog):
    source = FIXTURES / "example-provider.yaml"
    plan = import_catalog(source, catalog)
    assert plan.format == "stackwise" and plan.added == ("example-import-provider-forklift",)
    assert plan.target.read_text() == source.read_text()
    assert "example-import-provider-forklift" in by_id(catalog)


# --- broken files: errors name file, record and field; nothing is written --------------------


@pytest.mark.parametrize(
    ("name", "mapping", "expected"),
    [
        (
            "broken-ctdl.jsonld",
            None,
            [("example-broken-certificate'", "field 'ceterms:estimatedDuration'")],
        ),
        (
            "broken-courses.csv",
            MAPPING,
            [
                ("example-welding-certificate'", "field 'cost_usd' (column 'Tuition (USD)')"),
                ("example-nurse-aide-certificate'", "field 'type' (column 'Award Type')"),
                ("example-nurse-aide-certificate'", "field 'source' (column 'Source Page')"),
            ],
        ),
        (
            "broken-provider.yaml",
            None,
            [("'example-broken-provider-widgets'", "field 'cost_usd'")],
        ),
    ],
)
def test_broken_files_name_file_record_and_field(catalog, codes, name, mapping, expected):
    before = snapshot(catalog)
    with pytest.raises(CatalogError) as err:
        import_catalog(
            FIXTURES / name, catalog, mapping=mapping, today=TODAY, known_occupations=codes
        )
    problems = err.value.problems
    for record, fld in expected:
        assert any(name in p and record in p and fld in p for p in problems), (record, problems)
    assert snapshot(catalog) == before, "a failed import must not write anything"


def test_broken_json_is_a_catalog_error(catalog, tmp_path):
    source = tmp_path / "truncated.jsonld"
    source.write_text(CTDL.read_text()[:500])
    with pytest.raises(CatalogError, match="truncated.jsonld: invalid JSON"):
        plan_import(source, catalog)


# --- dry run and the command line -----------------------------------------------------------


def test_dry_run_writes_nothing(catalog, codes):
    before = snapshot(catalog)
    plan = import_catalog(CTDL, catalog, dry_run=True, today=TODAY, known_occupations=codes)
    assert plan.created and len(plan.added) == 3 and "credentials:" in plan.text
    assert snapshot(catalog) == before


def test_cli_import(catalog, settings, monkeypatch, capsys):
    import bot.cli
    import knowledge.config

    local = dataclasses.replace(settings, catalog_dir=catalog)
    monkeypatch.setattr(knowledge.config, "get_settings", lambda: local)
    builds: list[bool] = []
    monkeypatch.setattr(bot.cli, "cmd_build", lambda args: builds.append(args.force) or 0)
    before = snapshot(catalog)

    assert bot.cli.main(["catalog", "import", str(CTDL), "--dry-run"]) == 0
    assert "3 credential(s) added" in capsys.readouterr().out
    assert snapshot(catalog) == before and builds == []

    args = ["catalog", "import", str(CSV), "--format", "csv", "--mapping", str(MAPPING)]
    assert bot.cli.main(args) == 0
    assert (catalog / "providers" / f"{ORG}.yaml").exists()
    assert builds == [False], "a real import runs the build"

    assert bot.cli.main(["catalog", "import", str(FIXTURES / "broken-ctdl.jsonld")]) == 2
    assert "field 'ceterms:estimatedDuration'" in capsys.readouterr().err


def test_detect_format(tmp_path):
    assert detect_format(CTDL) == "ctdl"
    assert detect_format(CSV) == "csv"
    assert detect_format(MAPPING) == "stackwise"
    export = tmp_path / "export.txt"
    export.write_text('{"@graph": []}')
    assert detect_format(export) == "ctdl"
