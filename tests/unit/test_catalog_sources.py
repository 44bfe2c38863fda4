"""The catalog at scale: every configured source is loaded, every record carries its source,
URL and as-of date, programs keep their campuses, and bad source files stop the build without
touching the DB and index in place."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import shutil

import numpy as np
import pytest
from sqlalchemy import func, select

from knowledge import schema
from knowledge.build import build_database
from knowledge.catalog_report import catalog_report, format_report
from knowledge.db import make_engine
from knowledge.loaders.catalog import CatalogError
from knowledge.places import resolve_place
from knowledge.recommend import SearchFilters
from knowledge.sources import SOURCE_FILES
from knowledge.sources.links import CredentialName, ladders, link_programs_to_credentials
from knowledge.sources.records import Provenance, TrainingProgramRecord


def test_catalog_holds_every_source_at_scale(built, settings):
    c = built.counts
    assert c["credentials"] + c["training_programs"] >= 11_000
    assert c["training_programs"] >= 5_000 and c["program_offerings"] >= 6_000
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            sources = dict(
                conn.execute(
                    select(schema.Credential.source, func.count()).group_by(
                        schema.Credential.source
                    )
                ).all()
            )
            assert sources["curated"] >= 300 and sources["careeronestop"] >= 6_000
            names = set(conn.execute(select(schema.CatalogSource.name)).scalars())
            assert names == {"curated", "texas-etpl", "careeronestop"}
            credits = conn.execute(select(schema.CatalogSource.credit)).scalars().all()
            assert all(credit and len(credit) > 40 for credit in credits)
    finally:
        engine.dispose()


def test_every_record_has_source_url_and_as_of_date(built, settings):
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            C, P = schema.Credential, schema.TrainingProgram
            for table in (C, P):
                missing = conn.execute(
                    select(func.count())
                    .select_from(table)
                    .where(
                        table.source.is_(None)
                        | table.source_url.is_(None)
                        | (table.source_url == "")
                        | table.as_of.is_(None)
                    )
                ).scalar_one()
                assert missing == 0, f"{table.__tablename__}: records without provenance"
                urls = conn.execute(select(table.source_url)).scalars().all()
                assert all(u.startswith(("http://", "https://")) for u in urls)
            # An ETPL program is as of its own last-update date, never after the list's date.
            latest = conn.execute(select(func.max(P.as_of))).scalar_one()
            assert latest <= dt.date(2024, 3, 20)
    finally:
        engine.dispose()


def test_texas_programs_have_known_plausible_cost_and_duration(built, settings):
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            P = schema.TrainingProgram
            total = conn.execute(select(func.count()).select_from(P)).scalar_one()
            known = conn.execute(
                select(func.count())
                .select_from(P)
                .where(P.required_cost_usd.is_not(None))
                .where(P.hours.is_not(None) | P.weeks.is_not(None))
            ).scalar_one()
            implausible = conn.execute(
                select(func.count())
                .select_from(P)
                .where((P.weeks > 520) | (P.hours > 20_000) | (P.required_cost_usd < 0))
            ).scalar_one()
    finally:
        engine.dispose()
    assert known / total >= 0.90
    assert implausible == 0


def test_catalog_report_names_each_source_and_its_rejections(built, settings):
    engine = make_engine(settings.database_url)
    try:
        figures = {f.name: f for f in catalog_report(engine)}
    finally:
        engine.dispose()
    etpl = figures["texas-etpl"]
    assert etpl.share("place") == 1.0 and etpl.share("cost") > 0.9
    assert etpl.rejected["weeks_sentinel"] > 0 and etpl.rejected["city_corrected"] > 0
    assert figures["careeronestop"].merged >= 100
    text = format_report(list(figures.values()))
    assert "texas-etpl" in text and "rejected by weeks_sentinel" in text


def test_place_filter_and_distance_rank_local_programs(services):
    place = resolve_place("San Antonio")
    near = SearchFilters(near=(place.lat, place.lon), radius_miles=40)
    results = services.search.search("welding classes", k=5, filters=near)
    programs = [r for r in results if r.kind == "program"]
    assert programs and all(r.miles is not None and r.miles <= 40 for r in programs)
    assert any(
        "st philip" in r.provider.lower().replace(".", "").replace("'", "")
        or "alamo" in r.provider.lower()
        for r in programs
    )
    # Never a program that is only offered farther away and not online.
    table = services.search.table
    allowed = set(services.search.allowed_nums(near).tolist())
    best, _ = table.nearest(near.near)
    far_in_person = table.program & ~table.online & (best > 40)
    assert not allowed & set(table.nums[far_in_person].tolist())


def test_programs_and_credentials_facts_carry_provenance(services):
    results = services.search.search("pharmacy technician", k=10)
    facts = services.search.facts([r.id for r in results])
    assert {f["kind"] for f in facts.values()} <= {"program", "credential"}
    for f in facts.values():
        assert f["source"] in {"curated", "texas-etpl", "careeronestop"}
        assert f["as_of"] and f["source_url"]


def _program(pid: str, provider: str, outcome: str, cip: str, credential: str | None = None):
    return TrainingProgramRecord(
        id=pid,
        provider_id=provider,
        provider_name=provider,
        provider_type="community_college",
        name=pid,
        description=None,
        url=None,
        cip=cip,
        occupations=(),
        outcome=outcome,
        credential_name=credential,
        hours=None,
        weeks=None,
        tuition_fees_usd=None,
        books_supplies_usd=None,
        required_cost_usd=None,
        optional_cost_usd=None,
        out_of_district_usd=None,
        cost_notes=(),
        pell_eligible=None,
        prerequisites=None,
        apprentices=None,
        offerings=(),
        provenance=Provenance("texas-etpl", "https://example.edu", dt.date(2024, 1, 1)),
    )


def test_ladders_join_a_certificate_to_the_associate_degree_of_its_field():
    programs = [
        _program("cert", "spc", "college_certificate", "48.0508"),
        _program("aas", "spc", "associate_degree", "48.0508"),
        _program("family", "spc", "college_certificate", "48.0511"),
        _program("other-college", "alamo", "college_certificate", "48.0508"),
        _program("nursing", "spc", "college_certificate", "51.3902"),
    ]
    assert ladders(programs) == [
        ("cert", "aas", "same_cip"),
        ("family", "aas", "same_cip_family"),
    ]


def test_a_program_links_only_to_a_credential_it_names_clearly():
    creds = [
        CredentialName("comptia-a-plus", "CompTIA A+", None),
        CredentialName("ptcb-cpht", "Certified Pharmacy Technician (CPhT)", None),
        CredentialName("cos-1", "Certified Welder", "CW"),
        CredentialName("cos-2", "Certified Welder", "CW"),
    ]
    programs = [
        _program("a", "p", "industry_certification", "11.0901", "CompTIA A+"),
        _program("b", "p", "industry_certification", "51.0805", "CPhT"),
        _program("c", "p", "industry_certification", "48.0508", "Certified Welder"),
        _program("d", "p", "industry_certification", "11.0901", "Computer stuff"),
    ]
    links = link_programs_to_credentials(programs, creds)
    assert links["a"].credential_id == "comptia-a-plus" and links["a"].rule == "name"
    assert links["b"].credential_id == "ptcb-cpht" and links["b"].rule == "acronym"
    assert "c" not in links  # two credentials of that name: not clear, no link
    assert "d" not in links


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("damage", ["missing_column", "short_row", "text_in_number"])
def test_bad_source_file_stops_the_build_and_keeps_the_db_and_index(
    built, settings, tmp_path, damage
):
    reference = tmp_path / "reference"
    shutil.copytree(settings.reference_dir, reference)
    etpl = reference / SOURCE_FILES["texas-etpl"]
    lines = etpl.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].split("\t")
    if damage == "missing_column":
        lines[0] = "\t".join(h for h in header if h != "Length: Contact Hours")
    elif damage == "short_row":
        lines[7] = "\t".join(lines[7].split("\t")[:10]) + "\n"
    else:
        cells = lines[7].split("\t")
        cells[header.index("Length: Contact Hours")] = "about twenty"
        lines[7] = "\t".join(cells)
    etpl.write_text("".join(lines), encoding="utf-8")
    db = settings.var_dir / "stackwise.db"
    index_files = sorted(p for p in settings.index_dir.iterdir() if p.is_file())
    before = {p: _digest(p) for p in [db, *index_files]}
    with pytest.raises(CatalogError) as err:
        build_database(dataclasses.replace(settings, reference_dir=reference))
    message = str(err.value)
    assert "statewide_etpl_2024-03-20.tsv" in message
    if damage != "missing_column":
        assert "row 8" in message or "line 8" in message
    if damage != "short_row":
        assert "Length: Contact Hours" in message
    assert {p: _digest(p) for p in before} == before


def test_a_college_can_run_with_its_own_files_only(built, settings, tmp_path):
    var = tmp_path / "var"
    local = dataclasses.replace(
        settings,
        var_dir=var,
        database_url=f"sqlite:///{var / 'stackwise.db'}",
        catalog_sources=("curated",),
    )
    result = build_database(local, force=True)
    assert result.counts["training_programs"] == 0
    assert result.counts["credentials"] == built.counts["credentials"] - _imported(settings)
    engine = make_engine(local.database_url)
    try:
        with engine.connect() as conn:
            names = conn.execute(select(schema.CatalogSource.name)).scalars().all()
            sources = set(conn.execute(select(schema.Credential.source)).scalars())
    finally:
        engine.dispose()
    assert names == ["curated"] and sources == {"curated"}
    assert not np.isnan(result.seconds)


def _imported(settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(func.count())
                .select_from(schema.Credential)
                .where(schema.Credential.source != "curated")
            ).scalar_one()
    finally:
        engine.dispose()
