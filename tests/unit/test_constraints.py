from __future__ import annotations

import pytest

from knowledge import constraints as c


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my budget is $300", "300"),
        ("under 1,000 dollars", "1000"),
        ("$2k max", "2000"),
        ("I can't spend more than 200", "200"),
        ("free only", "0"),
        ("I have no money", "0"),
        ("no budget limit", "none"),
        ("it doesn't matter", "none"),
        ("banana", None),
        ("$99999999", None),
    ],
)
def test_budget(text, expected):
    assert c.parse_budget(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("about 10 hours a week", "10"),
        ("5 to 10 hours", "10"),
        ("2 hours a day", "10"),
        ("five hours", "5"),
        ("not sure", "unknown"),
        ("500 hours a week", None),
        ("lots", None),
    ],
)
def test_hours(text, expected):
    assert c.parse_hours(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3 months", 13), ("6 weeks", 6), ("a year", 52), ("soon", None)],
)
def test_duration(text, expected):
    assert c.parse_duration_weeks(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("online please", "online"),
        ("self-paced from home", "online"),
        ("in person", "in_person"),
        ("face to face in a classroom", "in_person"),
        ("a mix of both", "hybrid"),
        ("either is fine", "any"),
        ("purple", None),
    ],
)
def test_format(text, expected):
    assert c.parse_format(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I didn't finish high school", "no_diploma"),
        ("I have a GED", "high_school"),
        ("some college", "some_college"),
        ("associate degree", "associate"),
        ("bachelor's degree", "bachelor"),
        ("I have an MBA", "master"),
        ("purple", None),
    ],
)
def test_education(text, expected):
    assert c.parse_education(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("some college, I'd like to finish a degree eventually", True),
        ("I don't want a degree", False),
        ("high school", None),
    ],
)
def test_wants_degree(text, expected):
    assert c.wants_degree(text) is expected
