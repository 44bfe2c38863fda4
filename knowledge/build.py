"""Build the knowledge DB (and skill patterns) from the catalog files and reference data.

The build is all-or-nothing: validation happens before anything is written, and the whole load
runs in one transaction (SQLite builds into a temporary file that replaces the old one). The
schema is created by the Alembic migrations in ``knowledge/migrations`` and stamped.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Engine

from knowledge import migrations, schema
from knowledge.config import Settings
from knowledge.db import make_engine
from knowledge.loaders.catalog import Catalog, CatalogError
from knowledge.loaders.esco import read_esco_skills
from knowledge.loaders.onet import (
    read_element_importance,
    read_occupations,
    read_related,
    read_technology,
)
from knowledge.sources import LoadedSources, load_sources
from knowledge.sources.links import CredentialName, ladders, link_programs_to_credentials
from knowledge.sources.rows import (
    certification_provider_rows,
    certification_row,
    merge_into_curated,
    offering_rows,
    program_provider_rows,
    program_row,
)
from knowledge.taxonomy import ALIASES_FILE, Taxonomy, build_taxonomy, skill_key

BUILD_VERSION = "4"  # bump when the build logic changes what lands in the DB or the index texts
STAT_TABLES = {
    "credentials": schema.Credential,
    "providers": schema.Provider,
    "skills": schema.Skill,
    "occupations": schema.Occupation,
    "recognitions": schema.Recognition,
    "credit_recommendations": schema.CreditRecommendation,
    "degree_programs": schema.DegreeProgram,
    "articulations": schema.Articulation,
    "institutions": schema.Institution,
    "pathways": schema.Pathway,
    "training_programs": schema.TrainingProgram,
    "program_offerings": schema.ProgramOffering,
    "program_ladders": schema.ProgramLadder,
}


@dataclass(frozen=True)
class BuildResult:
    fingerprint: str
    skipped: bool
    seconds: float
    counts: dict[str, int]


def _reference_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.reference_dir.rglob("*") if p.is_file())


def inputs_fingerprint(settings: Settings) -> str:
    """Hash of everything the DB is built from: catalog files, curated aliases, reference data."""
    # The schema revision is part of it: a new migration means a rebuild.
    h = hashlib.sha256(f"build-v{BUILD_VERSION}-schema-{migrations.head()}".encode())
    h.update(",".join(settings.catalog_sources).encode())
    files = sorted(settings.catalog_dir.rglob("*.yaml")) + [ALIASES_FILE]
    for path in files:
        try:
            name = str(path.relative_to(settings.catalog_dir.parent))
        except ValueError:  # a catalog outside the repository (STACKWISE_CATALOG_DIR)
            name = path.name
        h.update(name.encode())
        h.update(path.read_bytes())
    for path in _reference_files(settings):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def read_meta(engine: Engine, key: str) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(select(schema.Meta.value).where(schema.Meta.key == key)).scalar()
    except Exception:
        return None


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in STAT_TABLES.items()
        }


def link_catalog_skills(catalog: Catalog, tax: Taxonomy) -> dict[str, str]:
    """Map every catalog skill label to a taxonomy id, adding Stackwise skills for new labels."""
    links: dict[str, str] = {}
    for cred in catalog.credentials:
        for label in cred.skills:
            skill = tax.lookup(label) or tax.add(label, "skill", "stackwise", f"catalog:{cred.id}")
            links[skill_key(label)] = skill.id
    return links


def _load(
    engine: Engine,
    loaded: LoadedSources,
    tax: Taxonomy,
    settings: Settings,
    fp: str,
    inferred: dict[str, list[tuple[str, float]]],
) -> None:
    catalog = loaded.catalog
    data = settings.reference_dir
    occupations = read_occupations(
        data / "onet-29.3", data / "bls-oews-2024" / "national_M2024_dl.tsv"
    )
    elements = read_element_importance(data / "onet-29.3")
    technology = read_technology(data / "onet-29.3")
    links = link_catalog_skills(catalog, tax)
    known_codes = {o.code for o in occupations}
    missing = sorted(
        {f"{c.id}: {code}" for c in catalog.credentials for code in c.occupations}
        - {
            f"{c.id}: {code}"
            for c in catalog.credentials
            for code in c.occupations
            if code in known_codes
        }
    )
    if missing:
        raise CatalogError(
            [f"credential {m} is not an O*NET-SOC code in O*NET 29.3" for m in missing]
        )

    with engine.begin() as conn:
        # One transaction for schema and data (PostgreSQL has transactional DDL): drop the old
        # tables, create the schema through the Alembic migrations (stamped), then load.
        schema.Base.metadata.drop_all(conn)
        conn.execute(text(f"DROP TABLE IF EXISTS {migrations.VERSION_TABLE}"))
        migrations.upgrade(conn)
        conn.execute(
            insert(schema.Institution),
            [
                {
                    "id": i.id,
                    "name": i.name,
                    "url": i.url,
                    "example": i.example,
                    "branding": i.branding,
                    "allowed_origins": list(i.allowed_origins),
                    "handoff_contact": i.handoff_contact,
                }
                for i in catalog.institutions
            ]
            or None,
        ) if catalog.institutions else None
        provider_rows = [
            {"id": p.id, "name": p.name, "kind": p.kind, "url": p.url, "source": "curated"}
            for p in catalog.providers
        ]
        taken = {p["id"] for p in provider_rows}
        for row in certification_provider_rows(loaded.certifications) + program_provider_rows(
            loaded.programs
        ):
            if row["id"] not in taken:
                taken.add(row["id"])
                provider_rows.append(row)
        if provider_rows:
            conn.execute(insert(schema.Provider), provider_rows)
        conn.execute(
            insert(schema.Skill),
            [
                {
                    "id": s.id,
                    "label": s.label,
                    "type": s.type,
                    "origin": s.origin,
                    "hot_technology": s.hot_technology,
                    "in_demand": s.in_demand,
                    "esco_uri": s.esco_uri,
                    "source_ids": s.source_ids,
                }
                for s in tax.skills.values()
            ],
        )
        alias_rows = [
            {"skill_id": s.id, "alias": a} for s in tax.skills.values() for a in sorted(s.aliases)
        ]
        if alias_rows:
            conn.execute(insert(schema.SkillAlias), alias_rows)
        conn.execute(
            insert(schema.Occupation),
            [
                {
                    "code": o.code,
                    "title": o.title,
                    "description": o.description,
                    "job_zone": o.job_zone,
                    "typical_education": o.typical_education,
                    "median_wage_usd": o.median_wage_usd,
                }
                for o in occupations
            ],
        )
        conn.execute(
            insert(schema.OccupationTitle),
            [{"code": o.code, "title": t} for o in occupations for t in o.alternate_titles],
        )
        related = [
            {"code": c, "related_code": r, "tier": tier, "rank": rank}
            for c, r, tier, rank in read_related(data / "onet-29.3")
            if c in known_codes and r in known_codes
        ]
        if related:
            conn.execute(insert(schema.OccupationRelation), related)
        occ_skill: dict[tuple[str, str], float] = {}
        for e in elements:
            skill = tax.lookup(e.element_name)
            if skill and e.code in known_codes:
                occ_skill[(e.code, skill.id)] = max(
                    occ_skill.get((e.code, skill.id), 0.0), (e.importance - 1) / 4
                )
        for t in technology:
            skill = tax.lookup(t.example)
            if skill and t.code in known_codes:
                # "In Demand" is specific to this occupation's job postings; "Hot" is a global flag.
                weight = 0.7 if t.in_demand else 0.5 if t.hot else 0.35
                occ_skill[(t.code, skill.id)] = max(occ_skill.get((t.code, skill.id), 0.0), weight)
        conn.execute(
            insert(schema.OccupationSkill),
            [
                {"code": c, "skill_id": s, "importance": round(v, 3)}
                for (c, s), v in occ_skill.items()
            ],
        )
        cred_rows, cs_rows, co_rows, rec_rows, credit_rows = [], [], [], [], []
        for c in catalog.credentials:
            cred_rows.append(
                {
                    "id": c.id,
                    "provider_id": c.provider_id,
                    "institution_id": c.institution_id,
                    "name": c.name,
                    "type": c.type,
                    "description": c.description,
                    "url": c.url,
                    "platform": c.platform,
                    "delivery": list(c.delivery),
                    "level": c.level,
                    "hours": c.hours,
                    "weeks": c.weeks,
                    "cost_usd": c.cost_usd,
                    "cost_note": c.cost_note,
                    "free": c.free,
                    "financial_aid": c.financial_aid,
                    "prerequisites": c.prerequisites,
                    "assessment": list(c.assessment),
                    "verification": c.verification,
                    "renewal": c.renewal,
                    "language": c.language,
                    "source_url": c.source.url,
                    "recorded": c.source.recorded,
                    "verified": c.verified,
                    "source": "curated",
                    # Curated facts are as of the day they were recorded from the page.
                    "as_of": c.source.recorded,
                    "external_ids": {},
                    "quality_notes": [],
                }
            )
            seen_skills: set[str] = set()
            for rank, label in enumerate(c.skills):
                sid = links[skill_key(label)]
                if sid not in seen_skills:
                    seen_skills.add(sid)
                    # Earlier-listed skills are the credential's core; weight decays gently.
                    cs_rows.append(
                        {
                            "credential_id": c.id,
                            "skill_id": sid,
                            "weight": round(1 / (1 + 0.1 * rank), 3),
                        }
                    )
            co_rows += [
                {"credential_id": c.id, "code": code, "stated": True, "score": None, "rule": None}
                for code in dict.fromkeys(c.occupations)
            ]
            rec_rows += [
                {
                    "credential_id": c.id,
                    "kind": r.kind,
                    "recognized_by": r.recognized_by,
                    "evidence": r.evidence,
                    "source_url": r.source.url,
                    "recorded": r.source.recorded,
                }
                for r in c.recognition
            ]
            credit_rows += [
                {
                    "credential_id": c.id,
                    "issuer": r.issuer,
                    "semester_hours": r.semester_hours,
                    "level": r.level,
                    "subject": r.subject,
                    "valid_from": r.valid_from,
                    "valid_to": r.valid_to,
                    "source_url": r.source.url,
                    "recorded": r.source.recorded,
                }
                for r in c.credit
            ]
        cred_rows, imported_co = _with_certifications(cred_rows, loaded, inferred, known_codes)
        co_rows += imported_co
        # One executemany needs one set of keys: curated rows without CareerOneStop facts
        # get them as None (unknown).
        keys = {k for r in cred_rows for k in r}
        cred_rows = [{k: r.get(k) for k in keys} for r in cred_rows]
        # Dense FAISS labels: credentials by id, then training programs (one label space).
        cred_rows.sort(key=lambda r: r["id"])
        for num, row in enumerate(cred_rows):
            row["num"] = num
        for table, rows in (
            (schema.Credential, cred_rows),
            (schema.CredentialSkill, cs_rows),
            (schema.CredentialOccupation, co_rows),
            (schema.Recognition, rec_rows),
            (schema.CreditRecommendation, credit_rows),
        ):
            if rows:
                conn.execute(insert(table), rows)
        if catalog.programs:
            conn.execute(
                insert(schema.DegreeProgram),
                [
                    {
                        "id": p.id,
                        "institution_id": p.institution_id,
                        "name": p.name,
                        "level": p.level,
                        "total_credits": p.total_credits,
                        "cost_note": p.cost_note,
                        "url": p.url,
                        "source_url": p.source.url,
                        "recorded": p.source.recorded,
                    }
                    for p in catalog.programs
                ],
            )
        if catalog.articulations:
            conn.execute(
                insert(schema.Articulation),
                [
                    {
                        "credential_id": a.credential,
                        "program_id": a.program,
                        "credits_awarded": a.credits_awarded,
                        "requirement": a.requirement,
                        "kind": a.kind,
                        "source_url": a.source.url,
                        "recorded": a.source.recorded,
                    }
                    for a in catalog.articulations
                ],
            )
        if catalog.pathways:
            conn.execute(
                insert(schema.Pathway),
                [
                    {
                        "id": p.id,
                        "institution_id": p.institution_id,
                        "name": p.name,
                        "steps": list(p.steps),
                    }
                    for p in catalog.pathways
                ],
            )
        _load_programs(conn, loaded, cred_rows, known_codes, len(cred_rows), settings)
        conn.execute(
            insert(schema.CatalogSource),
            [
                {
                    "name": info.name,
                    "title": info.title,
                    "credit": info.credit,
                    "url": info.url,
                    "as_of": info.as_of,
                    "records": loaded.reports[info.name].records
                    if info.name in loaded.reports
                    else None,
                    "report": _report_dict(loaded, info.name),
                }
                for info in loaded.infos
            ],
        )
        conn.execute(delete(schema.Meta))
        conn.execute(
            insert(schema.Meta),
            [
                {"key": "fingerprint", "value": fp},
                {"key": "built_at", "value": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
            ],
        )


def _report_dict(loaded: LoadedSources, name: str) -> dict:
    r = loaded.reports.get(name)
    if r is None:
        return {}
    return {"records": r.records, "known": r.known, "rejected": r.rejected, "notes": r.notes}


def _with_certifications(
    cred_rows: list[dict],
    loaded: LoadedSources,
    inferred: dict[str, list[tuple[str, float]]],
    known_codes: set[str],
) -> tuple[list[dict], list[dict]]:
    """Curated rows merged with their CareerOneStop twins, plus the other certifications as
    credentials of their own, with occupations inferred from their text ("related to")."""
    if not loaded.certifications:
        return cred_rows, []
    from knowledge.sources.careeronestop import match_curated

    matches = match_curated(
        loaded.certifications, loaded.catalog.credentials, loaded.catalog.providers
    )
    twin_of = {m.curated_id: cert_id for cert_id, m in matches.items()}
    by_id = {c.id: c for c in loaded.certifications}
    rows = [
        merge_into_curated(r, by_id[twin_of[r["id"]]]) if r["id"] in twin_of else r
        for r in cred_rows
    ]
    taken = {r["id"] for r in rows}
    co_rows: list[dict] = []
    for cert in loaded.certifications:
        if cert.id in matches or cert.id in taken:
            continue
        taken.add(cert.id)
        rows.append(certification_row(cert))
        co_rows += [
            {
                "credential_id": cert.id,
                "code": code,
                "stated": False,
                "score": round(score, 4),
                "rule": "encoder",
            }
            for code, score in inferred.get(cert.id, [])
            if code in known_codes
        ]
    return rows, co_rows


def crosswalk_codes(socs: tuple[str, ...], under: dict[str, list[str]]) -> list[str]:
    """SOC 2018 codes (NN-NNNN) -> the O*NET-SOC occupations under them (NN-NNNN.NN)."""
    return list(dict.fromkeys(c for soc in socs for c in under.get(soc, ())))


def _load_programs(
    conn,
    loaded: LoadedSources,
    cred_rows: list[dict],
    known_codes: set[str],
    first_num: int,
    settings: Settings,
) -> None:
    """Training programs with their offerings, stated occupations, ladders and the credential
    each leads to (when its stated credential name names one of ours clearly)."""
    if not loaded.programs:
        return
    from knowledge.places import zip_point
    from knowledge.sources import CIP_SOC_FILE
    from knowledge.sources.cip_soc import read_cip_soc_crosswalk

    crosswalk = read_cip_soc_crosswalk(settings.reference_dir / CIP_SOC_FILE)
    under: dict[str, list[str]] = {}
    for code in sorted(known_codes):
        under.setdefault(code[:7], []).append(code)

    links = link_programs_to_credentials(
        loaded.programs,
        [CredentialName(r["id"], r["name"], r.get("acronym")) for r in cred_rows],
    )
    programs = sorted(loaded.programs, key=lambda p: p.id)
    conn.execute(
        insert(schema.TrainingProgram),
        [program_row(p, first_num + i, links.get(p.id)) for i, p in enumerate(programs)],
    )
    offerings = [row for p in programs for row in offering_rows(p, zip_point)]
    if offerings:
        conn.execute(insert(schema.ProgramOffering), offerings)
    occ = []
    for p in programs:
        stated = [c for c in dict.fromkeys(p.occupations) if c in known_codes]
        occ += [{"program_id": p.id, "code": c, "rule": "stated"} for c in stated]
        # The NCES CIP-SOC crosswalk names the occupations a program's field prepares for;
        # used only when none of the program's own codes is an O*NET 29.3 occupation.
        if not stated and p.cip:
            occ += [
                {"program_id": p.id, "code": c, "rule": "cip_crosswalk"}
                for c in crosswalk_codes(crosswalk.get(p.cip, ()), under)
            ]
    if occ:
        conn.execute(insert(schema.ProgramOccupation), occ)
    ladder_rows = [
        {"from_program": a, "to_program": b, "rule": rule} for a, b, rule in ladders(programs)
    ]
    if ladder_rows:
        conn.execute(insert(schema.ProgramLadder), ladder_rows)


def write_skill_patterns(tax: Taxonomy, path: Path, fingerprint: str) -> None:
    """Persist every canonical skill with its surface forms for the spaCy extractor."""
    payload = {
        "fingerprint": fingerprint,
        "skills": [
            {
                "id": s.id,
                "label": s.label,
                "type": s.type,
                "origin": s.origin,
                "aliases": sorted(s.aliases),
            }
            for s in sorted(tax.skills.values(), key=lambda s: s.id)
        ],
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def load_taxonomy(settings: Settings) -> Taxonomy:
    data = settings.reference_dir
    return build_taxonomy(
        read_technology(data / "onet-29.3"),
        read_element_importance(data / "onet-29.3"),
        read_esco_skills(data / "esco-1.2.0"),
    )


def infer_certification_occupations(
    settings: Settings, loaded: LoadedSources
) -> dict[str, list[tuple[str, float]]]:
    """CareerOneStop states no occupations: link each certification to the O*NET occupations
    nearest to its text (the search's own encoder; vectors cached by content, so a rebuild
    encodes only what changed). The certification side is its search document's text, so the
    index build re-uses these vectors."""
    if not loaded.certifications:
        return {}
    from knowledge.embed import EmbeddingCache, Encoder
    from knowledge.sources.careeronestop import (
        certification_text,
        infer_occupations,
        occupation_text,
    )

    data = settings.reference_dir / "onet-29.3"
    occupations = read_occupations(data, None)
    tech: dict[str, list[str]] = {}
    for t in read_technology(data):
        tech.setdefault(t.code, []).append(t.example)
    encoder = Encoder()
    occ_cache = EmbeddingCache(settings.var_dir / "embeddings-occupations.npz")
    occ_texts = [
        occupation_text(o.code, o.title, o.description, tech.get(o.code, [])) for o in occupations
    ]
    occ_vectors, _ = occ_cache.embed(encoder, occ_texts)
    occ_cache.save(keep=occ_texts)
    cache = EmbeddingCache(settings.var_dir / "embeddings.npz")
    texts = [certification_text(c) for c in loaded.certifications]
    vectors, _ = cache.embed(encoder, texts)
    cache.save()  # not pruned here: the index build keeps what the index uses
    # Top link only: at the chosen threshold ~78% of top links were right against curated
    # occupations, ~56% of all three (knowledge/sources/careeronestop.py); shown as "related to".
    links = infer_occupations(vectors, occ_vectors, [o.code for o in occupations], top_k=1)
    return {c.id: found for c, found in zip(loaded.certifications, links, strict=True)}


def build_database(settings: Settings, *, force: bool = False) -> BuildResult:
    """(Re)build the DB and the skill patterns when their inputs changed."""
    start = time.perf_counter()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    fp = inputs_fingerprint(settings)
    url = settings.database_url
    if not force and settings.patterns_path.exists():
        engine = make_engine(url)
        try:
            if read_meta(engine, "fingerprint") == fp:
                return BuildResult(fp, True, time.perf_counter() - start, counts(engine))
        finally:
            engine.dispose()
    loaded = load_sources(settings)  # raises CatalogError before anything is written
    tax = load_taxonomy(settings)
    inferred = infer_certification_occupations(settings, loaded)
    if url.startswith("sqlite:///"):
        final = Path(url.removeprefix("sqlite:///"))
        tmp = final.with_name(final.name + ".building")
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{tmp}")
        try:
            _load(engine, loaded, tax, settings, fp, inferred)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()
        for leftover in (Path(f"{final}-wal"), Path(f"{final}-shm")):
            leftover.unlink(missing_ok=True)
        os.replace(tmp, final)
    else:
        engine = make_engine(url)
        try:
            _load(engine, loaded, tax, settings, fp, inferred)
        finally:
            engine.dispose()
    write_skill_patterns(tax, settings.patterns_path, fp)
    engine = make_engine(url)
    try:
        result = BuildResult(fp, False, time.perf_counter() - start, counts(engine))
    finally:
        engine.dispose()
    return result
