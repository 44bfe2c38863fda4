"""The search-quality judgments: the query file, the rule evaluator, and that every rule-judged
query has an ideal answer in the real source files (read directly, not through the importers)."""

from __future__ import annotations

import csv
import functools
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.search_judgments import (
    JudgmentError,
    grade,
    ideal_grades,
    load_queries,
    miles_between,
    parse_query,
    satisfies,
)

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "bench" / "data" / "search_queries.yaml"
# The raw published files, as vendored into the repository (unchanged copies of ../shared/data).
DATA = Path(__file__).resolve().parents[2] / "knowledge" / "reference"
ETPL = DATA / "texas-etpl-2024" / "statewide_etpl_2024-03-20.tsv"
COS = DATA / "careeronestop-certifications" / "certification_finder.tsv"
PROVIDERS = ROOT / "knowledge" / "catalog" / "providers"

# Points for hand-made facts (lat, lon).
SAN_ANTONIO = (29.4241, -98.4936)
NEW_BRAUNFELS = (29.7030, -98.1245)  # ~30 miles from San Antonio
HOUSTON = (29.7604, -95.3698)  # ~190 miles
PLACES = {"San Antonio, TX": SAN_ANTONIO, "Houston, TX": HOUSTON, "78130": NEW_BRAUNFELS}


def resolve(place: str) -> tuple[float, float] | None:
    return PLACES.get(place)


def program(**kw: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "id": "etpl-1-1",
        "source": "texas-etpl",
        "kind": "program",
        "name": "Welding Technology",
        "credential_name": "AWS D1.1",
        "provider": "Alamo Colleges District",
        "cip": "48.0508",
        "occupations": ["51-4121.06"],
        "outcome": "college_certificate",
        "required_cost_usd": 1800.0,
        "delivery": ["in_person"],
        "offerings": [
            {"city": "San Antonio", "zip": "78210", "lat": SAN_ANTONIO[0], "lon": SAN_ANTONIO[1]}
            | {"delivery": "in_person", "flexible_hours": True, "childcare": None, "transit": None}
        ],
        "pell_eligible": True,
    }
    facts.update(kw)
    return facts


def offering(point: tuple[float, float] | None, delivery: str, **flags: Any) -> dict[str, Any]:
    lat, lon = point if point else (None, None)
    base = {"city": None, "zip": None, "lat": lat, "lon": lon, "delivery": delivery}
    return base | {"flexible_hours": None, "childcare": None, "transit": None} | flags


def rule(g: int, **match: Any) -> dict[str, Any]:
    return {"grade": g, "match": match}


# --- evaluator semantics ----------------------------------------------------------------------


def test_prefixes_match_cip_and_occupations():
    facts = program()
    assert grade(facts, [rule(2, cip=["48.05"])], resolve_place=resolve) == 2
    assert grade(facts, [rule(2, cip=["48.0508"])], resolve_place=resolve) == 2
    assert grade(facts, [rule(2, cip=["48.051"])], resolve_place=resolve) == 0
    assert grade(facts, [rule(2, soc=["51-4121"])], resolve_place=resolve) == 2
    assert grade(facts, [rule(2, soc=["51-41", "29"])], resolve_place=resolve) == 2
    assert grade(facts, [rule(2, soc=["51-4122"])], resolve_place=resolve) == 0
    assert grade(program(cip=None), [rule(2, cip=["48"])], resolve_place=resolve) == 0


def test_all_keys_of_a_rule_must_hold_and_highest_grade_wins():
    facts = program()
    rules = [rule(1, soc=["51-4121"]), rule(2, cip=["48.05"], source="careeronestop")]
    assert grade(facts, rules, resolve_place=resolve) == 1
    rules = [rule(1, name="weld"), rule(2, name="^welding", org="alamo")]
    assert grade(facts, rules, resolve_place=resolve) == 2
    assert grade(facts, [rule(1, name="d1\\.1")], resolve_place=resolve) == 1  # credential_name
    assert (
        grade(facts, [rule(2, name="plumb")], resolve_place=resolve, relevant={"etpl-1-1": 1}) == 1
    )


def test_near_counts_distance_and_online_offerings():
    near_sa = [rule(2, cip=["48.05"], near={"place": "San Antonio, TX", "miles": 35})]
    assert grade(program(), near_sa, resolve_place=resolve) == 2
    in_nb = program(offerings=[offering(NEW_BRAUNFELS, "in_person")])
    assert 25 < miles_between(SAN_ANTONIO, NEW_BRAUNFELS) < 35
    assert grade(in_nb, near_sa, resolve_place=resolve) == 2
    tight = [rule(2, near={"place": "San Antonio, TX", "miles": 20})]
    assert grade(in_nb, tight, resolve_place=resolve) == 0
    in_houston = program(offerings=[offering(HOUSTON, "hybrid")])
    assert grade(in_houston, near_sa, resolve_place=resolve) == 0
    online_in_houston = program(offerings=[offering(HOUSTON, "online_instructor_led")])
    assert grade(online_in_houston, near_sa, resolve_place=resolve) == 2
    # No coordinates: the offering's ZIP is located.
    by_zip = program(offerings=[offering(None, "in_person") | {"zip": "78130"}])
    assert grade(by_zip, near_sa, resolve_place=resolve) == 2
    # A credential without offerings: near only when it is delivered online.
    online_cred = {"id": "x", "source": "curated", "delivery": ["online_self_paced"]}
    exam_only = {"id": "y", "source": "curated", "delivery": ["testing_center"]}
    anywhere = [rule(2, near={"place": "San Antonio, TX", "miles": 30})]
    assert grade(online_cred, anywhere, resolve_place=resolve) == 2
    assert grade(exam_only, anywhere, resolve_place=resolve) == 0


def test_near_an_unknown_place_is_an_error_not_a_silent_zero():
    with pytest.raises(LookupError, match="Atlantis"):
        grade(
            program(), [rule(2, near={"place": "Atlantis, TX", "miles": 5})], resolve_place=resolve
        )


def test_offering_keys_hold_for_the_same_offering():
    # An evening class in Houston and a daytime class in San Antonio: no evening class near SA.
    facts = program(
        offerings=[
            offering(HOUSTON, "in_person", flexible_hours=True),
            offering(SAN_ANTONIO, "in_person", flexible_hours=False),
        ]
    )
    evening_sa = [rule(2, near={"place": "San Antonio, TX", "miles": 30}, flexible_hours=True)]
    assert grade(facts, evening_sa, resolve_place=resolve) == 0
    evening_hou = [rule(2, near={"place": "Houston, TX", "miles": 30}, flexible_hours=True)]
    assert grade(facts, evening_hou, resolve_place=resolve) == 2
    in_person_sa = [rule(2, near={"place": "San Antonio, TX", "miles": 30}, delivery=["hybrid"])]
    assert grade(facts, in_person_sa, resolve_place=resolve) == 0
    # Unknown flags never count.
    assert grade(program(), [rule(2, childcare=True)], resolve_place=resolve) == 0


def test_max_cost_needs_a_known_cost():
    cheap = [rule(2, max_cost=2000)]
    assert grade(program(required_cost_usd=1800.0), cheap, resolve_place=resolve) == 2
    assert grade(program(required_cost_usd=2000.0), cheap, resolve_place=resolve) == 2
    assert grade(program(required_cost_usd=2400.0), cheap, resolve_place=resolve) == 0
    assert grade(program(required_cost_usd=None), cheap, resolve_place=resolve) == 0
    assert (
        grade(program(pell_eligible=None), [rule(1, pell_eligible=True)], resolve_place=resolve)
        == 0
    )


def test_ideal_grades_are_the_best_k_in_the_catalog():
    catalog = [
        program(id="a"),
        program(id="b", offerings=[offering(HOUSTON, "in_person")]),
        program(id="c", cip="51.3902", occupations=[]),
        {"id": "aws-cert", "source": "curated", "name": "AWS Certified Welder", "delivery": []},
    ]
    rules = [
        rule(2, cip=["48.05"], near={"place": "San Antonio, TX", "miles": 30}),
        rule(1, cip=["48.05"]),
    ]
    assert ideal_grades(catalog, rules, k=5, resolve_place=resolve) == [2, 1]
    with_id = ideal_grades(catalog, rules, resolve_place=resolve, relevant={"aws-cert": 2})
    assert with_id == [2, 2, 1]
    assert ideal_grades(catalog, rules, k=1, resolve_place=resolve) == [2]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"q": "weld", "rules": [rule(2, ciip=["48"])]}, "unknown match key"),
        ({"q": "weld", "rules": [rule(3, cip=["48"])]}, "grade must be 1 or 2"),
        ({"q": "weld", "rules": [rule(1, cip=["48"])]}, "no grade-2"),
        ({"q": "weld", "rules": [rule(2, cip=["4805"])]}, "cip prefixes"),
        ({"q": "weld", "rules": [rule(2, soc=["514121"])]}, "soc prefixes"),
        ({"q": "weld", "rules": [rule(2, name="(")]}, "regex"),
        ({"q": "weld", "rules": [rule(2, source="etpl")]}, "source"),
        ({"q": "weld", "rules": [rule(2, outcome=["degree"])]}, "outcome"),
        ({"q": "weld", "rules": [rule(2, near={"place": "SA", "miles": 5})]}, "near.place"),
        ({"q": "weld", "rules": [rule(2, max_cost="cheap")]}, "max_cost"),
        ({"q": "weld", "rules": [rule(2, childcare=False)]}, "childcare may only be true"),
        ({"q": "weld", "tags": ["locale"], "rules": [rule(2, cip=["48"])]}, "unknown tag"),
        ({"q": "weld", "relevant": {"nccer-welding": 0}}, "must be 1 or 2"),
        ({"q": "weld"}, "no judgments"),
    ],
)
def test_validation_errors_name_the_query(entry, message):
    with pytest.raises(JudgmentError, match=message) as err:
        parse_query(entry)
    assert "'weld'" in str(err.value)


def test_load_queries_rejects_duplicates_and_names_the_query(tmp_path):
    path = tmp_path / "q.yaml"
    entry = {"q": "Weld", "rules": [rule(2, cip=["48.0508"])]}
    path.write_text(yaml.safe_dump({"queries": [entry, entry | {"q": "weld "}]}))
    with pytest.raises(JudgmentError, match="'weld ': duplicate"):
        load_queries(path)


# --- the query file ---------------------------------------------------------------------------


@functools.cache
def queries():
    return load_queries(QUERIES)


def test_query_file_loads_with_enough_new_queries():
    qs = queries()
    assert len(qs) >= 200
    new = [q for q in qs if q.rules]
    assert len(new) >= 100
    situated = [q for q in new if {"local", "cost", "schedule"} & set(q.tags)]
    assert len(situated) >= 60
    assert sum("local" in q.tags for q in new) >= 30
    assert all(q.tags for q in new)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_existing_queries_are_unchanged():
    """The id-judged queries of the last committed version without rules are all still here,
    with the same text and id judgments. Rules and tags may be added to them (they were, later,
    for the catalog at scale), but a changed q or relevant map would rewrite history."""
    try:
        commits = _git("log", "--format=%H", "--", "bench/data/search_queries.yaml").split()
        versions = (
            yaml.safe_load(_git("show", f"{c}:bench/data/search_queries.yaml")) for c in commits
        )
        before = next(v["queries"] for v in versions if not any("rules" in q for q in v["queries"]))
    except (OSError, subprocess.CalledProcessError, StopIteration) as e:
        pytest.skip(f"no committed version of the file before rules to compare with: {e!r}")
    now = {q.q: q for q in queries()}
    assert len(before) >= 100
    for b in before:
        assert b["q"] in now, b["q"]
        assert dict(now[b["q"]].relevant) == b["relevant"], b["q"]
    # And they come first, in their order, so older results stay comparable.
    assert [q.q for q in queries()[: len(before)]] == [b["q"] for b in before]


# --- every rule-judged query has an ideal answer in the real data -----------------------------

ETPL_OUTCOMES = {
    "Industry recognized certificate or certification": "industry_certification",
    "Community college certificate of completion": "college_certificate",
    "Associates Degree": "associate_degree",
    "No credential - employment only": "employment_only",
    "Certificate of completion of an apprenticeship": "apprenticeship",
    "Government license": "license",
    "Measureable skill gain leading to a credential": "skill_gain",
    "Measureable skill gain leading to employment": "skill_gain",
    "Baccalaureate degree": "bachelor_degree",
    "Secondary school diploma or its equivalent": "diploma",
}
ETPL_DELIVERY = {
    "In-person": "in_person",
    "Hybrid": "hybrid",
    "Distance Education": "online_instructor_led",
}
YES_NO = {"Yes": True, "No": False}


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _soc(code: str) -> str | None:
    code = code.strip()
    return f"{code[:2]}-{code[2:6]}.{code[6:8]}" if len(code) == 8 and code.isdigit() else None


def _cip(code: str) -> str | None:
    code = code.strip()
    if not code.isdigit() or not 5 <= len(code) <= 6:
        return None
    code = code.zfill(6)  # the sheet dropped leading zeros (10605 = 01.0605)
    return f"{code[:2]}.{code[2:]}"


@functools.cache
def zip_points() -> dict[str, tuple[float, float]] | None:
    try:
        import zipcodes
    except ImportError:
        return None
    return {z["zip_code"]: (float(z["lat"]), float(z["long"])) for z in zipcodes.list_all()}


@functools.cache
def city_points() -> dict[str, tuple[float, float]]:
    import zipcodes

    pts: dict[str, list[tuple[float, float]]] = {}
    for z in zipcodes.list_all():
        if z["zip_code_type"] == "STANDARD":
            key = f"{z['city'].lower()}, {z['state'].lower()}"
            pts.setdefault(key, []).append((float(z["lat"]), float(z["long"])))
    return {
        k: (sum(p[0] for p in v) / len(v), sum(p[1] for p in v) / len(v)) for k, v in pts.items()
    }


def resolve_real(place: str) -> tuple[float, float] | None:
    """A ZIP's centroid, or the mean of a city's standard ZIP centroids."""
    if place.isdigit():
        return (zip_points() or {}).get(place)
    return city_points().get(place.strip().lower())


def etpl_facts() -> Iterator[dict[str, Any]]:
    """One facts dict per ETPL row (program at one campus): enough to test that a rule can hold."""
    points = zip_points() or {}
    with ETPL.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            tuition = _number(r["Required Cost: Tuition & Fees"])
            books = _number(r["Required Cost: Books & Supplies"])
            zip_ = r["Campus Zip Code"].strip()[:5]
            lat, lon = points.get(zip_, (None, None))
            delivery = ETPL_DELIVERY.get(r["Delivery Method"])
            occ = [_soc(r[f"Occupation Code (ONET {i})"]) for i in (1, 2, 3)]
            yield {
                "id": f"etpl-{r['Provider ID']}-{r['Program ID']}",
                "source": "texas-etpl",
                "kind": "program",
                "name": r["Program Name"],
                "credential_name": r["Associted Credential Name"] or None,
                "provider": r["ProviderName"],
                "cip": _cip(r["Instructional Program (CIP) Code"]),
                "occupations": [c for c in occ if c],
                "outcome": ETPL_OUTCOMES.get(r["Program Outcome"]),
                "required_cost_usd": tuition + books
                if tuition is not None and books is not None
                else None,
                "delivery": [delivery] if delivery else [],
                "offerings": [
                    {
                        "city": r["Campus City"],
                        "zip": zip_,
                        "lat": lat,
                        "lon": lon,
                        "delivery": delivery,
                        "flexible_hours": YES_NO.get(r["Information: Flexible Hours"]),
                        "childcare": YES_NO.get(r["Information: Onsite Childcare"]),
                        "transit": YES_NO.get(r["Information: Public Transit"]),
                    }
                ],
                "pell_eligible": YES_NO.get(r["Pell Eligible"]),
            }


def cos_facts() -> Iterator[dict[str, Any]]:
    with COS.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            name = r["CERT_NAME"] + (f" ({r['ACRONYM']})" if r["ACRONYM"] else "")
            yield {
                "id": f"cos-{r['CERT_ID']}",
                "source": "careeronestop",
                "kind": "credential",
                "name": name,
                "credential_name": None,
                "provider": r["ORG_NAME"],
                "cip": None,
                "occupations": [],
                "outcome": "industry_certification",
                "required_cost_usd": None,
                "delivery": [],
                "offerings": [],
                "pell_eligible": None,
            }


def curated_facts() -> Iterator[dict[str, Any]]:
    for path in sorted(PROVIDERS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for c in data.get("credentials") or []:
            cost = c.get("cost_usd")
            yield {
                "id": c["id"],
                "source": "curated",
                "kind": "credential",
                "name": c["name"],
                "credential_name": None,
                "provider": data["provider"]["name"],
                "cip": None,
                "occupations": list(c.get("occupations") or []),
                "outcome": c.get("type"),
                "required_cost_usd": float(cost)
                if cost is not None
                else (0.0 if c.get("free") else None),
                "delivery": list(c.get("delivery") or []),
                "offerings": [],
                "pell_eligible": None,
            }


@functools.cache
def all_facts() -> list[dict[str, Any]]:
    return [*etpl_facts(), *cos_facts(), *curated_facts()]


def test_raw_facts_are_read_as_the_sources_state_them():
    facts = all_facts()
    by_source = {
        s: [f for f in facts if f["source"] == s]
        for s in ("texas-etpl", "careeronestop", "curated")
    }
    assert len(by_source["texas-etpl"]) == 6245
    assert len(by_source["careeronestop"]) > 6000
    assert len(by_source["curated"]) > 300
    etpl = by_source["texas-etpl"]
    assert sum(f["cip"] is None for f in etpl) < 50
    assert any(f["cip"] == "01.0605" for f in etpl)  # a dropped leading zero restored
    assert sum(f["cip"].startswith("48.05") for f in etpl if f["cip"]) > 300


def test_every_rule_judged_query_has_an_ideal_answer_in_the_data():
    has_zip = zip_points() is not None
    facts = all_facts()
    ids = {f["id"] for f in facts}
    missing = []
    for q in queries():
        for cid in q.relevant:
            assert cid in ids, f"{q.q!r}: unknown id {cid}"
        if not q.rules:
            continue
        # Only grade-2 rules, stopping at the first record that meets one: keeps this fast.
        rules = [r for r in q.rules if r.grade == 2 and (has_zip or r.near is None)]
        if not rules:
            continue  # near rules only and no coordinates: checked where zipcodes is installed
        if not any(satisfies(f, r, resolve_place=resolve_real) for r in rules for f in facts):
            missing.append(q.q)
    assert not missing, f"no grade-2 record for: {missing}"
    if not has_zip:
        pytest.skip("zipcodes is not installed: near rules were left out of the data check")
