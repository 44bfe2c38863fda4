"""Goal, field, current job and suggestions from learners' words, on the real knowledge DB and
O*NET titles (issue #16 items 2, 3 and the military part of 7)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from knowledge.goals import GoalMatch, GoalUnderstanding

PHRASINGS = yaml.safe_load(
    (Path(__file__).parents[1] / "data" / "goal_phrasings.yaml").read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def goals(services) -> GoalUnderstanding:
    start = time.perf_counter()
    g = GoalUnderstanding.from_engine(services.engine, services.settings.reference_dir)
    assert time.perf_counter() - start < 10.0  # ~0.9 s on a quiet 2-core machine
    return g


def _right(expected: dict, got: GoalMatch) -> bool:
    if expected["kind"] == "occupation":
        return (
            got.kind == "occupation"
            and any(got.candidates[0].code.startswith(c) for c in expected["codes"])
            and (not expected.get("ambiguous") or 2 <= len(got.candidates) <= 3)
        )
    if expected["kind"] == "field":
        return got.kind == "field" and got.field == expected["field"]
    return got.kind == "none"


def test_held_out_phrasings(goals):
    assert len(PHRASINGS) >= 80
    got = [(p, goals.match_goal(p["text"])) for p in PHRASINGS]
    misses = [(p["text"], m.kind, m.candidates[:1]) for p, m in got if not _right(p, m)]
    # 104/105 when written; the one miss ("QA tester" -> Inspectors, Testers first, Software QA
    # second) is a real ambiguity in O*NET's titles.
    assert len(misses) <= 2, misses


@pytest.mark.parametrize("entry", PHRASINGS[:12], ids=lambda e: e["text"][:40])
def test_every_example_of_the_issue(goals, entry):
    assert _right(entry, goals.match_goal(entry["text"]))


def test_span_names_the_goal_not_the_rest(goals):
    text = "I want to become a welder. What should I do?"
    m = goals.match_goal(text)
    assert m.span_text == "welder" and text[m.span[0] : m.span[1]] == "welder"
    m = goals.match_goal("I'm a teacher and want to switch into IT help desk. I know Excel")
    assert m.code == "15-1232.00" and m.span_text == "IT help desk"


def test_neighbours_are_not_picked_silently(goals):
    ux = goals.match_goal("UX designer")
    assert ux.code == "15-1255.00" and ux.candidates[0].code != "15-1253.00"
    data = goals.match_goal("I want to become a data analyst")
    assert data.ambiguous and 2 <= len(data.candidates) <= 3
    assert {c.code[:7] for c in data.candidates} >= {"15-2051"}
    assert data.confidence < goals.match_goal("welder").confidence
    health = goals.match_goal("healthcare")
    assert health.kind == "field" and not health.candidates


def test_questions_and_skills_are_not_goals(goals):
    for text in (
        "how much does it cost?",
        "do I need Tableau or Power BI?",
        "I know Excel and SQL",
    ):
        assert goals.match_goal(text).kind == "none", text


def test_field_offers_entry_level_jobs_with_pay(goals):
    for field, prefixes in (
        ("healthcare", ("29-", "31-")),
        ("it", ("15-",)),
        ("trades", ("47-", "49-", "51-")),
    ):
        jobs = goals.field_occupations(field)
        assert 3 <= len(jobs) <= 4, field
        for j in jobs:
            assert j.code.startswith(prefixes) and j.job_zone is not None and j.job_zone <= 3
            assert j.median_wage_usd and j.median_wage_usd > 20_000
        assert len({j.code[:7] for j in jobs}) == len(jobs)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("I drive for Uber", "53-3054.00"),  # Taxi Drivers: "Lyft Driver", "Rideshare Cab Driver"
        ("I work as a cashier", "41-2011.00"),
        ("I've done construction for 3 years", "47-2061.00"),
        ("I'm an LVN and I want to be an RN", "29-2061.00"),
    ],
)
def test_current_job(goals, text, code):
    job = goals.current_job(text)
    assert job is not None and job.code == code and job.military is None


def test_current_job_is_kept_apart_from_the_goal(goals):
    text = "I'm a teacher and want to switch into IT help desk"
    job, goal = goals.current_job(text), goals.match_goal(text)
    assert job is not None and job.code.startswith("25-") and job.span_text == "teacher"
    assert goal.code == "15-1232.00"
    assert goals.current_job("I want to become a welder") is None


def test_military_experience(goals):
    job = goals.current_job("I was an 11B infantry in the Army")
    assert job is not None and job.military is not None
    assert job.military.branch == "army" and job.military.mos == "11B"
    assert job.code == "55-3016.00"  # O*NET's military occupation Infantry
    assert goals.match_goal("I was an 11B infantry in the Army").kind == "none"
    medic = goals.current_job("I was a 68W combat medic in the army")
    assert medic.military.mos == "68W" and all(
        not s.code.startswith("55-") for s in medic.civilian_options
    )


def test_suggestions_from_a_current_job_and_skills(goals):
    found = goals.suggest_occupations(["Building and Construction"], "47-2061.00")
    assert found and all(s.code != "47-2061.00" and not s.code.startswith("55-") for s in found)
    assert sum(s.code.startswith("47-") for s in found) >= 3
    assert all(s.because for s in found)
    it = goals.suggest_occupations(["SQL", "Microsoft Excel"])
    assert it and any(s.code.startswith("15-") for s in it)
    assert goals.suggest_occupations(["no such skill xyz"]) == []


def test_fast_per_message(goals):
    texts = [p["text"] for p in PHRASINGS]
    for t in texts:
        goals.match_goal(t)
    start = time.perf_counter()
    for t in texts:
        goals.match_goal(t)
        goals.current_job(t)
    assert (time.perf_counter() - start) / len(texts) < 0.015  # p50 0.2 ms measured


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # A place, an aid program and "school" are not part of the goal.
        ("can wioa pay for cdl school in el paso? lost my job at the plant", "53-3032.00"),
        # When, how and how much are not either.
        ("electrician apprenticeship dfw area, has to be nights or weekends", "47-2111.00"),
        ("cna classes on weekends", "31-1131.00"),
        # A long word with a letter left out, or two.
        ("i wanna be an electrican but ive never done anything like it", "47-2111.00"),
        # A goal cue after the current job in the same sentence.
        (
            "I work the register at walgreens and my manager said I should become a pharmacy technician",
            "29-2052.00",
        ),
        ("whats a cheap way to learn to weld, like under 2k. i have a GED", "51-4121.00"),
        ("hmm thats too long. maybe medical assistant instead", "31-9092.00"),
        ("Hola, quiero ser asistente médico", "31-9092.00"),
    ],
)
def test_goal_words_among_other_facts(goals, text, code):
    m = goals.match_goal(text)
    assert m.kind == "occupation" and m.candidates[0].code == code, (text, m)


def test_x_or_y_offers_both(goals):
    m = goals.match_goal("dental stuff, not sure if hygienist or assistant")
    assert m.ambiguous and {c.code for c in m.candidates} == {"29-1292.00", "31-9091.00"}


def test_chat_words_are_not_goals(goals):
    for text in (
        "good morning!! sorry got distracted",
        "lost my job at the plant",
        "stay at home mom for 6 years, good with kids and budgets",
    ):
        assert goals.match_goal(text).kind == "none", text
    assert goals.current_job("I'm a single mom with a 3 yr old") is None
    sub = goals.current_job("im a substitute teacher rn, good with kids")
    assert sub is not None and sub.span_text == "substitute teacher"


def test_describe_gives_pay_and_education(goals):
    d = goals.describe("31-9092.00")
    assert d is not None and d.title == "Medical Assistants" and d.median_wage_usd > 20_000
    assert goals.describe("00-0000.00") is None
