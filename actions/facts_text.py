"""Catalog facts in the learner's terms: small pure functions from a record's facts
(``CredentialSearch.facts``) to words. Every reply names each fact's source and as-of date,
says an unknown number once with where to find it, and never presents an unchecked record
as checked. No I/O here: the actions (and the answer-first redesign) compose these."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date
from typing import Any

from knowledge.catalog_links import OccupationLink

Facts = dict[str, Any]

TEXAS_ONLY = (
    "Local training programs are only known for Texas so far, so these are national and "
    "online options."
)
UNKNOWN_PLACE = "I don't know that place; a ZIP code works best."
LADDER_CAVEAT = "the college decides how the certificate's courses count"
WIOA_LINE = (
    "Every program on the Texas Eligible Training Provider List can be paid for with WIOA "
    "training funds; your local workforce board decides who qualifies."
)
FAFSA_LINE = "To use a Pell grant, fill in the FAFSA (studentaid.gov); the college's aid office decides the amount."


def usd(value: float) -> str:
    return f"${value:,.0f}"


def month_year(iso: str | None) -> str | None:
    if not iso:
        return None
    d = date.fromisoformat(iso)
    return f"{calendar.month_name[d.month]} {d.year}"


def has_note(f: Facts, rule: str) -> bool:
    """Whether a data-quality note of this rule ("[books_zero_listed]") is on the record."""
    tag = f"[{rule}]"
    return any(tag in n for n in (f.get("quality_notes") or []) + (f.get("cost_notes") or []))


def source_line(f: Facts, source_dates: dict[str, str | None] | None = None) -> str:
    """Where the facts come from and as of when, in one sentence."""
    source, as_of = f.get("source") or "curated", f.get("as_of")
    if source == "texas-etpl":
        return f"Texas ETPL, updated {as_of}." if as_of else "Texas ETPL (no update date listed)."
    if source == "careeronestop":
        when = month_year(as_of)
        return f"CareerOneStop, {when}." if when else "CareerOneStop."
    if f.get("verified"):
        line = (
            f"From the provider's page, checked {as_of}." if as_of else "From the provider's page."
        )
    else:
        # Curated records were copied from the provider's page and not re-checked since.
        line = (
            f"From the provider's page, not re-checked since {as_of}."
            if as_of
            else "From the provider's page (date not recorded)."
        )
    c1 = (f.get("external_ids") or {}).get("careeronestop")
    if c1:
        when = month_year((source_dates or {}).get("careeronestop"))
        line = line[:-1] + "; also listed by CareerOneStop" + (f", {when}." if when else ".")
    return line


def cost_text(f: Facts) -> str | None:
    """The required cost and what it is made of; None when the cost is unknown."""
    total = f.get("cost_usd")
    if total is None:
        return None
    if f.get("kind") != "program":
        if total == 0:
            return "free"
        note = f.get("cost_note") or ""
        return usd(total) + (" a month" if "month" in note.lower() else "")
    tuition, books = f.get("tuition_fees_usd"), f.get("books_supplies_usd")
    parts = []
    if tuition is not None:
        parts.append(f"tuition and fees {usd(tuition)}")
    if books is not None:
        if books == 0 and has_note(f, "books_zero_listed"):
            parts.append("books listed as $0 (confirm with the provider)")
        else:
            parts.append(f"books {usd(books)}")
    text = f"{usd(total)} required"
    if parts:
        text += " (" + " + ".join(parts) + ")"
    optional = f.get("optional_cost_usd")
    if optional:
        text += f", plus {usd(optional)} optional"
    return text


def duration_text(f: Facts) -> str | None:
    h, w = f.get("hours"), f.get("weeks")
    if h is not None and w is not None:
        return f"{h:,.0f} hours over {w:g} weeks"
    if h is not None:
        return f"{h:,.0f} hours"
    if w is not None:
        return f"{w:g} weeks"
    return None


def pell_text(f: Facts) -> str | None:
    value = f.get("pell_eligible")
    if value is None:
        return None
    return "Pell-eligible" if value else "not Pell-eligible"


def unknown_text(f: Facts) -> str | None:
    """The unknown numbers, said once, with where to find them."""
    missing = []
    if f.get("cost_usd") is None:
        missing.append("cost")
    if f.get("hours") is None and f.get("weeks") is None:
        missing.append("length")
    if not missing:
        return None
    what = " and ".join(missing)
    url = f.get("url") or f.get("source_url")
    return f"The {what} {'is' if len(missing) == 1 else 'are'} not listed" + (
        f": check {url}." if url else "."
    )


def where_text(provider: str, place: str | None, miles: float | None) -> str:
    """ "St. Philip's College, San Antonio (9 miles)": the nearest campus when known."""
    # The campus label names the campus and city, not always the provider: say both.
    where = f"{provider}, {place}" if place and provider not in place else place or provider
    if miles is not None:
        where += f" ({miles:,.0f} miles)" if miles >= 1 else " (under a mile)"
    return where


def record_line(
    f: Facts,
    *,
    miles: float | None = None,
    place: str | None = None,
    source_dates: dict[str, str | None] | None = None,
) -> str:
    """One record in a sentence or two: what, where, cost, length, Pell, unknowns, source."""
    facts = [x for x in (cost_text(f), duration_text(f)) if x]
    if f.get("kind") == "program":
        pell = pell_text(f)
        if pell:
            facts.append(pell)
        online = miles is None and any(
            o.get("delivery") == "online_instructor_led" for o in f.get("offerings") or []
        )
        where = f"{f['provider']}, online" if online else where_text(f["provider"], place, miles)
        head = f"{f['name']} — {where}"
    else:
        head = f"{f['name']} ({f['provider']})"
    text = head + (": " + ", ".join(facts) + "." if facts else ".")
    unknown = unknown_text(f)
    if unknown:
        text += " " + unknown
    return text + " " + source_line(f, source_dates)


def occupation_text(links: Sequence[OccupationLink], limit: int = 2) -> str | None:
    """ "Prepares you for X" (stated by the source) or "related to X" (inferred)."""
    stated = [link.title for link in links if link.stated][:limit]
    if stated:
        return "Prepares you for " + " and ".join(stated) + "."
    related = [link.title for link in links if not link.stated][:limit]
    if related:
        return "Related to " + " and ".join(related) + "."
    return None


def offering_lines(offerings: Sequence[Facts], miles: Sequence[float | None]) -> list[str]:
    """Each campus (nearest first when miles are known) with its address and delivery."""
    rows = sorted(
        zip(offerings, miles, strict=True),
        key=lambda p: (p[1] is None, p[1] if p[1] is not None else 0.0),
    )
    lines = []
    for o, m in rows:
        if o.get("delivery") == "online_instructor_led" or (
            o.get("lat") is None and not o.get("city")
        ):
            lines.append("- Online.")
            continue
        addr = ", ".join(x for x in (o.get("address"), o.get("city")) if x)
        name = o.get("campus") or "Campus"
        extra = []
        if m is not None:
            extra.append(f"{m:,.0f} miles away" if m >= 1 else "under a mile away")
        for flag, words in (
            ("flexible_hours", "flexible hours"),
            ("childcare", "childcare"),
            ("transit", "near transit"),
        ):
            if o.get(flag):
                extra.append(words)
        lines.append(f"- {name}, {addr}" + (f" ({', '.join(extra)})" if extra else "") + ".")
    return lines


def ladder_text(program: Facts, targets: Sequence[Facts]) -> str:
    """ "St. Philip's College also offers a Welding AAS (992 hours, $4,524); the college
    decides how the certificate's courses count." """
    if not targets and program.get("outcome") == "associate_degree":
        return f"{program['name']} at {program['provider']} is an associate degree itself. " + (
            source_line(program)
        )
    if not targets:
        return (
            f"I have no associate degree on record at {program['provider']} in the same field "
            f"as {program['name']}. Ask the college's advising office whether its courses count "
            "toward one."
        )
    parts = []
    for t in targets[:2]:
        nums = [x for x in (duration_text(t), cost_text(t)) if x]
        parts.append(f"{t['name']}" + (f" ({', '.join(nums)})" if nums else ""))
    return (
        f"{program['provider']} also offers {' and '.join(parts)}; {LADDER_CAVEAT}. "
        + source_line(targets[0])
    )


def pell_answer(f: Facts) -> str:
    """Pell and WIOA for one record."""
    if f.get("kind") != "program":
        return (
            f"Pell grants pay for college programs, not for an exam or course like {f['name']} "
            "on its own. A WIOA training grant from your local American Job Center may cover it."
        )
    lines = []
    pell = f.get("pell_eligible")
    if pell is True:
        lines.append(
            f"Yes: {f['name']} at {f['provider']} is listed as Pell-eligible. {FAFSA_LINE}"
        )
    elif pell is False:
        lines.append(f"{f['name']} at {f['provider']} is listed as not Pell-eligible.")
    else:
        lines.append(f"The list doesn't say whether {f['name']} is Pell-eligible; ask the college.")
    if f.get("wioa_eligible"):
        lines.append(WIOA_LINE)
    lines.append(source_line(f))
    return " ".join(lines)
