"""Stack plans, skill gaps and occupation facts on the real knowledge DB."""

from __future__ import annotations

from knowledge.occupations import occupation_facts, skill_gap
from knowledge.pathways import degree_credit, stack_plan


def test_degree_credit_hides_example_programs_unless_tenant(services):
    real = degree_credit(services.engine, "comptia-a-plus")
    assert real is not None and real.counts_toward_degree
    assert all(not a["example"] for a in real.articulations)
    tenant = degree_credit(
        services.engine, "comptia-a-plus", institution="example-community-college"
    )
    assert any(a["example"] for a in tenant.articulations)


def test_stack_plan_prefers_the_tenant_and_totals_known_credits(services):
    plan = stack_plan(
        services.engine,
        ["comptia-a-plus", "comptia-network-plus"],
        "15-1232.00",
        institution="example-community-college",
    )
    assert (
        plan.program is not None and plan.program["institution_id"] == "example-community-college"
    )
    assert plan.credits_awarded > 0
    total = plan.program["total_credits"]
    assert total is None or plan.remaining_credits == max(0.0, total - plan.credits_awarded)


def test_stack_plan_never_uses_example_programs_for_others(services):
    plan = stack_plan(services.engine, ["comptia-a-plus"], "15-1232.00")
    assert plan.program is None or not plan.program["example"]


def test_stack_plan_without_articulation_finds_one_for_the_goal(services):
    plan = stack_plan(services.engine, ["freecodecamp-responsive-web-design"], "15-1232.00")
    assert plan.credentials


def test_skill_gap_excludes_what_the_user_has(services):
    full = skill_gap(services.engine, "15-1232.00", set())
    assert full is not None and full.missing
    top = full.missing[0].skill_id
    again = skill_gap(services.engine, "15-1232.00", {top})
    assert top not in {m.skill_id for m in again.missing}
    assert again.have


def test_occupation_facts(services):
    facts = occupation_facts(services.engine, "51-4121.00")
    assert facts.title == "Welders, Cutters, Solderers, and Brazers"
    assert facts.median_wage_usd and facts.median_wage_usd > 30_000
    assert facts.related
    assert occupation_facts(services.engine, "99-9999.99") is None
