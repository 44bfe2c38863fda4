"""Query planning (place, budget, schedule -> filters and hints) and catalog-defined acronyms."""

from __future__ import annotations

import pytest

from knowledge.acronyms import acronym_table, definitions, expand
from knowledge.query_plan import plan_query


def test_place_budget_and_schedule_become_filters_and_leave_the_topic():
    plan = plan_query("cheap evening cna classes under $1000 in dallas")
    assert plan.text == "cna classes"
    assert plan.filters.max_cost == 1000.0
    assert plan.filters.flexible_hours
    assert plan.filters.near == pytest.approx((32.81, -96.80), abs=0.1)
    assert plan.place is not None and plan.place.name == "Dallas, TX"
    assert plan.hints.prefer_kind == "program" and plan.hints.prefer_low_cost


def test_a_zip_is_a_place_not_a_budget():
    plan = plan_query("cna classes 78207")
    assert plan.filters.max_cost is None
    assert plan.filters.near is not None
    assert plan.text == "cna classes"


@pytest.mark.parametrize(
    ("text", "max_cost", "cheap"),
    [
        ("free it training", 0.0, False),
        ("cdl under 5000 dollars", 5000.0, False),
        ("affordable coding bootcamp under 2000", 2000.0, True),
        ("emt class that doesnt cost a lot", None, True),
        ("welding program 992 hours", None, False),
    ],
)
def test_budget_words(text, max_cost, cheap):
    plan = plan_query(text)
    assert plan.filters.max_cost == max_cost
    assert plan.hints.prefer_low_cost is cheap


def test_either_pell_or_free_is_no_hard_limit():
    plan = plan_query("truck driving school that takes pell or is free")
    assert plan.filters.max_cost is None and not plan.filters.pell_eligible
    assert plan.hints.prefer_low_cost


def test_a_state_is_not_a_distance_and_no_place_changes_nothing():
    plan = plan_query("how to become a police officer in texas")
    assert plan.filters.near is None and plan.text == "how to become a police officer in texas"
    plain = plan_query("I need a CPR card for my job")
    assert not plain.filters.active and plain.hints.prefer_kind is None


def test_online_childcare_transit_and_pell():
    assert plan_query("online pharmacy technician course").filters.format == "online"
    assert plan_query("online pharmacy technician course").text == "pharmacy technician course"
    assert plan_query("medical assistant program with childcare").filters.childcare
    bus = plan_query("training i can get to by bus in san antonio for medical assistant")
    assert bus.filters.transit and bus.filters.near is not None
    pell = plan_query("can i get pell grant for lvn school")
    assert pell.filters.pell_eligible and "pell" not in pell.text


def test_acronyms_are_read_from_definitions_that_spell_them():
    assert definitions("Certified Nurse Aide (CNA) training") == [("cna", "certified nurse aide")]
    assert definitions("Heating, Ventilation, Air Conditioning (HVAC)") == [
        ("hvac", "heating ventilation air conditioning")
    ]
    assert definitions("Welding (online)") == []  # a word in parentheses
    assert definitions("Advanced Welding (CNA)") == []  # initials do not spell it


def test_acronym_table_needs_agreement_and_skips_words():
    texts = [
        "Certified Nurse Aide (CNA)",
        "Nursing program. Leads to: Certified Nurse Aide (CNA)",
        "Certified Renewable Energy Professional (REP)",
        "Renewable Energy Professional (REP) exam",
        "Amazon Web Services (AWS)",  # once only
    ]
    table = acronym_table(texts)
    assert table == {"cna": "certified nurse aide"}  # "rep" is an English word
    assert expand("cna classes", table) == "cna classes (certified nurse aide)"
    assert expand("certified nurse aide cna", table) == "certified nurse aide cna"
