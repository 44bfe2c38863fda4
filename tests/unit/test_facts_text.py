"""The pure wording of catalog facts (actions/facts_text.py), on records shaped like the real
ones (``CredentialSearch.facts``): St. Philip's College's Welding AAS from the Texas ETPL, a
curated credential, a CareerOneStop certification."""

from __future__ import annotations

from actions.facts_text import (
    TEXAS_ONLY,
    cost_text,
    ladder_text,
    occupation_text,
    offering_lines,
    pell_answer,
    record_line,
    source_line,
)
from knowledge.catalog_links import OccupationLink

WELDING_AAS = {
    "id": "etpl-805-8886",
    "kind": "program",
    "name": "Welding AAS",
    "provider": "St. Philip's College",
    "outcome": "associate_degree",
    "url": "http://www.alamo.edu/spc/acad/repremanufacturing.aspx",
    "cost_usd": 5784.0,
    "tuition_fees_usd": 4524.0,
    "books_supplies_usd": 1260.0,
    "optional_cost_usd": None,
    "hours": 992.0,
    "weeks": 64.0,
    "pell_eligible": True,
    "wioa_eligible": True,
    "source": "texas-etpl",
    "as_of": "2023-11-06",
    "verified": False,
    "quality_notes": [],
    "cost_notes": [],
    "offerings": [
        {
            "campus": "St. Philip's College",
            "address": "800 Quintana Road",
            "city": "San Antonio",
            "lat": 29.35,
            "lon": -98.56,
            "delivery": "in_person",
            "childcare": True,
        },
        {
            "campus": None,
            "address": None,
            "city": None,
            "lat": None,
            "delivery": "online_instructor_led",
        },
    ],
}
CERTIFICATE = WELDING_AAS | {
    "id": "etpl-805-8882",
    "name": "Welding Certificate",
    "outcome": "college_certificate",
    "cost_usd": 2309.0,
    "tuition_fees_usd": 2309.0,
    "books_supplies_usd": 0.0,
    "hours": None,
    "weeks": None,
    "quality_notes": [
        "books and supplies listed as $0 with no description; confirm with the provider "
        "[books_zero_listed]"
    ],
}
CURATED = {
    "id": "comptia-a-plus",
    "kind": "credential",
    "name": "CompTIA A+",
    "provider": "CompTIA",
    "url": "https://www.comptia.org/certifications/a",
    "cost_usd": 253.0,
    "cost_note": "per exam",
    "hours": None,
    "weeks": None,
    "source": "curated",
    "as_of": "2025-01-15",
    "verified": False,
    "external_ids": {"careeronestop": "1234"},
}
C1 = {
    "id": "cos-0460",
    "kind": "credential",
    "name": "Certified Dental Assistant",
    "provider": "Dental Assisting National Board",
    "url": "https://www.danb.org",
    "cost_usd": None,
    "hours": None,
    "weeks": None,
    "source": "careeronestop",
    "as_of": "2026-03-01",
    "verified": False,
}


def test_program_line_reads_like_the_issue_asks():
    line = record_line(WELDING_AAS, miles=9.1, place="St. Philip's College, San Antonio")
    assert line == (
        "Welding AAS — St. Philip's College, San Antonio (9 miles): $5,784 required "
        "(tuition and fees $4,524 + books $1,260), 992 hours over 64 weeks, Pell-eligible. "
        "Texas ETPL, updated 2023-11-06."
    )


def test_unknown_numbers_are_said_once_with_where_to_look():
    line = record_line(CERTIFICATE)
    assert line.count("not listed") == 1
    assert "The length is not listed: check http://www.alamo.edu/" in line
    assert "books listed as $0 (confirm with the provider)" in line
    c1 = record_line(C1)
    assert "The cost and length are not listed: check https://www.danb.org." in c1


def test_sources_never_present_an_unchecked_date_as_a_check():
    assert source_line(C1) == "CareerOneStop, March 2026."
    curated = source_line(CURATED, {"careeronestop": "2026-03-01"})
    assert curated.startswith("From the provider's page, not re-checked since 2025-01-15")
    assert curated.endswith("also listed by CareerOneStop, March 2026.")
    assert "checked 2025" not in curated
    assert cost_text(CURATED | {"cost_note": "$49 a month"}) == "$253 a month"


def test_stated_occupations_prepare_inferred_ones_relate():
    stated = OccupationLink(
        "51-4121.00", "Welders, Cutters, Solderers, and Brazers", True, "stated", None
    )
    inferred = OccupationLink(
        "15-1232.00", "Computer User Support Specialists", False, "encoder", 0.61
    )
    assert (
        occupation_text([stated, inferred])
        == "Prepares you for Welders, Cutters, Solderers, and Brazers."
    )
    assert occupation_text([inferred]) == "Related to Computer User Support Specialists."
    assert occupation_text([]) is None


def test_offerings_nearest_first_and_online():
    lines = offering_lines(WELDING_AAS["offerings"], [9.4, None])
    assert lines == [
        "- St. Philip's College, 800 Quintana Road, San Antonio (9 miles away, childcare).",
        "- Online.",
    ]


def test_ladder_names_the_degree_with_its_facts_and_the_caveat():
    text = ladder_text(CERTIFICATE, [WELDING_AAS])
    assert text.startswith(
        "St. Philip's College also offers Welding AAS (992 hours over 64 weeks, $5,784 required"
    )
    assert "the college decides how the certificate's courses count" in text
    assert "Texas ETPL, updated 2023-11-06." in text
    assert "is an associate degree itself" in ladder_text(WELDING_AAS, [])
    assert "no associate degree on record" in ladder_text(CERTIFICATE, [])


def test_pell_and_wioa():
    yes = pell_answer(WELDING_AAS)
    assert "listed as Pell-eligible" in yes and "FAFSA" in yes and "WIOA" in yes
    unknown = pell_answer(WELDING_AAS | {"pell_eligible": None})
    assert "doesn't say whether" in unknown
    assert "not for an exam" in pell_answer(CURATED)
    assert "Texas so far" in TEXAS_ONLY
