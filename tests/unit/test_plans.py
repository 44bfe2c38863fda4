"""Time and cost in the learner's terms, pay, and next steps (issue #17 items 2 and 3)."""

from __future__ import annotations

import math
import random
import re
import time

import pytest
from sqlalchemy import select

from knowledge import schema
from knowledge.plans import license_key, next_steps, pay_outlook, time_and_cost

_URL = re.compile(r"https?://\S+")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _numbers(text: str) -> list[float]:
    return [float(n.replace(",", "")) for n in _NUMBER.findall(_URL.sub("", text))]


def _allowed(f: dict, hpw: float | None, tc) -> set[float]:
    """Numbers a reply about this record may say: its fields, the learner's pace, and the
    arithmetic on them, each recomputed here from the record."""
    fields = (
        "hours",
        "weeks",
        "cost_usd",
        "tuition_fees_usd",
        "books_supplies_usd",
        "optional_cost_usd",
        "out_of_district_usd",
    )
    ok = {float(f[k]) for k in fields if f.get(k) is not None}
    ok |= set(_numbers(f.get("cost_note") or ""))
    if hpw:
        ok.add(float(hpw))
        if f.get("hours"):
            ok.add(float(math.ceil(f["hours"] / hpw - 1e-9)))
    if tc.months_at_pace is not None:
        pace = f.get("weeks") or math.ceil(f["hours"] / hpw - 1e-9)
        assert tc.months_at_pace == max(1, math.ceil(pace / (52 / 12) - 1e-9))
        assert tc.total_usd == f["cost_usd"] * tc.months_at_pace
        ok |= {float(tc.months_at_pace), float(tc.total_usd)}
    return ok


def test_every_number_in_200_random_replies_comes_from_the_record(services):
    with services.engine.connect() as conn:
        ids = sorted(conn.execute(select(schema.Credential.id)).scalars())
        ids += sorted(conn.execute(select(schema.TrainingProgram.id)).scalars())
    rng = random.Random(17)
    picked = rng.sample(ids, 200)
    # Records with a monthly price, hours or weeks are few among credentials: always walk them.
    with services.engine.connect() as conn:
        picked += list(
            conn.execute(
                select(schema.Credential.id).where(
                    (schema.Credential.cost_note.like("%month%"))
                    | schema.Credential.hours.isnot(None)
                )
            ).scalars()
        )
    facts = services.search.facts(picked)
    checked = 0
    for rid in picked:
        f = facts[rid]
        for hpw in (None, 10, 7.5):
            tc = time_and_cost(f, hpw)
            allowed = _allowed(f, hpw, tc)
            for n in _numbers(tc.text):
                assert n in allowed, (rid, hpw, n, tc.text)
                checked += 1
            # Unknowns are said once, with the page to check.
            assert tc.text.count("on record") <= 1
            if tc.unknown and tc.check_at:
                assert tc.check_at in tc.text
    assert checked > 500


def test_hours_at_the_learners_pace_and_program_costs(services):
    with services.engine.connect() as conn:
        pid = (
            conn.execute(
                select(schema.TrainingProgram.id).where(
                    schema.TrainingProgram.hours == 256,
                    schema.TrainingProgram.books_supplies_usd > 0,
                    schema.TrainingProgram.weeks.isnot(None),
                )
            )
            .scalars()
            .first()
        )
    f = services.search.facts([pid])[pid]
    tc = time_and_cost(f, 10)
    assert tc.weeks_at_pace == 26
    assert "About 26 weeks at 10 hours a week (256 hours in all)" in tc.text
    assert tc.required_usd == f["tuition_fees_usd"] + f["books_supplies_usd"]
    assert "books and supplies" in tc.text and tc.wioa_eligible
    assert "WIOA" in tc.text


def test_monthly_subscription_without_a_pace_says_so_once(services):
    f = services.search.facts(["google-data-analytics"])["google-data-analytics"]
    tc = time_and_cost(f, 10)
    assert tc.monthly_usd == 49 and tc.total_usd is None and tc.months_at_pace is None
    assert "$49 a month" in tc.text and "depends on how long you take" in tc.text
    assert tc.text.count(f["url"]) == 1
    # With the provider's stated pace, the total is price x months.
    paced = dict(f, weeks=24.0)
    tc = time_and_cost(paced, None)
    assert tc.months_at_pace == 6 and tc.total_usd == 294
    assert "about 6 months, about $294" in tc.text


def test_pay_is_the_named_occupations_own(services):
    data = services.goals.match_goal("data analysts").code
    lvn = services.goals.match_goal("LVN").code
    assert lvn == "29-2061.00"
    with services.engine.connect() as conn:
        wage = dict(
            conn.execute(select(schema.Occupation.code, schema.Occupation.median_wage_usd)).all()
        )
    pay = pay_outlook(data, None, None, services.engine)
    assert pay.code == data and pay.median_wage_usd == wage[data]
    assert "nationally" in pay.text
    p = pay_outlook(lvn, None, None, services.engine)
    assert p.median_wage_usd == wage["29-2061.00"] != wage["29-1141.00"]
    rn = pay_outlook("29-1141.00", "29-2061.00", 8000, services.engine)
    diff = wage["29-1141.00"] - wage["29-2061.00"]
    assert rn.difference_year_usd == diff
    assert rn.payback_months == math.ceil(8000 / round(diff / 12))
    assert "Wages vary" in rn.text and rn.typical_education in rn.text
    down = pay_outlook("29-2061.00", "29-1141.00", 8000, services.engine)
    assert down.payback_months is None and "higher" in down.text
    assert pay_outlook("99-9999.99", None, None, services.engine) is None


def test_lvn_next_license_is_rn_never_lower(services):
    assert license_key("I'm an LPN") == "lvn" and license_key("welder") is None
    plan = next_steps(None, "LVN", services.search)
    step = plan.steps[0]
    assert step.rule == "next_license" and step.kind == "program"
    f = services.search.facts([step.id])[step.id]
    assert "29-1141.00" in f["occupations"]
    assert f["outcome"] in ("associate_degree", "license")
    assert re.search(r"LVN|LPN|transition|bridge|mobility", f["name"], re.I)
    for alt in step.alternatives:
        assert "29-1141.00" in services.search.facts([alt])[alt]["occupations"]
    # Starting from an LVN program with the license held: nothing at or below LVN.
    with services.engine.connect() as conn:
        lvn_prog = (
            conn.execute(
                select(schema.ProgramOccupation.program_id).where(
                    schema.ProgramOccupation.code == "29-2061.00"
                )
            )
            .scalars()
            .first()
        )
    plan = next_steps(lvn_prog, "LVN", services.search)
    for s in plan.steps:
        occ = services.search.facts([s.id]).get(s.id, {}).get("occupations") or []
        assert not occ or set(occ) - {"29-2061.00", "31-1131.00"}


def test_certificate_ladders_into_an_associate_degree(services):
    with services.engine.connect() as conn:
        frm, to = conn.execute(
            select(schema.ProgramLadder.from_program, schema.ProgramLadder.to_program)
            .join(
                schema.TrainingProgram, schema.TrainingProgram.id == schema.ProgramLadder.to_program
            )
            .where(schema.TrainingProgram.outcome == "associate_degree")
            .order_by(schema.ProgramLadder.from_program)
        ).first()
    plan = next_steps(frm, None, services.search)
    assert plan.steps and plan.steps[0].rule.startswith("ladder_")
    assert plan.steps[0].provider == services.search.facts([frm])[frm]["provider"]
    assert "the college decides" in plan.steps[0].why


def test_careeronestop_core_to_advanced_in_the_same_organization(services):
    with services.engine.connect() as conn:
        rows = conn.execute(
            select(schema.Credential.id, schema.Credential.provider_id)
            .where(schema.Credential.cert_type == "core")
            .order_by(schema.Credential.id)
        ).all()
    for cid, _prov in rows:
        plan = next_steps(cid, None, services.search)
        ladder = [s for s in plan.steps if s.rule in ("advanced_cert", "specialty_cert")]
        if ladder:
            for s in ladder:
                f = services.search.facts([s.id])[s.id]
                assert f["cert_type"] in ("advanced", "specialty")
            break
    else:
        pytest.fail("no core certification with an advanced one in its organization")


def test_plan_totals_never_count_unknowns_as_zero(services):
    plan = next_steps("comptia-a-plus", None, services.search)
    assert plan.steps
    known = [s for s in plan.steps if s.hours is not None]
    assert plan.known_hours == sum(s.hours for s in known)
    assert set(plan.hours_unknown) == {s.name for s in plan.steps if s.hours is None}
    if plan.hours_unknown:
        assert "hours not recorded for" in plan.text


def test_plan_answers_are_cheap_after_warm_up(services):
    starts = [(None, "LVN"), ("comptia-a-plus", None), ("google-data-analytics", None)]
    for sid, lic in starts:
        next_steps(sid, lic, services.search)
    times = []
    for sid, lic in starts * 3:
        t = time.perf_counter()
        next_steps(sid, lic, services.search)
        times.append((time.perf_counter() - t) * 1000)
    assert sorted(times)[len(times) // 2] < 20 and max(times) < 200, times
