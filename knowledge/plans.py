"""Advice in the learner's terms: time and cost of one record, what a job pays, what comes next.

* ``time_and_cost(facts, hours_per_week)``: the record's hours at the learner's pace, its weeks as
  scheduled, required cost and its parts, optional and out-of-district costs apart, a monthly
  subscription over the provider's stated pace, Pell / WIOA when known; unknowns said once with
  the page to check. Every number in the sentence is a field of the record, the learner's hours
  a week, or arithmetic on those (weeks at a pace, months, a sum) that the structured value shows.
* ``pay_outlook(goal_code, current_job_code, cost)``: BLS national median pay of the occupation
  named (O*NET detail codes carry their SOC occupation's wage, and say so), the typical education,
  the difference from the current job and a payback estimate.
* ``next_steps(id, held_license)``: CareerOneStop core -> advanced -> specialty in the same
  organization, Texas certificate -> associate degree ladders, curated pathways and articulations,
  and a licensed learner's next license (never a lower one), with total known hours and cost.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from knowledge import schema

Facts = dict[str, Any]
FactsLookup = Callable[[list[str]], dict[str, Facts]]

WEEKS_PER_MONTH = 52 / 12
WAGE_SOURCE = "BLS Occupational Employment and Wage Statistics, May 2024, national"
_MONTHLY = re.compile(r"\b(per month|a month|monthly|/ ?mo)\b", re.IGNORECASE)


def money(value: float) -> str:
    """$4,524 or $49.99: cents only when the record has them."""
    return f"${value:,.0f}" if float(value).is_integer() else f"${value:,.2f}"


def num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def count(n: float, unit: str) -> str:
    """'1 week', '12 weeks'."""
    return f"{num(n)} {unit}" + ("" if n == 1 else "s")


# -- time and cost ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeCost:
    hours: float | None
    weeks: float | None  # as scheduled by the provider
    hours_per_week: float | None
    weeks_at_pace: int | None  # hours / hours a week, rounded up to whole weeks
    required_usd: float | None  # tuition and fees + books (programs), the cost (credentials)
    tuition_fees_usd: float | None
    books_supplies_usd: float | None
    optional_usd: float | None
    out_of_district_usd: float | None
    monthly_usd: float | None  # a subscription price
    months_at_pace: int | None  # the provider's stated weeks (or hours at your pace) in months
    total_usd: float | None  # monthly x months, or the required cost
    free: bool
    pell_eligible: bool | None
    wioa_eligible: bool | None
    unknown: tuple[str, ...]  # "cost", "hours", "length"
    check_at: str | None  # where to find what is unknown
    as_of: str | None
    source: str | None
    text: str


def _is_monthly(facts: Facts) -> bool:
    return bool(facts.get("cost_note") and _MONTHLY.search(facts["cost_note"]))


def time_and_cost(facts: Facts, hours_per_week: float | None = None) -> TimeCost:
    hours, weeks = facts.get("hours"), facts.get("weeks")
    hpw = hours_per_week if hours_per_week and hours_per_week > 0 else None
    program = facts.get("kind") == "program"
    free = bool(facts.get("free"))
    cost = facts.get("cost_usd")
    monthly = cost if cost is not None and not free and _is_monthly(facts) else None
    weeks_at_pace = math.ceil(hours / hpw - 1e-9) if hours and hpw else None
    months = None
    total = None
    if monthly is not None:
        pace_weeks = weeks or weeks_at_pace
        if pace_weeks:
            months = max(1, math.ceil(pace_weeks / WEEKS_PER_MONTH - 1e-9))
            total = monthly * months
    elif cost is not None:
        total = cost
    required = None if monthly is not None else cost
    sentences: list[str] = []
    # Time.
    if weeks_at_pace is not None:
        s = f"About {count(weeks_at_pace, 'week')} at {num(hpw)} hours a week "
        s += f"({count(hours, 'hour')} in all)"
        if weeks:
            s += f"; the provider schedules it over {count(weeks, 'week')}"
        sentences.append(s + ".")
    elif hours and weeks:
        sentences.append(f"It takes {num(hours)} hours over {num(weeks)} weeks.")
    elif hours:
        sentences.append(f"It takes {num(hours)} hours in all.")
    elif weeks:
        sentences.append(f"It runs {num(weeks)} weeks.")
    # Cost.
    tuition, books = facts.get("tuition_fees_usd"), facts.get("books_supplies_usd")
    if free:
        sentences.append("It is free.")
    elif monthly is not None:
        s = f"It costs {money(monthly)} a month"
        if months is not None and total is not None:
            basis = (
                f"the provider's {num(weeks)} weeks"
                if weeks
                else f"{count(weeks_at_pace, 'week')} at your pace"
            )
            s += f"; over {basis} that is about {count(months, 'month')}, about {money(total)}"
        else:
            s += ", so the total depends on how long you take"
        sentences.append(s + ".")
    elif cost is not None:
        if program and tuition is not None and books is not None and books > 0:
            s = (
                f"It costs {money(cost)}: {money(tuition)} tuition and fees plus "
                f"{money(books)} books and supplies"
            )
        else:
            s = f"It costs {money(cost)}"
            if facts.get("cost_note"):
                s += f" ({facts['cost_note'].rstrip('.')})"
        sentences.append(s + ".")
        if program and books == 0:
            sentences.append("Books and supplies are listed as $0; confirm with the provider.")
    elif facts.get("cost_note"):
        sentences.append(f"On cost, the provider says: {facts['cost_note'].rstrip('.')}.")
    optional, ood = facts.get("optional_cost_usd"), facts.get("out_of_district_usd")
    if optional:
        sentences.append(f"Optional costs of {money(optional)} are not included.")
    if ood:
        sentences.append(f"Out-of-district tuition is {money(ood)}.")
    # Aid.
    pell, wioa = facts.get("pell_eligible"), facts.get("wioa_eligible")
    if pell is True:
        sentences.append("It is eligible for Pell grants (apply with the FAFSA).")
    elif pell is False and program:
        sentences.append("The state list does not mark it Pell-eligible.")
    if wioa:
        sentences.append(
            "As a program on the Texas Eligible Training Provider List it can be paid for with "
            "WIOA training funds; your local workforce board decides who qualifies."
        )
    # Unknowns: once, with the page to check.
    unknown = []
    if cost is None and not free:
        unknown.append("cost")
    if hours is None and weeks is None:
        unknown.append("length")
    elif hours is None and hpw:
        unknown.append("hours")
    check_at = facts.get("url") or facts.get("source_url")
    if unknown:
        names = {"cost": "the cost", "length": "how long it takes", "hours": "the hours"}
        said = " and ".join(names[u] for u in unknown)
        where = f"; check {check_at}" if check_at else ""
        sentences.append(f"We don't have {said} on record{where}.")
    return TimeCost(
        hours=hours,
        weeks=weeks,
        hours_per_week=hpw,
        weeks_at_pace=weeks_at_pace,
        required_usd=required,
        tuition_fees_usd=tuition,
        books_supplies_usd=books,
        optional_usd=optional,
        out_of_district_usd=ood,
        monthly_usd=monthly,
        months_at_pace=months,
        total_usd=total,
        free=free,
        pell_eligible=pell,
        wioa_eligible=wioa,
        unknown=tuple(unknown),
        check_at=check_at,
        as_of=facts.get("as_of"),
        source=facts.get("source"),
        text=" ".join(sentences),
    )


# -- pay -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pay:
    code: str
    title: str
    median_wage_usd: float | None
    wage_soc: str  # the SOC occupation BLS publishes the wage for (NN-NNNN)
    typical_education: str | None
    current_code: str | None
    current_title: str | None
    current_median_usd: float | None
    difference_year_usd: float | None
    difference_month_usd: float | None
    cost_usd: float | None
    payback_months: int | None
    source: str
    text: str


def _occupation(engine: Engine, code: str) -> tuple[str, float | None, str | None] | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(
                schema.Occupation.title,
                schema.Occupation.median_wage_usd,
                schema.Occupation.typical_education,
            ).where(schema.Occupation.code == code)
        ).first()
    return (row[0], row[1], row[2]) if row else None


def _default_engine() -> Engine:
    from knowledge.services import get_services

    return get_services().engine


def pay_outlook(
    goal_code: str,
    current_job_code: str | None = None,
    cost: float | None = None,
    engine: Engine | None = None,
) -> Pay | None:
    """Pay of the goal occupation itself (None for an unknown code)."""
    engine = engine or _default_engine()
    goal = _occupation(engine, goal_code)
    if goal is None:
        return None
    title, wage, education = goal
    current = _occupation(engine, current_job_code) if current_job_code else None
    parts = []
    if wage is not None:
        s = f"{title} earn a median {money(wage)} a year nationally ({WAGE_SOURCE})"
        if not goal_code.endswith(".00"):
            # O*NET splits some SOC occupations; BLS publishes one wage for the SOC one.
            s += f"; BLS publishes this wage for the whole SOC occupation {goal_code[:7]}"
        parts.append(s + ".")
    else:
        parts.append(f"BLS publishes no national median wage for {title}.")
    if education:
        parts.append(f"Typical education: {education}.")
    diff_year = diff_month = None
    payback = None
    if current is not None:
        ctitle, cwage, _ = current
        if wage is not None and cwage is not None:
            diff_year = wage - cwage
            diff_month = round(diff_year / 12)
            if diff_year > 0:
                parts.append(
                    f"That is {money(diff_year)} a year more than the {money(cwage)} median for "
                    f"{ctitle}, about {money(diff_month)} a month."
                )
                if cost:
                    payback = max(1, math.ceil(cost / diff_month))
                    parts.append(
                        f"At a cost of {money(cost)}, the higher pay would cover it in about "
                        f"{count(payback, 'month')}."
                    )
            else:
                parts.append(
                    f"The {money(cwage)} median for {ctitle} is "
                    + ("the same." if diff_year == 0 else f"{money(-diff_year)} a year higher.")
                )
        else:
            parts.append(f"We have no national median wage to compare for {ctitle}.")
        parts.append("Wages vary by place, employer and experience.")
    return Pay(
        code=goal_code,
        title=title,
        median_wage_usd=wage,
        wage_soc=goal_code[:7],
        typical_education=education,
        current_code=current_job_code if current else None,
        current_title=current[0] if current else None,
        current_median_usd=current[1] if current else None,
        difference_year_usd=diff_year,
        difference_month_usd=diff_month,
        cost_usd=cost,
        payback_months=payback,
        source=WAGE_SOURCE,
        text=" ".join(parts),
    )


# -- next steps ------------------------------------------------------------------------------
# Licenses that build on each other (Texas nursing and EMS; the Board of Nursing and DSHS
# define them). The held license's occupation and the next one's, with the words learners use.
LICENSE_LADDER: dict[str, tuple[str, str]] = {
    # held: (occupation held, next occupation)
    "cna": ("31-1131.00", "29-2061.00"),
    "lvn": ("29-2061.00", "29-1141.00"),
    "emt": ("29-2042.00", "29-2043.00"),
}
_LICENSE_WORDS = {
    "cna": ("cna", "nurse aide", "nursing assistant", "31-1131.00"),
    "lvn": ("lvn", "lpn", "vocational nurse", "practical nurse", "29-2061.00"),
    "emt": ("emt", "emergency medical technician", "29-2042.00"),
}
# A program for a licensed learner's next license names the bridge ("LVN to RN Transition").
_BRIDGE = re.compile(
    r"\b(transition|bridge|mobility|articulat\w*|lvn|lpn|advanced placement)\b", re.I
)
_DEGREE_OUTCOMES = ("associate_degree", "license", "bachelor_degree")
_CERT_ORDER = {"core": 0, "advanced": 1, "specialty": 2}


@dataclass(frozen=True)
class Step:
    id: str
    name: str
    provider: str
    kind: str  # "credential", "program" or "degree"
    rule: str  # how it follows: "advanced_cert", "ladder_same_cip", "pathway", "next_license"...
    why: str
    hours: float | None
    cost_usd: float | None
    cost_monthly: bool
    url: str | None
    as_of: str | None
    alternatives: tuple[str, ...] = ()  # other ids that would serve as this step


@dataclass(frozen=True)
class Plan:
    start_id: str | None
    start_name: str | None
    steps: tuple[Step, ...]
    known_hours: float
    known_cost_usd: float
    hours_unknown: tuple[str, ...]
    cost_unknown: tuple[str, ...]
    cost_monthly: tuple[str, ...]
    text: str
    held_license: str | None = None
    notes: tuple[str, ...] = field(default=())


def _rungs_up_to(key: str) -> set[str]:
    """Occupations of the license held and of every license below it on the ladder."""
    held = LICENSE_LADDER[key][0]
    rungs = {held}
    changed = True
    while changed:
        changed = False
        for low, nxt in LICENSE_LADDER.values():
            if nxt in rungs and low not in rungs:
                rungs.add(low)
                changed = True
    return rungs


def license_key(held: str | None) -> str | None:
    """'LVN', 'a licensed practical nurse', '29-2061.00' -> 'lvn' (None when not on the ladder)."""
    if not held:
        return None
    text = held.lower()
    for key, words in _LICENSE_WORDS.items():
        if any(re.search(rf"\b{re.escape(w)}\b", text) for w in words):
            return key
    return None


def _step_from_facts(f: Facts, rule: str, why: str, alternatives: tuple[str, ...] = ()) -> Step:
    return Step(
        id=f["id"],
        name=f["name"],
        provider=f["provider"],
        kind=f.get("kind", "credential"),
        rule=rule,
        why=why,
        hours=f.get("hours"),
        cost_usd=f.get("cost_usd"),
        cost_monthly=_is_monthly(f),
        url=f.get("url") or f.get("source_url"),
        as_of=f.get("as_of"),
        alternatives=alternatives,
    )


class PlanFinder:
    """Next steps over one knowledge DB; ``facts_for`` is ``CredentialSearch.facts`` (cached)."""

    def __init__(self, engine: Engine, facts_for: FactsLookup) -> None:
        self.engine = engine
        self.facts_for = facts_for
        with engine.connect() as conn:
            self._creds = {
                cid: (prov, ctype, name)
                for cid, prov, ctype, name in conn.execute(
                    select(
                        schema.Credential.id,
                        schema.Credential.provider_id,
                        schema.Credential.cert_type,
                        schema.Credential.name,
                    )
                )
            }
            self._by_provider: dict[str, list[str]] = {}
            for cid, (prov, _, _) in self._creds.items():
                self._by_provider.setdefault(prov, []).append(cid)
            self._cred_occ: dict[str, set[str]] = {}
            for cid, code in conn.execute(
                select(schema.CredentialOccupation.credential_id, schema.CredentialOccupation.code)
            ):
                self._cred_occ.setdefault(cid, set()).add(code)
            self._ladders: dict[str, list[tuple[str, str]]] = {}
            for a, b, rule in conn.execute(
                select(
                    schema.ProgramLadder.from_program,
                    schema.ProgramLadder.to_program,
                    schema.ProgramLadder.rule,
                )
            ):
                self._ladders.setdefault(a, []).append((b, rule))
            self._programs = {
                pid: (name, outcome, hours, cost, cred)
                for pid, name, outcome, hours, cost, cred in conn.execute(
                    select(
                        schema.TrainingProgram.id,
                        schema.TrainingProgram.name,
                        schema.TrainingProgram.outcome,
                        schema.TrainingProgram.hours,
                        schema.TrainingProgram.required_cost_usd,
                        schema.TrainingProgram.credential_id,
                    )
                )
            }
            self._prog_occ: dict[str, set[str]] = {}
            for pid, code in conn.execute(
                select(schema.ProgramOccupation.program_id, schema.ProgramOccupation.code)
            ):
                self._prog_occ.setdefault(pid, set()).add(code)
            self._pathways = [
                (pid, inst, name, list(steps or []), example)
                for pid, inst, name, steps, example in conn.execute(
                    select(
                        schema.Pathway.id,
                        schema.Pathway.institution_id,
                        schema.Pathway.name,
                        schema.Pathway.steps,
                        schema.Institution.example,
                    ).join(
                        schema.Institution,
                        schema.Institution.id == schema.Pathway.institution_id,
                        isouter=True,
                    )
                )
            ]
            self._degrees = {
                did: (name, inst, credits, url)
                for did, name, inst, credits, url in conn.execute(
                    select(
                        schema.DegreeProgram.id,
                        schema.DegreeProgram.name,
                        schema.DegreeProgram.institution_id,
                        schema.DegreeProgram.total_credits,
                        schema.DegreeProgram.url,
                    )
                )
            }

    # -- rules -----------------------------------------------------------------------------
    def _cert_ladder(self, cid: str) -> list[Step]:
        """Higher CareerOneStop types of the same organization that share an occupation."""
        prov, ctype, _ = self._creds[cid]
        start = _CERT_ORDER.get(ctype or "")
        if start is None or prov is None:
            return []
        occ = self._cred_occ.get(cid, set())
        picks: list[Step] = []
        for level in ("advanced", "specialty"):
            if _CERT_ORDER[level] <= start:
                continue
            same = [
                o
                for o in self._by_provider.get(prov, [])
                if o != cid and self._creds[o][1] == level and self._cred_occ.get(o, set()) & occ
            ]
            same.sort(key=lambda o: (-len(self._cred_occ[o] & occ), self._creds[o][2] or "", o))
            if same:
                f = self.facts_for(same[:1])[same[0]]
                picks.append(
                    _step_from_facts(
                        f,
                        f"{level}_cert",
                        f"the {level} certification from the same organization",
                        tuple(same[1:3]),
                    )
                )
                start = _CERT_ORDER[level]
        return picks

    def _pathway_steps(self, cid: str, institution: str | None) -> list[Step]:
        out: list[Step] = []
        for _pid, inst, name, steps, example in self._pathways:
            if cid not in steps or (example and inst != institution):
                continue
            for nxt in steps[steps.index(cid) + 1 :]:
                if nxt in self._creds:
                    f = self.facts_for([nxt]).get(nxt)
                    if f:
                        out.append(_step_from_facts(f, "pathway", f"next on the pathway {name}"))
                elif nxt in self._degrees:
                    dname, dinst, _credits, url = self._degrees[nxt]
                    out.append(
                        Step(
                            nxt,
                            dname,
                            dinst or "",
                            "degree",
                            "pathway",
                            f"on the pathway {name}",
                            None,
                            None,
                            False,
                            url,
                            None,
                        )
                    )
            break
        return out

    def _articulation_steps(self, f: Facts, institution: str | None) -> list[Step]:
        out = []
        for a in f.get("articulations", []):
            if a["example"] and a["institution_id"] != institution:
                continue
            credits = a.get("credits")
            why = f"{a['institution']} counts it toward this degree" + (
                f" ({num(credits)} credits)" if credits else ""
            )
            out.append(
                Step(
                    f"{a['institution_id']}:{a['program']}",
                    a["program"],
                    a["institution"],
                    "degree",
                    "articulation",
                    why,
                    None,
                    None,
                    False,
                    a.get("source"),
                    None,
                )
            )
        return out[:1]

    def _program_ladder(self, pid: str) -> list[Step]:
        options = self._ladders.get(pid, [])
        if not options:
            return []
        rank = {"same_cip": 0, "same_cip_family": 1}
        options = sorted(
            options,
            key=lambda o: (
                self._programs[o[0]][1] != "associate_degree",
                rank.get(o[1], 2),
                self._programs[o[0]][2] is None,
                o[0],
            ),
        )
        best, rule = options[0]
        f = self.facts_for([best])[best]
        why = (
            f"{f['provider']} also offers it in the same field; the college decides how your "
            "certificate's courses count"
        )
        return [_step_from_facts(f, f"ladder_{rule}", why, tuple(o[0] for o in options[1:3]))]

    def _next_license(self, key: str) -> list[Step]:
        held_code, next_code = LICENSE_LADDER[key]
        found = [
            pid
            for pid, (name, outcome, _h, _c, _cr) in self._programs.items()
            if next_code in self._prog_occ.get(pid, set()) and outcome in _DEGREE_OUTCOMES
        ]
        held_words = re.compile(
            r"\b(" + "|".join(re.escape(w) for w in _LICENSE_WORDS[key][:-1]) + r")\b", re.I
        )

        def rank(p: str) -> tuple:
            name, outcome, hours, cost, _ = self._programs[p]
            # Programs naming the license held ("LVN to RN") first, then other bridges, then
            # degrees and licenses, then those with known hours and cost.
            return (
                not held_words.search(name),
                not _BRIDGE.search(name),
                outcome not in ("associate_degree", "license"),
                hours is None or cost is None,
                cost or 0.0,
                p,
            )

        found.sort(key=rank)
        if not found:
            return []
        f = self.facts_for(found[:1])[found[0]]
        title = _occupation(self.engine, next_code)
        why = f"prepares for the next license ({title[0] if title else next_code})"
        return [_step_from_facts(f, "next_license", why, tuple(found[1:4]))]

    # -- plan ------------------------------------------------------------------------------
    def plan(
        self, start_id: str | None, held_license: str | None = None, institution: str | None = None
    ) -> Plan:
        steps: list[Step] = []
        notes: list[str] = []
        start = self.facts_for([start_id]).get(start_id) if start_id else None
        key = license_key(held_license)
        if key is not None:
            steps += self._next_license(key)
        elif held_license:
            notes.append(f"We have no license ladder for {held_license}.")
        if start is not None:
            cids = [start_id] if start.get("kind") != "program" else []
            if start.get("kind") == "program":
                steps += self._program_ladder(start_id)
                if start.get("credential_id") in self._creds:
                    cids.append(start["credential_id"])
            for cid in cids:
                steps += self._cert_ladder(cid)
                steps += self._pathway_steps(cid, institution)
                steps += self._articulation_steps(self.facts_for([cid])[cid], institution)
        if key is not None:
            # Never a step at or below the license held: drop steps whose occupations are all
            # on lower rungs (a CNA or LVN program for an LVN); steps without occupations stay.
            below = _rungs_up_to(key)
            steps = [
                s
                for s in steps
                if s.rule == "next_license"
                or not (occ := self._prog_occ.get(s.id, set()) | self._cred_occ.get(s.id, set()))
                or not occ <= below
            ]
        seen: set[str] = set()
        steps = [s for s in steps if not (s.id in seen or seen.add(s.id)) and s.id != start_id]
        hours = sum(s.hours for s in steps if s.hours is not None)
        cost = sum(s.cost_usd for s in steps if s.cost_usd is not None and not s.cost_monthly)
        h_unknown = tuple(s.name for s in steps if s.hours is None)
        c_unknown = tuple(s.name for s in steps if s.cost_usd is None)
        monthly = tuple(s.name for s in steps if s.cost_monthly)
        return Plan(
            start_id=start_id,
            start_name=start["name"] if start else None,
            steps=tuple(steps),
            known_hours=hours,
            known_cost_usd=cost,
            hours_unknown=h_unknown,
            cost_unknown=c_unknown,
            cost_monthly=monthly,
            text=_plan_text(start, steps, hours, cost, h_unknown, c_unknown, monthly),
            held_license=key,
            notes=tuple(notes),
        )


def _plan_text(
    start: Facts | None,
    steps: list[Step],
    hours: float,
    cost: float,
    h_unknown: tuple[str, ...],
    c_unknown: tuple[str, ...],
    monthly: tuple[str, ...],
) -> str:
    if not steps:
        what = f" after {start['name']}" if start else ""
        return f"I don't have a recorded next step{what}."
    lines = [f"{i}. {s.name} ({s.provider}): {s.why}." for i, s in enumerate(steps, 1)]
    totals = []
    known_h = [s for s in steps if s.hours is not None]
    known_c = [s for s in steps if s.cost_usd is not None and not s.cost_monthly]
    if known_h:
        totals.append(f"{num(hours)} hours")
    if known_c:
        totals.append(money(cost))
    total = "Known so far: " + " and ".join(totals) if totals else "No hours or cost on record"
    gaps = []
    if h_unknown:
        gaps.append("hours not recorded for " + ", ".join(h_unknown))
    if c_unknown:
        gaps.append("cost not recorded for " + ", ".join(c_unknown))
    if monthly:
        gaps.append("monthly price, total depends on your pace, for " + ", ".join(monthly))
    return "\n".join(lines) + "\n" + total + (f" ({'; '.join(gaps)})" if gaps else "") + "."


_planners: dict[int, PlanFinder] = {}


def next_steps(
    credential_or_program_id: str | None,
    held_license: str | None = None,
    search: Any = None,
    institution: str | None = None,
) -> Plan:
    """A short plan after this record (and/or the license held); ``search`` is the process's
    ``CredentialSearch`` (default: the shared one)."""
    if search is None:
        from knowledge.services import get_services

        search = get_services().search
    planner = _planners.get(id(search))
    if planner is None or planner.engine is not search.engine:
        planner = _planners[id(search)] = PlanFinder(search.engine, search.facts)
    return planner.plan(credential_or_program_id, held_license, institution)
