"""Paying for it: an answer for the aid the learner names, from the record where we have it.

The record's own facts come first (the Texas ETPL Pell flag; ETPL listing means WIOA-eligible by
definition; whether we know a program is VA-approved), then the fixed text for that kind of aid
from ``aid_texts.yaml``, shown with its source page and the date it was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

AidKind = Literal["pell", "wioa", "gi_bill", "employer", "fafsa"]
KINDS: tuple[str, ...] = ("pell", "wioa", "gi_bill", "employer", "fafsa")
TEXTS_PATH = Path(__file__).with_name("aid_texts.yaml")


@dataclass(frozen=True)
class AidText:
    kind: str
    text: str
    source: str
    written: str


@lru_cache(maxsize=1)
def aid_texts(path: Path = TEXTS_PATH) -> dict[str, AidText]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    written = str(data["written"])
    return {
        kind: AidText(kind, " ".join(t["general"].split()), t["source"], written)
        for kind, t in data["texts"].items()
    }


def _record_facts(kind: str, f: dict[str, Any]) -> str | None:
    """What the record itself says about this kind of aid (None when it says nothing)."""
    name = f.get("name") or "This program"
    etpl = f.get("source") == "texas-etpl"
    as_of = f.get("as_of")
    listed = f" (Texas Eligible Training Provider List, as of {as_of})" if as_of else ""
    if kind == "pell":
        pell = f.get("pell_eligible")
        if pell is True:
            return (
                f"Yes: {name} at {f.get('provider')} is marked Pell-eligible on the state list"
                f"{listed}, so a Pell Grant can pay for it if you qualify; apply with the FAFSA."
            )
        if pell is False:
            return (
                f"{name} is not marked Pell-eligible on the state list{listed}, so a Pell Grant "
                "is unlikely to cover it; a WIOA training grant may (it is on the list)."
            )
        return (
            f"We don't know whether {name} is Pell-eligible; Pell pays only at schools approved "
            "for federal student aid, so ask its financial aid office."
        )
    if kind == "wioa":
        if etpl or f.get("wioa_eligible"):
            return (
                f"{name} is on the Texas Eligible Training Provider List{listed}, so it is "
                "eligible for WIOA training funds by definition; your local workforce board "
                "decides whether you qualify."
            )
        return (
            f"{name} is not a program on the Texas Eligible Training Provider List in our data, "
            "so WIOA training funds would not pay for it unless your workforce board lists it."
        )
    if kind == "gi_bill":
        exam = f.get("exam_required")
        if f.get("kind") == "credential" and exam:
            return (
                f"{name} has an exam: if the VA has approved that test, the GI Bill can "
                "reimburse its fee. We don't know whether it is approved."
            )
        return (
            f"We don't know whether {name} is approved for VA education benefits; ask the "
            "school's certifying official or look it up on the GI Bill Comparison Tool."
        )
    if kind == "fafsa":
        pell = f.get("pell_eligible")
        if pell is True:
            return f"{name} is marked Pell-eligible, so the FAFSA is how you apply for that grant."
        return None
    if kind == "employer":
        return (
            f"For {name}, ask whether your employer's tuition assistance covers it; give HR the "
            "provider's page: " + (f.get("url") or f.get("source_url") or "its web page") + "."
        )
    return None


def aid_answer(question_kind: str, facts: dict[str, Any] | None = None) -> str:
    """The answer to "can I pay for it with X?" for one record (or in general without one)."""
    if question_kind not in KINDS:
        raise ValueError(f"unknown aid kind {question_kind!r}; one of {', '.join(KINDS)}")
    fixed = aid_texts()[question_kind]
    parts = []
    if facts is not None:
        said = _record_facts(question_kind, facts)
        if said:
            parts.append(said)
    parts.append(fixed.text)
    parts.append(f"(From {fixed.source}, written {fixed.written}; not re-checked since.)")
    return " ".join(parts)
