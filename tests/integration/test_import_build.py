"""An imported catalog file is a normal catalog file: the build loads it like any other."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from sqlalchemy import select

from knowledge import schema
from knowledge.build import build_database
from knowledge.db import make_engine
from knowledge.importer import import_catalog, onet_codes
from tests.unit.test_import import CTDL, ORG, REPO, TODAY

pytestmark = pytest.mark.integration


def test_imported_catalog_builds(settings, tmp_path):
    catalog = tmp_path / "catalog"
    shutil.copytree(REPO / "knowledge" / "catalog", catalog)
    import_catalog(CTDL, catalog, today=TODAY, known_occupations=onet_codes(settings.reference_dir))
    var = tmp_path / "var"
    local = dataclasses.replace(
        settings,
        catalog_dir=catalog,
        var_dir=var,
        database_url=f"sqlite:///{var / 'stackwise.db'}",
    )
    result = build_database(local, force=True)
    assert result.counts["providers"] >= 1
    engine = make_engine(local.database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(schema.Credential.hours, schema.Credential.cost_usd).where(
                    schema.Credential.id == f"{ORG}-example-medical-coding-certificate"
                )
            ).one()
            skills = conn.execute(
                select(schema.CredentialSkill.skill_id).where(
                    schema.CredentialSkill.credential_id == f"{ORG}-example-shop-safety-badge"
                )
            ).all()
    finally:
        engine.dispose()
    assert tuple(row) == (120.0, 2550.0)
    assert len(skills) == 2
