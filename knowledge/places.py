"""Learners' places: ZIP codes, cities, counties and states, and distances between them.

Source: the offline gazetteer ``zipcodes`` (PyPI, MIT; data from unitedstateszipcodes.org, USPS
ZIP Locale Detail and GeoNames coordinates under CC BY 4.0 -- see the package METADATA). Every
row is one ZIP with its primary city, the other city names USPS accepts for it, county, state and
a point. Nothing is read at import time; the tables are built once per process on first use.

Rules (the project's data rule: unknown stays None, rejected values are counted, never guessed):

* Only active, non-military ZIPs in a US state, DC or a territory are used; a ZIP whose point is
  (0, 0) has no point (``zip_point`` is None) and counts in ``gazetteer_notes()``.
* A city is the set of ZIPs whose primary city has that name in that state; a name USPS only
  accepts as an alternative ("The Woodlands") is used when no primary city has it. A county is
  the set of ZIPs listing it. A place's point is the mean of its STANDARD ZIPs' points (of all
  its ZIPs when it has no STANDARD one): a centre of where people get mail, not an official one.
* A name without a state resolves to the ``prefer_state`` match, else the well-known city of
  that name (``WELL_KNOWN_CITIES``), else the only match, else ``Ambiguous``.
* A state's full name resolves to the state ("New York", "Washington"); "New York, NY" or
  "Washington DC" name the cities.
"""

from __future__ import annotations

import gc
import gzip
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Literal

PlaceKind = Literal["zip", "city", "county", "state"]

# USPS state and territory codes and names (the gazetteer gives codes only).
STATE_NAMES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "PR": "Puerto Rico", "VI": "Virgin Islands", "GU": "Guam", "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
}  # fmt: skip

# Cities a learner may name with no cue word ("welding classes Dallas"): Texas cities of about
# 50,000 people or more (2020 Census) and about the 50 largest US cities. The package has no
# population field, so this is a hand-kept list of names; the state says which one is meant when
# the learner names none and prefer_state has no city of that name ("Chicago", "Denver").
WELL_KNOWN_CITIES: tuple[str, ...] = (
    # Texas
    "Houston, TX", "San Antonio, TX", "Dallas, TX", "Austin, TX", "Fort Worth, TX",
    "El Paso, TX", "Arlington, TX", "Corpus Christi, TX", "Plano, TX", "Laredo, TX",
    "Lubbock, TX", "Irving, TX", "Garland, TX", "Frisco, TX", "McKinney, TX",
    "Grand Prairie, TX", "Amarillo, TX", "Brownsville, TX", "Killeen, TX", "Denton, TX",
    "Mesquite, TX", "McAllen, TX", "Waco, TX", "Carrollton, TX", "Midland, TX", "Abilene, TX",
    "Pearland, TX", "Round Rock, TX", "Odessa, TX", "Richardson, TX", "College Station, TX",
    "Lewisville, TX", "Tyler, TX", "League City, TX", "Beaumont, TX", "Allen, TX",
    "Sugar Land, TX", "Edinburg, TX", "Wichita Falls, TX", "San Angelo, TX", "Conroe, TX",
    "New Braunfels, TX", "Bryan, TX", "Mission, TX", "Longview, TX", "Pharr, TX", "Baytown, TX",
    "Temple, TX", "Flower Mound, TX", "Missouri City, TX", "Georgetown, TX",
    "North Richland Hills, TX", "Cedar Park, TX", "San Marcos, TX", "Harlingen, TX",
    "Pflugerville, TX", "Mansfield, TX", "Rowlett, TX", "Victoria, TX", "Leander, TX",
    "Euless, TX", "Port Arthur, TX", "Kyle, TX", "Desoto, TX", "Grapevine, TX", "Galveston, TX",
    "Wylie, TX", "Little Elm, TX", "Bedford, TX", "Cedar Hill, TX", "Keller, TX",
    "Burleson, TX", "Haltom City, TX", "Texas City, TX", "Coppell, TX", "Rockwall, TX",
    "Huntsville, TX", "Lancaster, TX", "Hurst, TX", "The Colony, TX", "Sherman, TX",
    "Weslaco, TX", "The Woodlands, TX",
    # other large US cities
    "New York, NY", "Los Angeles, CA", "Chicago, IL", "Phoenix, AZ", "Philadelphia, PA",
    "San Diego, CA", "San Jose, CA", "Jacksonville, FL", "Columbus, OH", "Indianapolis, IN",
    "Charlotte, NC", "San Francisco, CA", "Seattle, WA", "Denver, CO", "Washington, DC",
    "Nashville, TN", "Oklahoma City, OK", "Boston, MA", "Portland, OR", "Las Vegas, NV",
    "Detroit, MI", "Memphis, TN", "Louisville, KY", "Baltimore, MD", "Milwaukee, WI",
    "Albuquerque, NM", "Tucson, AZ", "Fresno, CA", "Sacramento, CA", "Mesa, AZ",
    "Kansas City, MO", "Atlanta, GA", "Omaha, NE", "Colorado Springs, CO", "Raleigh, NC",
    "Long Beach, CA", "Virginia Beach, VA", "Miami, FL", "Oakland, CA", "Minneapolis, MN",
    "Tulsa, OK", "Bakersfield, CA", "Wichita, KS", "Aurora, CO", "Tampa, FL",
    "New Orleans, LA", "Cleveland, OH",
)  # fmt: skip

# Well-known cities that are also people's names: they count only after a cue word ("in Tyler",
# "from Allen"), never bare ("Tyler said..."). Common English words (Temple, Mission) are found
# from word frequencies instead (see _wordlike).
NAME_LIKE_CITIES: frozenset[str] = frozenset(
    {"allen", "tyler", "bryan", "irving", "victoria", "sherman", "keller", "kyle", "lancaster"}
    | {"charlotte", "aurora", "columbus", "cleveland", "washington", "denver", "mesa"}
)

_COUNTY_WORDS = ("county", "parish", "borough", "municipio", "census area", "municipality")
# Cue words before a place. Strong ones say a place follows; weak ones ("in IT", "at night")
# need more evidence: a well-known city, or a capitalised name of a prefer_state city.
_STRONG_CUES = (
    "near", "nearby", "around", "close to", "closer to", "live in", "living in", "lives in",
    "moved to", "move to", "moving to", "relocate to", "relocating to", "based in", "located in",
    "im from", "i am from", "originally from", "grew up in", "outside of", "outside", "zip",
    "zip code", "zipcode", "zip is", "zip code is", "live near", "stay in", "staying in",
    "reside in", "anywhere in", "city of",
)  # fmt: skip
_WEAK_CUES = ("in", "at", "to", "from", "by", "for")
# After these no bare (cue-less) name counts: "my name is Austin", "I'm Tyler".
_BLOCKERS = ("name is", "named", "call me", "im", "i am", "this is", "mr", "mrs", "ms", "dr")
_AREA_WORDS = ("area", "metro", "region", "vicinity")
_MONEY_BEFORE = re.compile(
    r"(?:\$|usd|budget|spend|afford|pay|cost|costs|price|save|saved|salary|make|earn|earning|"
    r"under|over|below|above|about|around|up to|less than|more than|max|maximum|at most|"
    r"at least|only|than|between|and|to)\s*$",
    re.IGNORECASE,
)
_MONEY_AFTER = re.compile(
    r"^\s*(?:\$|dollars?|bucks|usd|k\b|grand|per\b|/|a (?:year|month|week)|an hour|hours?|"
    r"hrs?\b|a yr|yearly|annually|salary|in (?:savings|loans|debt)|students|people|miles)",
    re.IGNORECASE,
)
_ZIP_IN_TEXT = re.compile(r"(?<![\w$.,/-])(\d{5})(?:-\d{4})?(?![\w,.]\d|[\w$%])")
_ZIP_ONLY = re.compile(r"^\s*(\d{5})(?:[- ]?\d{4})?\s*$")
_TOKEN = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['\u2019.][A-Za-z]+)*\.?")
_PROB_FLOOR = -15.0
_MAX_NAME_TOKENS = 4


@dataclass(frozen=True)
class Place:
    name: str  # as shown to learners: "San Antonio, TX", "Harris County, TX", "78501 (McAllen, TX)"
    kind: PlaceKind
    state: str  # 2-letter USPS code
    lat: float
    lon: float
    zips: tuple[str, ...]


@dataclass(frozen=True)
class Ambiguous:
    """Several places share the name and nothing says which: ask the learner."""

    candidates: tuple[Place, ...]


@dataclass(frozen=True)
class PlaceMention:
    text: str  # the span of the message
    place: Place | Ambiguous | None  # None: a place-like phrase we do not know ("near Smallville")
    start: int
    end: int


@dataclass(frozen=True)
class _Zip:
    zip: str
    city: str
    county: str | None
    state: str
    point: tuple[float, float] | None
    standard: bool


@dataclass(frozen=True)
class _Tables:
    zips: dict[str, _Zip]
    # name key -> state -> (display name, ZIPs)
    cities: dict[str, dict[str, tuple[str, tuple[str, ...]]]]
    aliases: dict[str, dict[str, tuple[str, tuple[str, ...]]]]
    counties: dict[str, dict[str, tuple[str, tuple[str, ...]]]]
    squashed: dict[str, str]  # "sugarland" -> "sugar land": names typed without their spaces
    notes: Counter[str]


# --- text normalisation ---------------------------------------------------------------------

_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "pt": "port"}


_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_MC = re.compile(r"\bMc([a-z])")


def _key(text: str) -> str:
    """Lower-case, unaccented, punctuation-free form with St./Ft./Mt. spelled out."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = _NON_ALNUM.sub(" ", text.lower().replace("'", "")).split()
    out: list[str] = []
    for word in words:
        word = _ABBREVIATIONS.get(word, word)
        if out and out[-1] == "mc":  # "Mc Allen" and "McAllen" are one name
            out[-1] = "mc" + word
        else:
            out.append(word)
    return " ".join(out)


def _display(name: str) -> str:
    """Gazetteer spelling made readable: "Mcallen" -> "McAllen"."""
    return _MC.sub(lambda m: "Mc" + m.group(1).upper(), name) if "Mc" in name else name


def _county_base(key: str) -> str:
    for word in _COUNTY_WORDS:
        if key.endswith(" " + word):
            return key[: -len(word) - 1]
    return key


# --- tables ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    # ~200k small objects: the cyclic GC would rescan them many times while they are built
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build_tables()
    finally:
        if enabled:
            gc.enable()


def _build_tables() -> _Tables:
    import zipcodes  # compiled gazetteer; decompresses its data on first query (~0.4 s)

    notes: Counter[str] = Counter()
    zips: dict[str, _Zip] = {}
    cities: dict[tuple[str, str], tuple[str, list[str]]] = {}
    aliases: dict[tuple[str, str], tuple[str, list[str]]] = {}
    counties: dict[tuple[str, str], tuple[str, list[str]]] = {}
    keys: dict[str, str] = {}  # names repeat across ZIPs: normalise each once

    def key(name: str) -> str:
        found = keys.get(name)
        if found is None:
            found = keys[name] = _key(name)
        return found

    for row in zipcodes.list_all():
        if not row["active"]:
            notes["skipped: inactive ZIP"] += 1
            continue
        if (
            row["zip_code_type"] == "MILITARY"
            or row["state"] not in STATE_NAMES
            or row["city"] in ("Apo", "Fpo", "Dpo")  # overseas military mail filed under a state
        ):
            notes["skipped: military or overseas ZIP"] += 1
            continue
        lat, lon = float(row["lat"]), float(row["long"])
        point: tuple[float, float] | None = (lat, lon)
        if lat == 0.0 and lon == 0.0:
            notes["no point: coordinates 0,0"] += 1
            point = None
        county = row["county"] or None
        if county is None:
            notes["no county"] += 1
        code, state = row["zip_code"], row["state"]
        city = _display(row["city"])
        zips[code] = _Zip(code, city, county, state, point, row["zip_code_type"] == "STANDARD")
        cities.setdefault((key(city), state), (city, []))[1].append(code)
        for alias in row["acceptable_cities"]:
            aliases.setdefault((key(alias), state), (_display(alias), []))[1].append(code)
        if county:
            base = _county_base(key(county))
            counties.setdefault((base, state), (county, []))[1].append(code)
    squashed = {k.replace(" ", ""): k for k, _ in (*cities, *aliases, *counties) if " " in k}
    return _Tables(zips, _nest(cities), _nest(aliases), _nest(counties), squashed, notes)


def _nest(
    flat: dict[tuple[str, str], tuple[str, list[str]]],
) -> dict[str, dict[str, tuple[str, tuple[str, ...]]]]:
    out: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {}
    for (key, state), (name, codes) in flat.items():
        out.setdefault(key, {})[state] = (name, tuple(sorted(codes)))
    return out


@lru_cache(maxsize=1)
def _word_probs() -> dict[str, float]:
    """Case-sensitive log word frequencies (spaCy lookups ``lexeme_prob``), common words only."""
    try:
        import spacy_lookups_data
    except ImportError:  # pragma: no cover - declared dependency
        return {}
    path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lexeme_prob.json.gz"
    probs: dict[str, float] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        fh.readline()  # "{"
        for line in fh:  # sorted most common first
            key, _, value = line.strip().rstrip(",").rpartition(":")
            if not key or float(value) < _PROB_FLOOR:
                break
            probs[json.loads(key)] = float(value)
    return probs


def _word_is_common(word: str) -> bool:
    """Written more often in lower case than capitalised: "industry", "home", "or"."""
    probs = _word_probs()
    low = probs.get(word.lower(), -99.0)
    return low > max(probs.get(word.capitalize(), -99.0), probs.get(word.upper(), -99.0))


@lru_cache(maxsize=65536)
def _wordlike(key: str) -> bool:
    """A name made only of common words ("Industry", "Sugar Land", "Home"): needs more evidence."""
    return all(_word_is_common(word) for word in key.split())


@lru_cache(maxsize=1)
def _country_keys() -> frozenset[str]:
    """Country names (CLDR, via babel): "from Mexico" is the country, not Mexico, MO."""
    try:
        from babel import Locale
    except ImportError:  # pragma: no cover - installed with Rasa
        return frozenset()
    names = Locale("en").territories.values()
    return frozenset(_key(n) for n in names) - {_key(n) for n in STATE_NAMES.values()}


@lru_cache(maxsize=1)
def _state_keys() -> dict[str, str]:
    return {_key(name): code for code, name in STATE_NAMES.items()}


@lru_cache(maxsize=1)
def _well_known() -> dict[str, str]:
    """City name key -> the state of the well-known city of that name."""
    out: dict[str, str] = {}
    for entry in WELL_KNOWN_CITIES:
        name, _, state = entry.rpartition(", ")
        out[_key(name)] = state
    return out


# --- places ---------------------------------------------------------------------------------


def _centre(codes: tuple[str, ...]) -> tuple[float, float] | None:
    zips = _tables().zips
    points = [zips[c].point for c in codes if zips[c].standard and zips[c].point]
    if not points:
        points = [zips[c].point for c in codes if zips[c].point]
    if not points:
        return None
    return (
        round(sum(p[0] for p in points) / len(points), 4),
        round(sum(p[1] for p in points) / len(points), 4),
    )


@lru_cache(maxsize=4096)
def _place(kind: PlaceKind, name: str, state: str, codes: tuple[str, ...]) -> Place | None:
    centre = _centre(codes)
    if centre is None:
        return None
    return Place(name, kind, state, centre[0], centre[1], codes)


def _zip_place(code: str) -> Place | None:
    row = _tables().zips.get(code)
    if row is None or row.point is None:
        return None
    name = f"{code} ({row.city}, {row.state})"
    return Place(name, "zip", row.state, row.point[0], row.point[1], (code,))


@lru_cache(maxsize=64)
def _state_place(state: str) -> Place | None:
    codes = tuple(sorted(c for c, z in _tables().zips.items() if z.state == state))
    return _place("state", STATE_NAMES[state], state, codes)


def _named(key: str, kinds: tuple[str, ...], suffix: str = "") -> list[dict[str, Place]]:
    """Per kind, in order of preference, the places with this name key by state.

    ``suffix`` is the county word the learner typed ("parish"): counties named with it win.
    """
    tables = _tables()
    if key not in tables.cities and key not in tables.aliases and key not in tables.counties:
        key = tables.squashed.get(key, key)
    out: list[dict[str, Place]] = []
    for kind in kinds:
        table = {"city": tables.cities, "alias": tables.aliases, "county": tables.counties}[kind]
        found: dict[str, Place] = {}
        for state, (name, codes) in table.get(key, {}).items():
            label = f"{name}, {state}"
            place = _place("county" if kind == "county" else "city", label, state, codes)
            if place is not None:
                found[state] = place
        if suffix and kind == "county":
            same = {
                s: p for s, p in found.items() if _key(p.name).endswith(f"{suffix} {s.lower()}")
            }
            found = same or found
        out.append(found)
    return out


def _choose(
    key: str,
    kinds: tuple[str, ...],
    state: str | None,
    prefer_state: str | None,
    suffix: str = "",
) -> Place | Ambiguous | None:
    by_kind = _named(key, kinds, suffix)
    if state is not None:
        return next((found[state] for found in by_kind if state in found), None)
    if prefer_state is not None:
        for found in by_kind:
            if prefer_state in found:
                return found[prefer_state]
    known = _well_known().get(key)
    for found in by_kind:
        if known in found and "city" in kinds:
            return found[known]
    for found in by_kind:
        if len(found) == 1:
            return next(iter(found.values()))
        if found:
            ranked = sorted(found.values(), key=lambda p: (-len(p.zips), p.state))
            return Ambiguous(tuple(ranked))
    return None


def _split_state(key: str) -> tuple[str, str | None]:
    """ "san antonio tx" -> ("san antonio", "TX"); the state must leave a name before it."""
    words = key.split()
    states = _state_keys()
    for n in (3, 2, 1):
        if len(words) > n:
            tail = " ".join(words[-n:])
            code = states.get(tail) or (
                tail.upper() if n == 1 and tail.upper() in STATE_NAMES else None
            )
            if code:
                return " ".join(words[:-n]), code
    return key, None


def resolve_place(text: str, *, prefer_state: str | None = "TX") -> Place | Ambiguous | None:
    """The place a short text names ("78501", "san antonio tx", "Harris County", "Texas")."""
    match = _ZIP_ONLY.match(text)
    if match:
        return _zip_place(match.group(1))
    key = _key(text)
    if not key:
        return None
    whole_state = _state_keys().get(key) or (key.upper() if key.upper() in STATE_NAMES else None)
    if whole_state:
        return _state_place(whole_state)
    name, state = _split_state(key)
    base = _county_base(name)
    if base != name:
        return _choose(base, ("county",), state, prefer_state, name[len(base) :].strip())
    return _choose(name, ("city", "alias", "county"), state, prefer_state)


# --- finding a place in a message -----------------------------------------------------------


def _ends_with_phrase(before: str, phrases: tuple[str, ...]) -> bool:
    return any(before == p or before.endswith(" " + p) for p in phrases)


def _cue(message: str, start: int) -> str | None:
    before = _key(message[max(0, start - 40) : start])
    if _ends_with_phrase(before, _STRONG_CUES):
        return "strong"
    if _ends_with_phrase(before, tuple(w + " the" for w in _WEAK_CUES)):
        return None  # "in the Army"; "in the Dallas area" is caught by the area word
    if _ends_with_phrase(before, _WEAK_CUES):
        return "weak"
    return None


def _blocked(message: str, start: int) -> bool:
    return _ends_with_phrase(_key(message[max(0, start - 20) : start]), _BLOCKERS)


def _zip_mentions(message: str) -> list[PlaceMention]:
    out: list[PlaceMention] = []
    for m in _ZIP_IN_TEXT.finditer(message):
        before, after = message[max(0, m.start() - 25) : m.start()], message[m.end() :]
        strong = _cue(message, m.start()) == "strong"
        if not strong and (_MONEY_BEFORE.search(before) or _MONEY_AFTER.match(after)):
            continue
        place = _zip_place(m.group(1))
        if place is not None:
            out.append(PlaceMention(m.group(0), place, m.start(), m.end()))
    return out


def _state_after(message: str, tokens: list[re.Match[str]], j: int) -> tuple[str, int] | None:
    """A state named right after token j-1 ("houston tx", "Portland, OR"): (code, end offset)."""
    if j >= len(tokens):
        return None
    gap = message[tokens[j - 1].end() : tokens[j].start()]
    if gap.strip() not in ("", ","):
        return None
    states = _state_keys()
    for n in (3, 2, 1):
        if j + n > len(tokens):
            continue
        span = tokens[j : j + n]
        if any(message[a.end() : b.start()].strip() for a, b in pairwise(span)):
            continue
        typed = message[span[0].start() : span[-1].end()]
        code = states.get(_key(typed))
        # a code that is also a word ("or", "in", "me") counts only as "OR" or after a comma
        if (
            code is None
            and n == 1
            and len(typed) == 2
            and typed.upper() in STATE_NAMES
            and (typed.isupper() or "," in gap or not _word_is_common(typed))
        ):
            code = typed.upper()
        if code:
            return code, span[-1].end()
    return None


def _capitalised(typed: str) -> bool:
    return all(w[0].isupper() for w in typed.split() if w[0].isalpha())


def _name_mentions(message: str, prefer_state: str | None) -> list[PlaceMention]:
    tokens = list(_TOKEN.finditer(message))
    tables = _tables()
    well_known = _well_known()
    states = _state_keys()
    out: list[PlaceMention] = []
    i = 0
    while i < len(tokens):
        found = None
        for n in range(min(_MAX_NAME_TOKENS, len(tokens) - i), 0, -1):
            found = _try_span(message, tokens, i, n, prefer_state, tables, well_known, states)
            if found is not None:
                break
        if found is None:
            found = _unknown_span(message, tokens, i, tables, states)
        if found is None:
            i += 1
            continue
        mention, used = found
        out.append(mention)
        i += used
    return out


def _try_span(
    message: str,
    tokens: list[re.Match[str]],
    i: int,
    n: int,
    prefer_state: str | None,
    tables: _Tables,
    well_known: dict[str, str],
    states: dict[str, str],
) -> tuple[PlaceMention, int] | None:
    span = tokens[i : i + n]
    if any(message[a.end() : b.start()] not in (" ", "-") for a, b in pairwise(span)):
        return None  # a name does not run across punctuation
    start, end = span[0].start(), span[-1].end()
    typed = message[start:end]
    key = _key(typed)
    if not key:
        return None
    cue = _cue(message, start)
    rest = _key(message[end : end + 20])
    area = any(rest == w or rest.startswith(w + " ") for w in _AREA_WORDS)
    if area and cue is None:
        cue = "strong"
    capital = _capitalised(typed)
    j = i + n

    # "Harris County", "harris county tx"
    if j < len(tokens) and _key(tokens[j].group()) in ("county", "parish", "borough"):
        if key in tables.counties:
            end_c = tokens[j].end()
            suffix = _state_after(message, tokens, j + 1)
            state = suffix[0] if suffix else None
            place = _choose(key, ("county",), state, prefer_state, _key(tokens[j].group()))
            if place is not None:
                end_c = suffix[1] if suffix else end_c
                return PlaceMention(message[start:end_c], place, start, end_c), j + 1 + (
                    _count_tokens(tokens, j + 1, end_c)
                )
        elif cue == "strong" and capital and not _wordlike(key):
            end_c = tokens[j].end()
            return PlaceMention(message[start:end_c], None, start, end_c), n + 1

    # states: "in Texas", "from texas"; not "at Texas State", "in Texas Tech"
    before = _key(message[max(0, start - 4) : start])
    if (
        key in states
        and (cue == "strong" or (cue == "weak" and before.split()[-1:] in (["in"], ["from"])))
        and not (j < len(tokens) and tokens[j].group()[0].isupper())
    ):
        return PlaceMention(typed, _state_place(states[key]), start, end), n

    if key not in tables.cities and key not in tables.aliases:
        key = tables.squashed.get(key, key)
    known_city = key in tables.cities or key in tables.aliases
    country = key in _country_keys()  # counts as a city only with its state ("Mexico, MO")
    if known_city:
        suffix = _state_after(message, tokens, j)
        if suffix is not None:
            place = _choose(key, ("city", "alias"), suffix[0], prefer_state)
            if place is not None:
                end_s = suffix[1]
                return PlaceMention(message[start:end_s], place, start, end_s), n + (
                    _count_tokens(tokens, j, end_s)
                )
        if not country and _accept_city(
            message, start, key, capital, cue, prefer_state, well_known, tables
        ):
            place = _choose(key, ("city", "alias"), None, prefer_state)
            if place is not None:
                return PlaceMention(typed, place, start, end), n

    return None


def _unknown_span(
    message: str, tokens: list[re.Match[str]], i: int, tables: _Tables, states: dict[str, str]
) -> tuple[PlaceMention, int] | None:
    """A place-like name we do not know after a strong cue: "near Smallvilleton"."""
    n = _unknown_length(message, tokens, i)
    if n == 0:
        return None
    start, end = tokens[i].start(), tokens[i + n - 1].end()
    typed = message[start:end]
    key = _key(typed)
    first = key.split()[0] if key else ""
    if (
        not key
        or _cue(message, start) != "strong"
        or key in states
        or key in _country_keys()
        or _word_is_common(first)  # "near The", "near Me"
        or _wordlike(key)
    ):
        return None
    return PlaceMention(typed, None, start, end), n


def _count_tokens(tokens: list[re.Match[str]], j: int, end: int) -> int:
    return sum(1 for t in tokens[j:] if t.end() <= end)


def _unknown_length(message: str, tokens: list[re.Match[str]], i: int) -> int:
    """How many capitalised words follow in a row (at most 3): the unknown name's length."""
    n = 0
    while i + n < len(tokens) and n < 3:
        token = tokens[i + n]
        if not token.group()[0].isupper():
            break
        if n and message[tokens[i + n - 1].end() : token.start()] != " ":
            break
        n += 1
    return n


def _accept_city(
    message: str,
    start: int,
    key: str,
    capital: bool,
    cue: str | None,
    prefer_state: str | None,
    well_known: dict[str, str],
    tables: _Tables,
) -> bool:
    """Whether a city name without a state counts as a place here (see module docstring)."""
    in_prefer = prefer_state is not None and (
        prefer_state in tables.cities.get(key, {}) or prefer_state in tables.aliases.get(key, {})
    )
    # "in industry", "close to home", "mission"; a well-known two-word name ("Round Rock") is
    # not a phrase learners say for anything else
    if _wordlike(key) and not (key in well_known and " " in key):
        if not capital:
            return False
        return cue == "strong" or (cue == "weak" and in_prefer)
    if key in well_known:
        if cue is not None:
            return True
        return key not in NAME_LIKE_CITIES and not _blocked(message, start)
    if cue == "strong":
        return True
    return cue == "weak" and capital and in_prefer


def find_place(message: str, *, prefer_state: str | None = "TX") -> PlaceMention | None:
    """The place a chat message mentions, if any: the most definite mention, earliest first."""
    if not message or not message.strip():
        return None
    mentions = _zip_mentions(message) + _name_mentions(message, prefer_state)
    if not mentions:
        return None

    def rank(m: PlaceMention) -> tuple[int, int]:
        definite = 2 if isinstance(m.place, Place) else 1 if m.place is not None else 0
        return (-definite, m.start)

    return min(mentions, key=rank)


# --- points and distances -------------------------------------------------------------------


def miles_between(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Great-circle (haversine) distance in statute miles."""
    import zipcodes

    return float(zipcodes.haversine(a_lon, a_lat, b_lon, b_lat))


def zip_point(zip_code: str) -> tuple[float, float] | None:
    """(lat, lon) of an active ZIP (ZIP+4 accepted), None when unknown or without a point."""
    match = _ZIP_ONLY.match(zip_code)
    row = _tables().zips.get(match.group(1)) if match else None
    return row.point if row is not None else None


def zip_city(zip_code: str) -> tuple[str, str | None, str] | None:
    """(primary city, county or None, state) of an active ZIP, None when unknown."""
    match = _ZIP_ONLY.match(zip_code)
    row = _tables().zips.get(match.group(1)) if match else None
    return (row.city, row.county, row.state) if row is not None else None


def gazetteer_notes() -> dict[str, int]:
    """Rows skipped or values left empty while building the tables, counted per rule."""
    return dict(_tables().notes)
