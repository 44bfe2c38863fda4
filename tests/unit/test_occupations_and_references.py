from __future__ import annotations

import pytest

from actions.references import Candidate, resolve_reference


@pytest.mark.parametrize(
    ("goal", "code"),
    [
        ("data analyst", "15-2051"),
        ("pharmacy technician", "29-2052.00"),
        ("I want to become a welder", "51-4121"),
        ("medical assistant", "31-9092.00"),
        ("help desk technician", "15-1232.00"),
    ],
)
def test_goal_matches_onet_occupation(services, goal, code):
    match = services.occupations.best(goal)
    assert match is not None and match.code.startswith(code), (goal, match)


def test_nonsense_goal_matches_nothing(services):
    assert services.occupations.best("qwzx vbnm") is None


CANDS = [
    Candidate("google-data-analytics", "Google Data Analytics Professional Certificate", "Google"),
    Candidate("ibm-data-analyst", "IBM Data Analyst Professional Certificate", "IBM"),
    Candidate(
        "microsoft-power-bi-data-analyst-pl-300",
        "Microsoft Power BI Data Analyst (PL-300)",
        "Microsoft",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("does the first one count toward a degree?", "google-data-analytics"),
        ("what about the second one", "ibm-data-analyst"),
        ("and number 3?", "microsoft-power-bi-data-analyst-pl-300"),
        ("the last one", "microsoft-power-bi-data-analyst-pl-300"),
        ("does the IBM one count?", "ibm-data-analyst"),
        ("college credit for the Power BI one?", "microsoft-power-bi-data-analyst-pl-300"),
        ("does it count toward a degree?", "focus-id"),
    ],
)
def test_references_resolve(text, expected):
    assert resolve_reference(text, CANDS, focus="focus-id") == expected


def test_no_reference_and_no_focus_is_none():
    assert resolve_reference("does it count?", [], None) is None
