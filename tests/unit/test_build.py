"""The knowledge build, end to end on the real catalog and reference data."""

from __future__ import annotations

from sqlalchemy import func, select

from knowledge import schema
from knowledge.build import build_database, counts
from knowledge.db import make_engine


def test_build_counts_and_sources(built, settings):
    c = built.counts
    assert c["credentials"] >= 300 and c["providers"] >= 40
    assert c["skills"] >= 10_000 and c["occupations"] >= 900
    assert c["recognitions"] >= 100 and c["credit_recommendations"] >= 40
    assert c["degree_programs"] >= 10 and c["articulations"] >= 20
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        missing = conn.execute(
            select(func.count())
            .select_from(schema.Credential)
            .where((schema.Credential.source_url == "") | schema.Credential.recorded.is_(None))
        ).scalar_one()
        assert missing == 0
        # CareerOneStop publishes no skills for its certifications: curated records only.
        unlinked = conn.execute(
            select(func.count())
            .select_from(schema.Credential)
            .where(schema.Credential.source == "curated")
            .where(~schema.Credential.id.in_(select(schema.CredentialSkill.credential_id)))
        ).scalar_one()
        assert unlinked == 0, "every curated credential has skills linked to taxonomy ids"
        wage = conn.execute(
            select(schema.Occupation.median_wage_usd).where(schema.Occupation.code == "15-2051.00")
        ).scalar_one()
        assert wage and wage > 50_000
    engine.dispose()


def test_second_build_is_skipped_when_nothing_changed(built, settings):
    again = build_database(settings)
    assert again.skipped and again.fingerprint == built.fingerprint
    assert again.counts == counts(make_engine(settings.database_url))


def test_unknown_cost_stays_unknown(built, settings):
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        unknown = conn.execute(
            select(func.count())
            .select_from(schema.Credential)
            .where(schema.Credential.cost_usd.is_(None))
        ).scalar_one()
    assert unknown > 0  # null in the files stays null in the DB, never 0
