"""Catalog sources, one plug-in per published data set (``STACKWISE_CATALOG_SOURCES``).

| name | module | what |
|---|---|---|
| ``curated`` | ``knowledge.loaders.catalog`` | our YAML files: employer recognition, ACE/NCCRS credit, articulations |
| ``texas-etpl`` | ``knowledge.sources.texas_etpl`` | Texas WIOA Eligible Training Program List: programs at campuses |
| ``careeronestop`` | ``knowledge.sources.careeronestop`` | CareerOneStop Certification Finder: certifications |

Each source has a name, a credit line (NOTICE, the web page's footer) and the URL of its data
set; each record it yields carries its own URL and as-of date (``records.Provenance``).
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.config import CATALOG_SOURCES, Settings
from knowledge.loaders.catalog import Catalog, load_catalog
from knowledge.sources.records import CertificationRecord, SourceReport, TrainingProgramRecord

CURATED_CREDIT = (
    "Curated records written by the Stackwise project from providers' public pages; each names "
    "its page and the date it was recorded, and is marked as not re-checked since."
)
# Where each imported source's vendored file lives under the reference directory.
SOURCE_FILES = {
    "texas-etpl": Path("texas-etpl-2024") / "statewide_etpl_2024-03-20.tsv",
    "careeronestop": Path("careeronestop-certifications") / "certification_finder.tsv",
}
CIP_SOC_FILE = Path("nces-cip-soc-2020") / "cip2020_soc2018_crosswalk.csv"
_MODULES = {
    "texas-etpl": "knowledge.sources.texas_etpl",
    "careeronestop": "knowledge.sources.careeronestop",
}


@dataclass(frozen=True)
class SourceInfo:
    name: str
    title: str
    credit: str
    url: str
    as_of: dt.date | None


def source_info(name: str) -> SourceInfo:
    """Name, title, credit line, data set URL and date of one catalog source."""
    if name == "curated":
        return SourceInfo(
            name, "Stackwise curated catalog", CURATED_CREDIT, "knowledge/catalog", None
        )
    if name not in _MODULES:
        raise ValueError(f"unknown catalog source {name!r}; known: {', '.join(CATALOG_SOURCES)}")
    mod = importlib.import_module(_MODULES[name])
    date = getattr(mod, "LIST_DATE", None) or getattr(mod, "FILE_DATE", None)
    return SourceInfo(name, getattr(mod, "TITLE", name), mod.CREDIT, mod.DATASET_URL, date)


@dataclass
class LoadedSources:
    """Everything the configured sources hold, validated, before anything is written."""

    names: tuple[str, ...]
    catalog: Catalog
    programs: list[TrainingProgramRecord] = field(default_factory=list)
    certifications: list[CertificationRecord] = field(default_factory=list)
    reports: dict[str, SourceReport] = field(default_factory=dict)

    @property
    def infos(self) -> list[SourceInfo]:
        return [source_info(n) for n in self.names]


def source_files(settings: Settings) -> list[Path]:
    """The files of the configured imported sources (part of the build's fingerprint)."""
    files = [
        settings.reference_dir / SOURCE_FILES[n]
        for n in settings.catalog_sources
        if n in SOURCE_FILES
    ]
    if "texas-etpl" in settings.catalog_sources:
        files.append(settings.reference_dir / CIP_SOC_FILE)
    return files


def load_sources(settings: Settings) -> LoadedSources:
    """Read every configured source; raises ``CatalogError`` (file, row, field) on bad input."""
    names = settings.catalog_sources
    catalog = (
        load_catalog(settings.catalog_dir)
        if "curated" in names
        else load_institutions_only(settings)
    )
    loaded = LoadedSources(names=names, catalog=catalog)
    if "curated" in names:
        loaded.reports["curated"] = SourceReport(source="curated", records=len(catalog.credentials))
    if "texas-etpl" in names:
        from knowledge.sources.texas_etpl import read_texas_etpl

        loaded.programs, loaded.reports["texas-etpl"] = read_texas_etpl(
            settings.reference_dir / SOURCE_FILES["texas-etpl"]
        )
    if "careeronestop" in names:
        from knowledge.sources.careeronestop import read_careeronestop

        loaded.certifications, loaded.reports["careeronestop"] = read_careeronestop(
            settings.reference_dir / SOURCE_FILES["careeronestop"]
        )
    return loaded


def load_institutions_only(settings: Settings) -> Catalog:
    """Without the curated source, tenants (institutions) still come from the catalog files."""
    full = load_catalog(settings.catalog_dir)
    return Catalog(institutions=full.institutions)
