"""`stackwise` command line: build, stats, search, skills, catalog, user, train, privacy, serve."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _print(data: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    elif isinstance(data, dict):
        for k, v in data.items():
            print(f"{k:>24}: {v}")
    else:
        print(data)


def cmd_build(args: argparse.Namespace) -> int:
    from knowledge.build import build_database, read_meta
    from knowledge.config import get_settings
    from knowledge.db import make_engine
    from knowledge.documents import build_credential_index
    from knowledge.index import read_meta as read_index_meta

    settings = get_settings()
    result = build_database(settings, force=args.force)
    state = "up to date" if result.skipped else f"built in {result.seconds:.1f}s"
    print(
        f"knowledge DB {state} (fingerprint {result.fingerprint}): "
        + ", ".join(f"{k}={v}" for k, v in result.counts.items())
    )
    index_meta = read_index_meta(settings.index_dir)
    if (
        args.force
        or index_meta is None
        or index_meta.fingerprint != result.fingerprint
        or index_meta.sha256 is None  # built before checksums were recorded
    ):
        engine = make_engine(settings.database_url)
        try:
            n, fresh = build_credential_index(
                settings, engine, read_meta(engine, "fingerprint") or ""
            )
        finally:
            engine.dispose()
        print(f"search index built: {n} credentials ({fresh} newly embedded)")
    else:
        print(f"search index up to date ({index_meta.count} credentials, {index_meta.kind})")
    onnx_path = settings.onnx_encoder_path
    if onnx_path is not None:
        from knowledge.embed import export_onnx

        written = export_onnx(onnx_path)
        print(f"encoder ONNX export {'written' if written else 'up to date'}: {onnx_path.name}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from knowledge.build import counts
    from knowledge.db import default_engine

    _print(counts(default_engine()), args.json)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from knowledge.places import Ambiguous, resolve_place
    from knowledge.recommend import SearchFilters
    from knowledge.services import get_services

    near = None
    if args.near:
        place = resolve_place(args.near)
        if isinstance(place, Ambiguous):
            names = ", ".join(c.name for c in place.candidates[:5])
            raise ValueError(f"--near {args.near!r} is ambiguous: {names}")
        if place is None:
            raise ValueError(f"--near: I don't know the place {args.near!r}; a ZIP code works best")
        near = (place.lat, place.lon)
    svc = get_services()
    filters = SearchFilters(
        max_cost=args.max_cost,
        max_hours=args.max_hours,
        format=args.format,
        level=args.level,
        provider=args.provider,
        credit_only=args.credit,
        institution=args.institution,
        near=near,
        radius_miles=args.radius,
        provider_type=args.provider_type,
        pell_eligible=args.pell,
        outcome=args.outcome,
        flexible_hours=args.flexible,
        childcare=args.childcare,
        transit=args.transit,
        kind=args.kind,
    )
    results = svc.search.search(args.query, k=args.k, filters=filters)
    if args.json:
        _print({"results": [r.to_dict() for r in results]}, True)
    else:
        for i, r in enumerate(results, 1):
            cost = "cost unknown" if r.cost_usd is None else f"${r.cost_usd:,.0f}"
            where = f", {r.miles:.0f} mi ({r.place})" if r.miles is not None else ""
            print(f"{i}. {r.name} — {r.provider} ({cost}{where}) [{r.kind}] score {r.score}")
    return 0


def cmd_skills(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from knowledge.services import get_services

    text = sys.stdin.read() if args.text == "-" else args.text
    mentions = get_services().skills.extract(text)
    if args.json:
        _print({"skills": [asdict(m) for m in mentions]}, True)
    else:
        for m in mentions:
            print(f"{m.label} [{m.role}] ← {m.text!r}")
    return 0


def cmd_catalog_validate(args: argparse.Namespace) -> int:
    from knowledge.config import get_settings
    from knowledge.loaders.catalog import load_catalog

    catalog = load_catalog(get_settings().catalog_dir)
    print(
        f"catalog OK: {len(catalog.providers)} providers, {len(catalog.credentials)} credentials, "
        f"{len(catalog.institutions)} institutions, {len(catalog.programs)} programs, "
        f"{len(catalog.articulations)} articulations"
    )
    return 0


def cmd_catalog_report(args: argparse.Namespace) -> int:
    from knowledge.catalog_report import catalog_report, format_report
    from knowledge.db import default_engine

    figures = catalog_report(default_engine())
    if not figures:
        raise ValueError("the knowledge DB has no catalog sources: run 'stackwise build'")
    if args.json:
        print(json.dumps([f.to_dict() for f in figures], indent=2))
    else:
        print(format_report(figures))
    return 0


def cmd_catalog_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from knowledge.config import get_settings
    from knowledge.importer import import_catalog, onet_codes

    settings = get_settings()
    plan = import_catalog(
        Path(args.file),
        settings.catalog_dir,
        fmt=args.format,
        mapping=Path(args.mapping) if args.mapping else None,
        institution=args.institution,
        dry_run=args.dry_run,
        known_occupations=onet_codes(settings.reference_dir),
    )
    print(plan.summary())
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    return cmd_build(argparse.Namespace(force=False))


def cmd_train(args: argparse.Namespace) -> int:
    from bot.training import model_path, train
    from knowledge.config import get_settings

    settings = get_settings()
    trained = train(settings, force=args.force)
    print(f"Rasa model {'trained' if trained else 'up to date'}: {model_path(settings)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.supervisor import serve_forever
    from knowledge.config import get_settings

    return serve_forever(get_settings(), scaled=args.scaled)


def cmd_user_add(args: argparse.Namespace) -> int:
    import getpass

    from knowledge.accounts import add_user
    from knowledge.config import get_settings
    from knowledge.db import make_engine

    password = os.environ.get("STACKWISE_NEW_USER_PASSWORD")
    if not password:
        password = getpass.getpass(f"Password for {args.email}: ")
        if password != getpass.getpass("Repeat the password: "):
            raise ValueError("the passwords differ")
    engine = make_engine(get_settings().app_database_url)
    try:
        user = add_user(
            engine, args.email, password, args.role, args.institution, replace=args.replace
        )
    finally:
        engine.dispose()
    where = f" at {user.institution_id}" if user.institution_id else ""
    print(f"user {user.email} ({user.role}{where}) saved")
    return 0


def cmd_privacy_delete(args: argparse.Namespace) -> int:
    from knowledge.config import get_settings
    from knowledge.privacy import configured_stores, erase_conversations, erase_student

    if args.institution is not None and args.student is None:
        raise ValueError("--institution goes with --student")
    with configured_stores(get_settings()) as stores:
        if args.student is not None:
            report = erase_student(
                student_id=args.student, institution_id=args.institution, **stores.kwargs()
            )
        else:
            report = erase_conversations(conversation_ids=args.session, **stores.kwargs())
    if args.json:
        _print(report.to_dict(), True)
    else:
        print(f"deleted {report.summary()}")
    return 0


def cmd_privacy_purge(args: argparse.Namespace) -> int:
    from knowledge.config import get_settings
    from knowledge.privacy import configured_stores, purge_expired

    settings = get_settings()
    days = settings.retention_days if args.older_than_days is None else args.older_than_days
    if args.older_than_days is None and days <= 0:
        print("retention is off (STACKWISE_RETENTION_DAYS=0): nothing purged")
        return 0
    with configured_stores(settings) as stores:
        report = purge_expired(older_than_days=days, **stores.kwargs())
    if args.json:
        _print({"older_than_days": days, **report.to_dict()}, True)
    else:
        print(f"purged data older than {days:g} days: {report.summary()}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stackwise", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser(
        "build", help="(re)build the knowledge DB and the search index when inputs changed"
    )
    b.add_argument("--force", action="store_true")
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("stats", help="row counts per table")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_stats)

    q = sub.add_parser("search", help="search the credential catalog by meaning")
    q.add_argument("query")
    q.add_argument("--k", type=int, default=5)
    q.add_argument("--max-cost", type=float)
    q.add_argument("--max-hours", type=float)
    q.add_argument("--format")
    q.add_argument("--level")
    q.add_argument("--provider")
    q.add_argument("--institution")
    q.add_argument("--credit", action="store_true", help="credit-bearing only")
    q.add_argument("--near", help="a ZIP code, city or county: programs within --radius miles")
    q.add_argument("--radius", type=float, help="miles (default 50)")
    q.add_argument("--provider-type", help="community_college, university, private_for_profit, ...")
    q.add_argument("--pell", action="store_true", help="Pell-eligible programs only")
    q.add_argument("--outcome", help="program outcome, e.g. associate_degree, license")
    q.add_argument("--flexible", action="store_true", help="evening / flexible hours")
    q.add_argument("--childcare", action="store_true", help="onsite childcare")
    q.add_argument("--transit", action="store_true", help="near public transit")
    q.add_argument("--kind", choices=["credential", "program"])
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_search)

    k = sub.add_parser(
        "skills", help="extract skills (with has/lacks/wants) from text; '-' reads stdin"
    )
    k.add_argument("text")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=cmd_skills)

    c = sub.add_parser("catalog", help="catalog files")
    csub = c.add_subparsers(dest="catalog_command", required=True)
    cv = csub.add_parser("validate", help="check the catalog YAML files")
    cv.set_defaults(func=cmd_catalog_validate)
    cr = csub.add_parser(
        "report",
        help="per catalog source: share of records with a known cost, duration, format, "
        "occupation and place, and the values each import rule rejected",
    )
    cr.add_argument("--json", action="store_true")
    cr.set_defaults(func=cmd_catalog_report)
    ci = csub.add_parser(
        "import",
        help="import a college's catalog (our YAML, CSV + mapping, CTDL JSON-LD) into the "
        "catalog files, then rebuild",
    )
    ci.add_argument("file")
    ci.add_argument("--format", choices=["auto", "stackwise", "csv", "ctdl"], default="auto")
    ci.add_argument("--mapping", help="CSV column mapping (YAML: our field -> CSV column)")
    ci.add_argument("--institution", help="write into institutions/<ID>.yaml")
    ci.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    ci.set_defaults(func=cmd_catalog_import)

    t = sub.add_parser("train", help="train the Rasa model if its inputs changed")
    t.add_argument("--force", action="store_true")
    t.set_defaults(func=cmd_train)

    u = sub.add_parser("user", help="adviser console accounts")
    usub = u.add_subparsers(dest="user_command", required=True)
    ua = usub.add_parser(
        "add",
        help="add a console user; the password comes from STACKWISE_NEW_USER_PASSWORD or a prompt",
    )
    ua.add_argument("email")
    ua.add_argument("--role", choices=["adviser", "admin"], required=True)
    ua.add_argument("--institution", help="institution id (required for advisers)")
    ua.add_argument("--replace", action="store_true", help="reset an existing user")
    ua.set_defaults(func=cmd_user_add)

    pv = sub.add_parser("privacy", help="delete a learner's data; purge expired data")
    pvsub = pv.add_subparsers(dest="privacy_command", required=True)
    pd = pvsub.add_parser(
        "delete",
        help="delete conversations (tracker events, intake records, log lines) by session id "
        "or by a signed-in student's id",
    )
    who = pd.add_mutually_exclusive_group(required=True)
    who.add_argument("--session", action="append", help="conversation (session) id; repeatable")
    who.add_argument("--student", help="student id (verified portal sign-in)")
    pd.add_argument("--institution", help="with --student: only at this institution")
    pd.add_argument("--json", action="store_true")
    pd.set_defaults(func=cmd_privacy_delete)
    pp = pvsub.add_parser(
        "purge", help="delete data older than the retention period (STACKWISE_RETENTION_DAYS)"
    )
    pp.add_argument("--older-than-days", type=float, help="override the retention period")
    pp.add_argument("--json", action="store_true")
    pp.set_defaults(func=cmd_privacy_purge)

    v = sub.add_parser("serve", help="start actions (5055), Rasa (5005) and the web app (8000)")
    v.add_argument(
        "--scaled",
        action="store_true",
        help="several Rasa replicas and action servers behind a proxy, on PostgreSQL and Redis "
        "(STACKWISE_RASA_REPLICAS, STACKWISE_ACTION_SERVERS; see docs/deployment.md)",
    )
    v.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    from knowledge.index import IndexError_
    from knowledge.loaders.catalog import CatalogError
    from knowledge.recommend import InvalidQuery

    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (CatalogError, InvalidQuery, IndexError_, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
