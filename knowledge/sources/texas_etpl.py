"""Texas ETPL: the Texas Workforce Commission's Statewide Eligible Training Program List.

Input: the tab-separated export of the list of 2024-03-20 (``knowledge/reference/texas-etpl-2024/``;
one row per program at a campus; 45 columns; no quoting, a ``"`` is data).

Rules, each found in the real file (6,245 rows, 611 providers; figures of that file):

* **Grouping.** Every row has its own Program ID, also when it is the same program at another
  campus. Rows become one record when they share the provider and every program-level fact:
  name, description and URL (HTML-decoded, whitespace collapsed, case-folded), CIP, outcome,
  credential name, hours, weeks, the four costs, Pell, prerequisites, apprentices and the set of
  O*NET-SOC codes. Campus, address, delivery, the three campus flags, the cost descriptions and
  the ETPL dates may differ inside a group. No group holds two rows with the same campus and
  delivery. 6,245 rows -> 5,730 records (294 of them at several campuses, 809 rows).
  The id is ``etpl-<Provider ID>-<lowest Program ID>``; as-of is the latest "Program ETPL Last
  Update" of the group. Program-level rules run once per record, campus rules once per row.
* **Zero as "not entered".** Tuition, books and optional cost are never blank in the file (the
  optional out-of-district tuition is blank in 4,620 rows), and tuition is 0 for 43 college
  programs such as Diagnostic Medical Sonography: a 0 in those form fields often means nothing
  was entered. Tuition 0 counts only when its description says free / no cost
  (``tuition_zero_unstated`` otherwise: a college program does not cost nothing). Books 0 is
  plausible (apprenticeships, courses whose fee covers materials) and is kept as the published
  $0; when no description says the books are included or not needed it carries the caveat
  ``books_zero_listed`` ("listed as $0; confirm with the provider"), counted, not rejected. Optional cost 0 is kept (no optional cost listed; it is not
  added to anything). Out-of-district 0 is None (no separate rate; ``out_of_district_zero``).
  Apprentices 0 is None (the field is 0 for programs that are not apprenticeships).
  Required cost = tuition and fees + books and supplies, when both are known.
* **Numbers.** ``1200``, ``1,200``, ``$1,200.50`` parse; the source's own marker ``ERROR``
  (hours 12 rows, weeks 62) is unknown (``hours_error`` / ``weeks_error``); other text is bad
  input. Hours or weeks 0 are unknown (``hours_zero``, ``weeks_zero``); weeks 99999 is a
  sentinel (``weeks_sentinel``); more than 520 weeks (``weeks_implausible``) or 20,000 hours
  (``hours_implausible``) are impossible; more than 84 contact hours a week (12 h x 7 days,
  e.g. 992 hours in 1 week) means one of the two is wrong and neither can be told: both
  unknown (``hours_per_week_impossible``). Costs: all-nines sentinels from 99,999 up
  (``cost_sentinel``; $9,999 is a real price point in 5 rows), negative (``cost_negative``), over $250,000 (``cost_implausible``).
* **Codes.** O*NET-SOC 8 digits -> ``NN-NNNN.NN``; major group must be a SOC 2018 one
  (``soc_invalid``). CIP lost its leading zero in 38 rows (``90101`` -> ``09.0101``, checked
  against the NCES CIP 2020 list); other shapes are ``cip_invalid``.
* **Words.** Outcome, delivery and institution type map by the tables below; ``INVALID CODE``
  is None (``outcome_invalid_code``, ``delivery_invalid_code``,
  ``prerequisites_invalid_code``); an unlisted value is bad input, so the tables stay complete.
  Pell ``Pending`` is None (``pell_pending``). Text is HTML-decoded (``&quot`` without ``;``
  too, by ``html.unescape``; ``A&M`` stays) with whitespace collapsed.
* **Places.** ZIP: first 5 digits; not a ZIP the ``zipcodes`` package knows -> None
  (``zip_invalid``). A city is corrected only to a name the ZIP gives and only when it is a
  near spelling of it ("Lubbck" at 79409 -> "Lubbock"; ``city_corrected``); a city the ZIP does
  not confirm stays as written.
* **URLs.** ``www.x.org/y`` gets ``http://``, ``http:www.x.org/y`` its lost ``//``; anything that is not then an http(s) URL with a
  host name is None (``url_invalid``).

Bad input (a missing column, a row with the wrong number of fields, text in a number column, an
unreadable date, an unlisted code word) raises ``CatalogError`` naming file, row (the file's
line number, header = 1) and field.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import html
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import zipcodes

from knowledge.loaders.catalog import CatalogError
from knowledge.sources.records import Offering, Provenance, SourceReport, TrainingProgramRecord

SOURCE = "texas-etpl"
DATASET_URL = (
    "https://www.twc.texas.gov/files/partners/statewide-eligible-training-program-list-twc.xlsx"
)
CREDIT = (
    "Contains the Statewide Eligible Training Program List of the Texas Workforce Commission "
    "(list of 2024-03-20)."
)
LIST_DATE = dt.date(2024, 3, 20)

OUTCOMES: dict[str, str | None] = {
    "Industry recognized certificate or certification": "industry_certification",
    "Community college certificate of completion": "college_certificate",
    "Associates Degree": "associate_degree",
    "Baccalaureate degree": "bachelor_degree",
    "Certificate of completion of an apprenticeship": "apprenticeship",
    "Government license": "license",
    "No credential - employment only": "employment_only",
    "Measureable skill gain leading to a credential": "skill_gain",
    "Measureable skill gain leading to employment": "skill_gain",
    "Secondary school diploma or its equivalent": "diploma",
    "INVALID CODE": None,
}
DELIVERY: dict[str, str | None] = {
    "In-person": "in_person",
    "Hybrid": "hybrid",
    "Distance Education": "online_instructor_led",
    "INVALID CODE": None,
}
PROVIDER_TYPES: dict[str, str] = {
    "Higher Ed -majority of credentials awarded are associates degrees": "community_college",
    "Higher Ed -majority of credentials awarded are Community college certificate of completion": (
        "community_college"
    ),
    "Higher Ed -majority of credentials awarded are baccalaureate or higher degrees": "university",
    "Private for-profit": "private_for_profit",
    "Private non-profit": "private_non_profit",
    "National Apprenticeship": "apprenticeship",
    "Public": "public",
    "Other type of institution": "other",
}
_YES_NO = {"Yes": True, "No": False, "": None}

# Columns the import reads (the file has a few more: TWIST ids, status, phone).
C_PROVIDER = "Provider ID"
C_CAMPUS_ID = "Campus ID"
C_PROGRAM_ID = "Program ID"
C_PROVIDER_NAME = "ProviderName"
C_TYPE = "Institution Type"
C_CAMPUS = "Campus Name"
C_ADDRESS = "Campus Address"
C_ADDRESS2 = "Campus Address (optional)"
C_CITY = "Campus City"
C_STATE = "Campus State"
C_ZIP = "Campus Zip Code"
C_COUNTY = "Campus County"
C_TRANSIT = "Information: Public Transit"
C_CHILDCARE = "Information: Onsite Childcare"
C_FLEXIBLE = "Information: Flexible Hours"
C_NAME = "Program Name"
C_CIP = "Instructional Program (CIP) Code"
C_DESCRIPTION = "Program Description"
C_PELL = "Pell Eligible"
C_PREREQ = "Academic PreRequisites"
C_URL = "Program URL"
C_OUTCOME = "Program Outcome"
C_CREDENTIAL = "Associted Credential Name"  # sic
C_HOURS = "Length: Contact Hours"
C_WEEKS = "Length: Weeks"
C_DELIVERY = "Delivery Method"
C_SOC = ("Occupation Code (ONET 1)", "Occupation Code (ONET 2)", "Occupation Code (ONET 3)")
C_TUITION = "Required Cost: Tuition & Fees"
C_TUITION_D = "(Description) Required Cost: Tuition & Fees"
C_BOOKS = "Required Cost: Books & Supplies"
C_BOOKS_D = "(Description) Required Cost: Books & Supplies"
C_OPTIONAL = "Optional Cost"
C_OPTIONAL_D = "(Description) Optional Cost"
C_OOD = "(Out Of District) Cost: Tuition & Fees"
C_OOD_D = "(Out Of District) Cost Description: Tuition & Fees"
C_APPRENTICES = "Number Of Apprentices"
C_UPDATED = "Program ETPL Last Update"
REQUIRED_COLUMNS = (
    C_PROVIDER, C_CAMPUS_ID, C_PROGRAM_ID, C_PROVIDER_NAME, C_TYPE, C_CAMPUS, C_ADDRESS,
    C_ADDRESS2, C_CITY, C_STATE, C_ZIP, C_COUNTY, C_TRANSIT, C_CHILDCARE, C_FLEXIBLE, C_NAME,
    C_CIP, C_DESCRIPTION, C_PELL, C_PREREQ, C_URL, C_OUTCOME, C_CREDENTIAL, C_HOURS, C_WEEKS,
    C_DELIVERY, *C_SOC, C_TUITION, C_TUITION_D, C_BOOKS, C_BOOKS_D, C_OPTIONAL, C_OPTIONAL_D,
    C_OOD, C_OOD_D, C_APPRENTICES, C_UPDATED,
)  # fmt: skip
_NUMBERS = (C_HOURS, C_WEEKS, C_TUITION, C_BOOKS, C_OPTIONAL, C_OOD, C_APPRENTICES)
_INTEGERS = (C_PROVIDER, C_CAMPUS_ID, C_PROGRAM_ID)

MAX_HOURS_PER_WEEK = 84.0  # 12 contact hours a day, 7 days a week
MAX_WEEKS = 520.0  # 10 years; the longest real entries are 5-year apprenticeships (260)
MAX_HOURS = 20_000.0  # the longest real entry is 8,500 (a 4-year apprenticeship)
MAX_COST = 250_000.0  # the dearest real entry is $129,000 (a private BSN)
_SOC_MAJOR = {f"{n}" for n in range(11, 54, 2)} | {"55"}  # SOC 2018 major groups 11..53, 55

_NUMBER = re.compile(r"-?\$?\s*\d[\d,]*(\.\d+)?|-?\$?\s*\.\d+")
_ALL_NINES = re.compile(r"9{4,}(\.0+)?")
_INCLUDED = re.compile(
    r"includ|incuded|provided|supplied|\bfree\b|no cost|not required|no books|^none$|^n/?a$",
    re.I,
)
_TUITION_COVERS_BOOKS = re.compile(r"book|material|suppl|text|everything", re.I)
_FREE = re.compile(r"\bfree\b|no cost|no charge|tuition[- ]free", re.I)
_HOST = re.compile(r"(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}", re.I)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
_DATE_FORMAT = "%B %d, %Y %I:%M %p"


def clean_text(value: str) -> str | None:
    """HTML entities decoded (also ``&quot`` without ``;``), whitespace collapsed; blank -> None."""
    text = " ".join(html.unescape(value).split())
    return text or None


@lru_cache(maxsize=4096)
def _zip_places(zip5: str) -> tuple[str, ...] | None:
    """City names the ZIP is used with (USPS city first), or None if it is no known ZIP."""
    found = zipcodes.matching(zip5)
    if not found:
        return None
    return (found[0]["city"], *found[0]["acceptable_cities"])


def _squash(city: str) -> str:
    return re.sub(r"[^a-z]", "", city.casefold())


def correct_city(city: str | None, zip5: str | None) -> str | None:
    """The ZIP's spelling when ``city`` is a near miss of it ("Lubbck" -> "Lubbock"), else None."""
    if not city or not zip5:
        return None
    places = _zip_places(zip5) or ()
    given = _squash(city)
    if any(_squash(p) == given and p.casefold() == city.casefold() for p in places):
        return None  # already spelt as the ZIP spells it
    for place in places:
        if _squash(place) == given:
            return place.title()  # "LaMarque" -> "La Marque", "Sugarland" -> "Sugar Land"
    for place in places:
        if difflib.SequenceMatcher(None, given, _squash(place)).ratio() >= 0.85:
            return place.title()
    return None


def normalise_url(value: str) -> str | None:
    """``www.x.org/y`` -> ``http://www.x.org/y``; None if it is not then an http(s) URL."""
    text = re.sub(r"&amp;?", "&", value.strip())  # only &amp: "&para=" in a query is no entity
    if not text:
        return None
    # "http:www.x.edu/y" (slashes lost) -> "http://www.x.edu/y", only when a path follows the host
    lost = re.fullmatch(r"(https?):/?([^/\s]+)(/\S*)", text, re.I)
    if lost and _HOST.fullmatch(lost.group(2)):
        text = f"{lost.group(1)}://{lost.group(2)}{lost.group(3)}"
    if not _SCHEME.match(text) and _HOST.fullmatch(text.split("/", 1)[0]):
        text = "http://" + text
    match = re.fullmatch(r"(https?)://([^/?#\s]+)([/?#]\S*)?", text, re.I)
    if not match:
        return None
    host = match.group(2).split(":", 1)[0]
    if (
        "@" in match.group(2)
        or not _HOST.fullmatch(host)
        or host.split(".")[0].lower()
        in {
            "http",
            "https",
        }
    ):
        return None
    return text


def soc_code(value: str) -> str | None:
    """``47211100`` -> ``47-2111.00``; None if it is not an O*NET-SOC code."""
    if re.fullmatch(r"\d{8}", value) and value[:2] in _SOC_MAJOR:
        return f"{value[:2]}-{value[2:6]}.{value[6:]}"
    return None


def cip_code(value: str) -> str | None:
    """``111003`` -> ``11.1003``; ``90101`` -> ``09.0101`` (leading zero lost); else None."""
    if re.fullmatch(r"\d{5,6}", value):
        digits = value.zfill(6)
        return f"{digits[:2]}.{digits[2:]}"
    return None


@dataclass
class _Row:
    line: int
    values: dict[str, str]
    numbers: dict[str, float | None]
    updated: dt.date

    def __getitem__(self, column: str) -> str:
        return self.values[column]


class _Counts:
    """Per-rule counts plus the notes of the record being built."""

    def __init__(self) -> None:
        self.rejected: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()
        self.notes: list[str] = []

    def reject(self, rule: str, note: str) -> None:
        self.rejected[rule] += 1
        self.notes.append(f"{note} [{rule}]")

    def flag(self, rule: str, note: str) -> None:
        """A value kept as published but worth a caveat (counted in ``seen``, not rejected)."""
        self.seen[rule] += 1
        self.notes.append(f"{note} [{rule}]")


def read_texas_etpl(path: Path) -> tuple[list[TrainingProgramRecord], SourceReport]:
    """Read the ETPL export into grouped training programs and a report of what was rejected."""
    rows = _read_rows(path)
    groups: dict[tuple, list[_Row]] = {}
    for row in rows:
        groups.setdefault(_group_key(row), []).append(row)
    counts = _Counts()
    problems: list[str] = []
    records = []
    for members in groups.values():
        members.sort(key=lambda r: int(r[C_PROGRAM_ID]))
        records.append(_record(path, members, counts, problems))
    if problems:
        raise CatalogError(problems)
    records.sort(key=lambda r: r.id)
    return records, _report(records, rows, groups, counts)


def _read_rows(path: Path) -> list[_Row]:
    problems: list[str] = []
    rows: list[_Row] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, [])
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise CatalogError([f"{path.name}: row 1: missing column '{c}'" for c in missing])
        for fields in reader:
            line = reader.line_num
            if fields == []:
                continue
            if len(fields) != len(header):
                # name the first field that is missing, or the last one that overflows
                field = header[len(fields)] if len(fields) < len(header) else header[-1]
                problems.append(
                    f"{path.name}: row {line}, field '{field}': unreadable row: "
                    f"{len(fields)} fields, the header has {len(header)}"
                )
                continue
            values = dict(zip(header, fields, strict=True))
            numbers = {}
            for column in _NUMBERS:
                numbers[column] = _number(path, line, column, values[column], problems)
            for column in _INTEGERS:
                if not values[column].strip().isdigit():
                    problems.append(
                        f"{path.name}: row {line}, field '{column}': expected a whole number, "
                        f"got {values[column]!r}"
                    )
            try:
                updated = dt.datetime.strptime(values[C_UPDATED].strip(), _DATE_FORMAT).date()
            except ValueError:
                problems.append(
                    f"{path.name}: row {line}, field '{C_UPDATED}': expected a date like "
                    f"'November 6, 2023 5:25 PM', got {values[C_UPDATED]!r}"
                )
                continue
            rows.append(_Row(line, values, numbers, updated))
    if problems:
        raise CatalogError(problems)
    return rows


def _number(path: Path, line: int, column: str, text: str, problems: list[str]) -> float | None:
    """A number as written (``1,200``, ``$1,200.50``); None for blank and the source's ERROR."""
    value = text.strip()
    if value in ("", "ERROR"):
        return None
    if not _NUMBER.fullmatch(value):
        problems.append(
            f"{path.name}: row {line}, field '{column}': expected a number, got {text!r}"
        )
        return None
    return float(re.sub(r"[$,\s]", "", value))


def _norm(value: str) -> str:
    return (clean_text(value) or "").casefold()


def _group_key(row: _Row) -> tuple:
    program_text = (C_NAME, C_DESCRIPTION, C_URL, C_CIP, C_OUTCOME, C_CREDENTIAL, C_PELL, C_PREREQ)
    return (
        row[C_PROVIDER].strip(),
        tuple(_norm(row[c]) for c in program_text),
        tuple(row.numbers[c] for c in _NUMBERS),
        tuple(row[c].strip() in ("ERROR",) for c in (C_HOURS, C_WEEKS)),
        frozenset(row[c].strip() for c in C_SOC if row[c].strip()),
    )


def _mapped(path: Path, row: _Row, column: str, table: dict, problems: list[str]) -> object:
    value = clean_text(row[column]) or ""
    if value not in table:
        problems.append(f"{path.name}: row {row.line}, field '{column}': unknown value {value!r}")
        return None
    return table[value]


def _record(
    path: Path, rows: list[_Row], counts: _Counts, problems: list[str]
) -> TrainingProgramRecord:
    first = rows[0]
    counts.notes = []
    outcome = _mapped(path, first, C_OUTCOME, OUTCOMES, problems)
    if first[C_OUTCOME].strip() == "INVALID CODE":
        counts.reject("outcome_invalid_code", "outcome 'INVALID CODE' in the source")
    provider_type = _mapped(path, first, C_TYPE, PROVIDER_TYPES, problems)
    hours, weeks = _duration(first, counts)
    tuition, books, optional, out_of_district = _costs(first, counts)
    required = tuition + books if tuition is not None and books is not None else None
    occupations = _occupations(first, counts)
    cip = None
    if first[C_CIP].strip():
        cip = cip_code(first[C_CIP].strip())
        if cip is None:
            counts.reject("cip_invalid", f"CIP {first[C_CIP]!r} is not a CIP code")
        elif len(first[C_CIP].strip()) == 5:
            counts.seen["cip_leading_zero_restored"] += 1
    pell = _YES_NO.get(first[C_PELL].strip())
    if first[C_PELL].strip() == "Pending":
        counts.reject("pell_pending", "Pell eligibility 'Pending'")
    elif first[C_PELL].strip() not in _YES_NO:
        problems.append(f"{path.name}: row {first.line}, field '{C_PELL}': {first[C_PELL]!r}")
    prerequisites = clean_text(first[C_PREREQ])
    if prerequisites == "INVALID CODE":
        counts.reject("prerequisites_invalid_code", "prerequisites 'INVALID CODE' in the source")
        prerequisites = None
    elif prerequisites == "None":
        prerequisites = None
    url = None
    if first[C_URL].strip():
        url = normalise_url(first[C_URL])
        if url is None:
            counts.reject(
                "url_invalid", f"program URL {first[C_URL].strip()!r} is not a web address"
            )
    apprentices = first.numbers[C_APPRENTICES]
    offerings = tuple(_offering(path, row, counts, problems) for row in rows)
    cost_notes = _cost_notes(rows)
    provider = first[C_PROVIDER].strip()
    return TrainingProgramRecord(
        id=f"etpl-{provider}-{int(first[C_PROGRAM_ID])}",
        provider_id=f"etpl-provider-{provider}",
        provider_name=clean_text(first[C_PROVIDER_NAME]) or "",
        provider_type=str(provider_type or "other"),
        name=clean_text(first[C_NAME]) or "",
        description=clean_text(first[C_DESCRIPTION]),
        url=url,
        cip=cip,
        occupations=occupations,
        outcome=outcome,  # type: ignore[arg-type]
        credential_name=clean_text(first[C_CREDENTIAL]),
        hours=hours,
        weeks=weeks,
        tuition_fees_usd=tuition,
        books_supplies_usd=books,
        required_cost_usd=required,
        optional_cost_usd=optional,
        out_of_district_usd=out_of_district,
        cost_notes=cost_notes,
        pell_eligible=pell,
        prerequisites=prerequisites,
        apprentices=int(apprentices) if apprentices else None,
        offerings=offerings,
        provenance=Provenance(SOURCE, url or DATASET_URL, max(r.updated for r in rows)),
        quality_notes=tuple(counts.notes),
    )


def _duration(row: _Row, counts: _Counts) -> tuple[float | None, float | None]:
    hours, weeks = row.numbers[C_HOURS], row.numbers[C_WEEKS]
    if row[C_HOURS].strip() == "ERROR":
        counts.reject("hours_error", "contact hours 'ERROR' in the source")
    if row[C_WEEKS].strip() == "ERROR":
        counts.reject("weeks_error", "weeks 'ERROR' in the source")
    if hours is not None:
        if hours <= 0:
            counts.reject("hours_zero", f"contact hours {hours:g} rejected: no length")
            hours = None
        elif hours > MAX_HOURS:
            counts.reject(
                "hours_implausible", f"contact hours {hours:g} rejected: over {MAX_HOURS:g}"
            )
            hours = None
    if weeks is not None:
        if weeks <= 0:
            counts.reject("weeks_zero", f"weeks {weeks:g} rejected: no length")
            weeks = None
        elif _ALL_NINES.fullmatch(f"{weeks:g}"):
            counts.reject("weeks_sentinel", f"weeks {weeks:g} rejected: sentinel value")
            weeks = None
        elif weeks > MAX_WEEKS:
            counts.reject("weeks_implausible", f"weeks {weeks:g} rejected: over {MAX_WEEKS:g}")
            weeks = None
    if hours is not None and weeks is not None and hours / weeks > MAX_HOURS_PER_WEEK:
        counts.reject(
            "hours_per_week_impossible",
            f"{hours:g} contact hours in {weeks:g} weeks rejected: {hours / weeks:.0f} hours a "
            f"week is over {MAX_HOURS_PER_WEEK:g}; which of the two is wrong is not known",
        )
        hours = weeks = None
    return hours, weeks


def _cost(value: float | None, label: str, counts: _Counts) -> float | None:
    if value is None:
        return None
    if value < 0:
        counts.reject("cost_negative", f"{label} {value:g} rejected: negative")
        return None
    if value >= 99_999 and _ALL_NINES.fullmatch(f"{value:.0f}"):  # $9,999 is a real price
        counts.reject("cost_sentinel", f"{label} {value:g} rejected: sentinel value")
        return None
    if value > MAX_COST:
        counts.reject("cost_implausible", f"{label} {value:g} rejected: over {MAX_COST:g}")
        return None
    return value


def _costs(row: _Row, counts: _Counts) -> tuple[float | None, ...]:
    tuition = _cost(row.numbers[C_TUITION], "tuition and fees", counts)
    books = _cost(row.numbers[C_BOOKS], "books and supplies", counts)
    optional = _cost(row.numbers[C_OPTIONAL], "optional cost", counts)
    ood = _cost(row.numbers[C_OOD], "out-of-district tuition", counts)
    tuition_text, books_text = row[C_TUITION_D].strip(), row[C_BOOKS_D].strip()
    if tuition == 0 and not _FREE.search(tuition_text):
        counts.reject("tuition_zero_unstated", "tuition 0 rejected: no description says it is free")
        tuition = None
    if books == 0:
        stated = _INCLUDED.search(books_text) or (
            _INCLUDED.search(tuition_text) and _TUITION_COVERS_BOOKS.search(tuition_text)
        )
        if not stated:
            # The published figure is $0 and it is kept as published (a book-free course is
            # common), but flagged so a reply says "listed as $0" rather than "no books".
            counts.flag(
                "books_zero_listed",
                "books and supplies listed as $0 with no description; confirm with the provider",
            )
    if ood == 0:
        counts.reject("out_of_district_zero", "out-of-district tuition 0: no separate rate given")
        ood = None
    return tuition, books, optional, ood


def _occupations(row: _Row, counts: _Counts) -> tuple[str, ...]:
    codes: list[str] = []
    for column in C_SOC:
        value = row[column].strip()
        if not value:
            counts.seen["soc_blank"] += 1
            continue
        code = soc_code(value)
        if code is None:
            counts.reject("soc_invalid", f"O*NET-SOC code {value!r} rejected: not a SOC code")
        elif code not in codes:
            codes.append(code)
    return tuple(codes)


def _cost_notes(rows: list[_Row]) -> tuple[str, ...]:
    notes: list[str] = []
    labels = (
        (C_TUITION_D, "tuition and fees"),
        (C_BOOKS_D, "books and supplies"),
        (C_OPTIONAL_D, "optional"),
        (C_OOD_D, "out of district"),
    )
    for row in rows:
        for column, label in labels:
            text = clean_text(row[column])
            if text and text != "0" and f"{label}: {text}" not in notes:
                notes.append(f"{label}: {text}")
    return tuple(notes)


def _offering(path: Path, row: _Row, counts: _Counts, problems: list[str]) -> Offering:
    campus_id = row[C_CAMPUS_ID].strip()
    zip5: str | None = None
    zip_text = row[C_ZIP].strip()
    if zip_text:
        match = re.fullmatch(r"(\d{5})(?:-?\d{4})?", zip_text)
        if match and _zip_places(match.group(1)) is not None:
            zip5 = match.group(1)
        else:
            counts.reject("zip_invalid", f"campus {campus_id}: ZIP {zip_text!r} is not a known ZIP")
    city = clean_text(row[C_CITY])
    corrected = correct_city(city, zip5)
    if corrected:
        counts.reject(
            "city_corrected", f"campus {campus_id}: city {city!r} -> {corrected!r} (ZIP {zip5})"
        )
        city = corrected
    delivery = _mapped(path, row, C_DELIVERY, DELIVERY, problems)
    if row[C_DELIVERY].strip() == "INVALID CODE":
        counts.reject("delivery_invalid_code", f"campus {campus_id}: delivery 'INVALID CODE'")
    address2 = clean_text(row[C_ADDRESS2])
    address = clean_text(row[C_ADDRESS])
    if address and address2 and address2 != "0":
        address = f"{address}, {address2}"
    flags = []
    for column in (C_TRANSIT, C_CHILDCARE, C_FLEXIBLE):
        value = row[column].strip()
        if value not in _YES_NO:
            problems.append(f"{path.name}: row {row.line}, field '{column}': {value!r}")
        flags.append(_YES_NO.get(value))
    state = (clean_text(row[C_STATE]) or "").upper() or None
    return Offering(
        campus_id=campus_id or None,
        campus=clean_text(row[C_CAMPUS]),
        address=address,
        city=city,
        county=clean_text(row[C_COUNTY]),
        state=state,
        zip=zip5,
        delivery=delivery,  # type: ignore[arg-type]
        transit=flags[0],
        childcare=flags[1],
        flexible_hours=flags[2],
        source_program_id=row[C_PROGRAM_ID].strip(),
    )


def _report(
    records: list[TrainingProgramRecord],
    rows: list[_Row],
    groups: dict[tuple, list[_Row]],
    counts: _Counts,
) -> SourceReport:
    def known(test) -> int:
        return sum(1 for r in records if test(r))

    multi = [g for g in groups.values() if len(g) > 1]
    report = SourceReport(source=SOURCE, records=len(records))
    report.known = {
        "cost": known(lambda r: r.required_cost_usd is not None),
        "duration": known(lambda r: r.hours is not None or r.weeks is not None),
        "cost_and_duration": known(
            lambda r: (
                r.required_cost_usd is not None and (r.hours is not None or r.weeks is not None)
            )
        ),
        "format": known(lambda r: any(o.delivery for o in r.offerings)),
        "occupation": known(lambda r: bool(r.occupations)),
        "place": known(lambda r: any(o.city or o.zip for o in r.offerings)),
    }
    report.rejected = dict(sorted(counts.rejected.items()))
    report.notes = [
        f"rows read: {len(rows)}",
        f"programs after grouping: {len(records)} ({len(multi)} at several campuses, "
        f"holding {sum(len(g) for g in multi)} rows)",
        f"offerings: {sum(len(r.offerings) for r in records)}",
        f"providers: {len({r.provider_id for r in records})}",
        f"blank O*NET-SOC fields: {counts.seen['soc_blank']}",
        f"CIP codes with the leading zero restored: {counts.seen['cip_leading_zero_restored']}",
        f"books and supplies listed as $0 with no description (kept, with a caveat): "
        f"{counts.seen['books_zero_listed']}",
    ]
    return report
