"""Places from ZIP codes, cities, counties and states, on the real gazetteer (zipcodes 3.0.0)."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.places import (
    NAME_LIKE_CITIES,
    WELL_KNOWN_CITIES,
    Ambiguous,
    Place,
    find_place,
    gazetteer_notes,
    miles_between,
    resolve_place,
    zip_city,
    zip_point,
)

ETPL = (
    Path(__file__).resolve().parents[2]
    / "knowledge/reference/texas-etpl-2024/statewide_etpl_2024-03-20.tsv"
)


def _place(text: str, **kw: str | None) -> Place:
    found = resolve_place(text, **kw)  # type: ignore[arg-type]
    assert isinstance(found, Place), (text, found)
    return found


@pytest.mark.parametrize(
    ("text", "name", "kind"),
    [
        ("78501", "78501 (McAllen, TX)", "zip"),
        (" 78501-1234 ", "78501 (McAllen, TX)", "zip"),
        ("78501 1234", "78501 (McAllen, TX)", "zip"),
        ("San Antonio", "San Antonio, TX", "city"),
        ("san antonio tx", "San Antonio, TX", "city"),
        ("San Antonio, Texas", "San Antonio, TX", "city"),
        ("  SAN   ANTONIO ,  TX. ", "San Antonio, TX", "city"),
        ("Harris County", "Harris County, TX", "county"),
        ("harris county tx", "Harris County, TX", "county"),
        ("Bexar", "Bexar County, TX", "county"),
        ("Austin", "Austin, TX", "city"),
        ("Austin, MN", "Austin, MN", "city"),
        ("Portland, OR", "Portland, OR", "city"),
        ("portland oregon", "Portland, OR", "city"),
        ("Chicago", "Chicago, IL", "city"),
        ("Denver", "Denver, CO", "city"),
        ("Texas", "Texas", "state"),
        ("tx", "Texas", "state"),
        ("Ft. Worth", "Fort Worth, TX", "city"),
        ("St. Louis, MO", "Saint Louis, MO", "city"),
        ("saint louis mo", "Saint Louis, MO", "city"),
        ("mc allen", "McAllen, TX", "city"),
        ("McKinney", "McKinney, TX", "city"),
        ("Sugarland", "Sugar Land, TX", "city"),
        ("The Woodlands", "The Woodlands, TX", "city"),  # only an "acceptable" USPS name
        ("Washington DC", "Washington, DC", "city"),
        ("New York, NY", "New York, NY", "city"),
        ("Orleans Parish", "Orleans Parish, LA", "county"),
    ],
)
def test_resolve_place(text: str, name: str, kind: str) -> None:
    place = _place(text)
    assert (place.name, place.kind) == (name, kind)
    assert len(place.state) == 2 and place.zips


def test_place_contents() -> None:
    houston = _place("Houston")
    assert houston.state == "TX" and "77002" in houston.zips and len(houston.zips) > 100
    assert 29.5 < houston.lat < 30.1 and -95.7 < houston.lon < -95.1
    harris = _place("Harris County")
    assert set(houston.zips) - set(harris.zips)  # Houston reaches into Fort Bend County
    assert "77429" in harris.zips  # Cypress
    texas = _place("Texas")
    assert set(harris.zips) <= set(texas.zips)
    assert texas.zips == tuple(sorted(texas.zips))


def test_ambiguous_and_prefer_state() -> None:
    # several states have an Austin; Texas is preferred, and without a preference none wins
    assert _place("Austin").state == "TX"
    assert _place("Austin", prefer_state="MN").state == "MN"
    # with no preference the well-known Austin wins; a name with no well-known city is ambiguous
    assert _place("Austin", prefer_state=None).state == "TX"
    none_preferred = resolve_place("Paris", prefer_state=None)
    assert isinstance(none_preferred, Ambiguous)
    assert {"TX", "TN", "KY"} <= {p.state for p in none_preferred.candidates}
    assert _place("Paris").state == "TX"
    springfield = resolve_place("Springfield")  # no Texas one and not a well-known city
    assert isinstance(springfield, Ambiguous) and len(springfield.candidates) > 10
    assert all(p.name.startswith("Springfield, ") for p in springfield.candidates)
    # a well-known city wins over others of its name when prefer_state has none
    assert _place("Denver", prefer_state="TX").state == "CO"
    # prefer_state has a Portland: a Texas learner saying "Portland" means that one
    assert _place("Portland").state == "TX"
    assert isinstance(resolve_place("Harris County", prefer_state=None), Ambiguous)


@pytest.mark.parametrize(
    "text", ["Smallvilleton", "", "   ", "1234", "00000", "99999", "Austin, WY", "Narnia County"]
)
def test_unknown_is_none(text: str) -> None:
    assert resolve_place(text) is None


@pytest.mark.parametrize(
    ("message", "span", "name"),
    [
        ("welding classes near San Antonio", "San Antonio", "San Antonio, TX"),
        ("I live in 78501", "78501", "78501 (McAllen, TX)"),
        ("im in harris county", "harris county", "Harris County, TX"),
        ("I moved to Austin", "Austin", "Austin, TX"),
        ("anything around dallas?", "dallas", "Dallas, TX"),
        ("in houston tx", "houston tx", "Houston, TX"),
        ("near me, 77002", "77002", "77002 (Houston, TX)"),
        ("close to El Paso", "El Paso", "El Paso, TX"),
        ("Corpus Christi area", "Corpus Christi", "Corpus Christi, TX"),
        ("I'm from Lubbock", "Lubbock", "Lubbock, TX"),
        ("i'm from lubbock", "lubbock", "Lubbock, TX"),
        ("welding classes Dallas", "Dallas", "Dallas, TX"),
        ("HOUSTON", "HOUSTON", "Houston, TX"),
        ("my zip is 78501-4321", "78501-4321", "78501 (McAllen, TX)"),
        ("i live in seguin", "seguin", "Seguin, TX"),  # not well known, strong cue
        ("cna classes in Seguin", "Seguin", "Seguin, TX"),  # weak cue, capitalised, in TX
        ("i live in sugarland", "sugarland", "Sugar Land, TX"),
        ("in the Dallas area", "Dallas", "Dallas, TX"),
        ("I'm in Texas", "Texas", "Texas"),
        ("I live in Portland, OR", "Portland, OR", "Portland, OR"),
        ("Mobile, AL", "Mobile, AL", "Mobile, AL"),  # a common word, but the state says place
        ("moving to Chicago next year", "Chicago", "Chicago, IL"),
        ("I live in Bexar County, TX", "Bexar County, TX", "Bexar County, TX"),
        ("I'm from Ft. Worth", "Ft. Worth", "Fort Worth, TX"),
        ("jobs in Tyler", "Tyler", "Tyler, TX"),  # a name-like city after a cue
        ("welding in Temple", "Temple", "Temple, TX"),
        ("I'm in zip 78501", "78501", "78501 (McAllen, TX)"),
        ("i'm from texas", "texas", "Texas"),
        ("anywhere in Texas is fine", "Texas", "Texas"),
        ("in Texas City", "Texas City", "Texas City, TX"),
        ("I'm in Mexico, MO", "Mexico, MO", "Mexico, MO"),
        ("Hi, I'm Austin from Dallas", "Dallas", "Dallas, TX"),
    ],
)
def test_find_place(message: str, span: str, name: str) -> None:
    found = find_place(message)
    assert found is not None, message
    assert isinstance(found.place, Place), found
    assert (found.text, found.place.name) == (span, name)
    assert message[found.start : found.end] == found.text


@pytest.mark.parametrize(
    "message",
    [
        "$10000",
        "10000 dollars",
        "I can spend 75001 dollars",  # a real ZIP as money
        "budget 78501",
        "under 50000",
        "under 75001",
        "I make 77002 a year",
        "20 hours a week",
        "in 2024",
        "in IT",
        "I want to work in IT",
        "in person",
        "in person classes please",
        "in healthcare",
        "in the Army",
        "near the end",
        "get into nursing",
        "I know Python",
        "experience in Java",
        "I work in industry",
        "close to home",
        "sales jobs",
        "I want to work in Sales",
        "I want a mobile app job",
        "mission driven work",
        "my name is Austin",
        "I'm Tyler",
        "Tyler said hi",
        "I want to be a welder",
        "registered nurse or medical assistant",
        "near me",
        "what's near me?",
        "I can study at night",
        "to be honest I'm not sure",
        "I have 2 kids and 10 years in retail",
        "call 210-555-12345",
        "I study at Texas State",
        "I'm from Mexico",  # the country, though Mexico, MO exists
        "I moved here from Guatemala",  # unknown but a country: not "a place we do not know"
        "in Texas Tech's program",
        "",
    ],
)
def test_find_place_ignores_non_places(message: str) -> None:
    assert find_place(message) is None, find_place(message)


def test_unknown_place_after_a_cue() -> None:
    found = find_place("any welding classes near Smallvilleton?")
    assert found is not None and found.place is None and found.text == "Smallvilleton"
    assert find_place("I live in Frobozzville").place is None  # type: ignore[union-attr]


def test_ambiguous_mention() -> None:
    found = find_place("I just moved to Springfield")
    assert found is not None and isinstance(found.place, Ambiguous)
    assert find_place("I moved to Springfield, MO").place.state == "MO"  # type: ignore[union-attr]


def test_state_codes_that_are_words() -> None:
    # lower-case "or" is the word, not Oregon
    assert find_place("Portland or Seattle").place.state == "TX"  # type: ignore[union-attr]
    assert find_place("Portland OR").place.state == "OR"  # type: ignore[union-attr]
    assert find_place("portland, or").place.state == "OR"  # type: ignore[union-attr]


def test_definite_mention_wins() -> None:
    found = find_place("I'm from Smallvilleton but now I live in 78501")
    assert found is not None and found.text == "78501"


def test_distances() -> None:
    sa, hou = _place("San Antonio"), _place("Houston")
    miles = miles_between(sa.lat, sa.lon, hou.lat, hou.lon)
    assert 171 < miles < 209  # about 190 miles as the crow flies
    assert miles_between(sa.lat, sa.lon, sa.lat, sa.lon) == 0
    assert miles == pytest.approx(miles_between(hou.lat, hou.lon, sa.lat, sa.lon))
    la = _place("Los Angeles")
    assert 1_250 < miles_between(hou.lat, hou.lon, la.lat, la.lon) < 1_500  # ~1,370


def test_zip_helpers() -> None:
    assert zip_city("78501") == ("McAllen", "Hidalgo County", "TX")
    assert zip_city("77429-1234") == ("Cypress", "Harris County", "TX")
    point = zip_point("77002")
    assert point is not None and point == pytest.approx((29.7594, -95.3594))
    for bad in ("00000", "abcde", "", "7800", "09905"):  # 09905: APO ZIP, skipped as military
        assert zip_point(bad) is None and zip_city(bad) is None


def test_gazetteer_notes_count_the_rules() -> None:
    notes = gazetteer_notes()
    assert notes["skipped: inactive ZIP"] > 0
    assert notes["skipped: military or overseas ZIP"] > 0
    assert notes["no point: coordinates 0,0"] > 0


def test_well_known_cities_exist() -> None:
    for entry in WELL_KNOWN_CITIES:
        place = resolve_place(entry)
        assert isinstance(place, Place), entry
        assert place.name.lower() == entry.lower(), entry
    names = {e.rpartition(", ")[0].lower() for e in WELL_KNOWN_CITIES}
    assert names >= NAME_LIKE_CITIES


@pytest.mark.skipif(not ETPL.exists(), reason="shared reference data not mounted")
def test_texas_training_campuses_resolve() -> None:
    """Real ETPL campus addresses: city, ZIP and county resolve (apart from typos in the list)."""
    with ETPL.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    campuses = {(r["Campus City"], r["Campus Zip Code"], r["Campus County"]) for r in rows}
    cities_ok = sum(isinstance(resolve_place(f"{c}, TX"), Place) for c, _, _ in campuses)
    zips_ok = sum(zip_city(z) is not None for _, z, _ in campuses)
    counties_ok = sum(
        isinstance(resolve_place(f"{k} County, TX"), Place) for _, _, k in campuses if k != "Other"
    )
    n = len(campuses)
    assert n > 400
    assert cities_ok >= 0.97 * n and zips_ok >= 0.98 * n  # the rest are typos: "Lubbck"
    assert counties_ok == sum(1 for _, _, k in campuses if k != "Other")


def test_speed() -> None:
    resolve_place("Houston")
    find_place("near Houston")
    start = time.perf_counter()
    for text in ("San Antonio", "harris county tx", "78501", "Austin", "Portland, OR"):
        resolve_place(text)
    assert (time.perf_counter() - start) / 5 < 0.003
    long = ("I want welding or nursing classes, budget $5000, 20 hours a week, in person. " * 30)[
        :2000
    ] + " I live near Lubbock"
    start = time.perf_counter()
    found = find_place(long)
    assert time.perf_counter() - start < 0.75  # ~33 ms measured
    assert found is not None and found.place.name == "Lubbock, TX"  # type: ignore[union-attr]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_find_place_never_raises(text: str) -> None:
    found = find_place(text)
    if found is not None:
        assert text[found.start : found.end] == found.text


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_resolve_place_never_raises(text: str) -> None:
    resolve_place(text)
