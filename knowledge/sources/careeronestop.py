"""CareerOneStop Certification Finder (U.S. DoL) as a catalog source.

``read_careeronestop`` turns the tab-separated download into ``CertificationRecord``s;
``match_curated`` finds the curated credentials that are the same credential as a CareerOneStop
record; ``infer_occupations`` links certifications to O*NET occupations by text similarity,
since the file states no occupations. Kept a separate source so an operator can leave it out.

What the data looks like (file of 2026-03, 6,444 rows, 27 columns, no ragged rows):
- the 0/1 columns hold "0", "1" or blank; blank is "not stated" and stays None;
- RENEWAL is years: blank in 1,774 rows, 1-10 in almost all others, one ".5" (kept: six months)
  and one "0" (Adobe, every other renewal flag 0: most likely "no renewal", but the file does not
  say so, so it is None with a note);
- TYPE is Core / Advanced / Specialty / Product/Equipment, plus Skill (51 rows: CPR, first aid,
  CodeHS levels; kept as "skill") and Unclassified (7 rows: None);
- 36 CERT_IDs occur twice, each pair identical except TYPE/TYPEORDER: one record, the first
  row's type, the other type in a quality note;
- no HTML entities or tags survive in the text columns (the README says HTML was reduced to plain
  text), but they are still decoded, so a re-download with raw HTML reads the same;
- CERT URL blank in 11 rows; ORG_WEBPAG blank in 18, "httpS://" in 14 (kept, scheme lowered),
  one without a scheme (rejected: adding one would be a guess).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from knowledge.loaders.catalog import CatalogError, CredentialRecord, ProviderRecord
from knowledge.sources.records import CertificationRecord, Provenance, SourceReport

SOURCE = "careeronestop"
DATASET_URL = "https://www.careeronestop.org/Toolkit/Training/find-certifications.aspx"
CREDIT = (
    "Certification data from CareerOneStop (www.careeronestop.org), "
    "sponsored by the U.S. Department of Labor."
)
# The download is dated by month only (2026-03); the first of the month stands for it.
FILE_DATE = dt.date(2026, 3, 1)

COLUMNS = (
    "CERT_ID",
    "CERT_NAME",
    "URL",
    "ACRONYM",
    "KEYWORD",
    "TRAINING",
    "EITHER",
    "EXAM",
    "RENEWAL",
    "CEU",
    "REEXAM",
    "CPD",
    "CERT_ANY",
    "EXAM_DETAILS",
    "TYPE",
    "TYPEORDER",
    "ORG_ID",
    "ORG_NAME",
    "ORG_ADDRES",
    "ORG_PHONE1",
    "EXT",
    "ORG_PHONE2",
    "ORG_FAX",
    "ORG_EMAIL",
    "ORG_WEBPAG",
    "ORG ACRONYM",
    "CERT_DESCRIPTION",
)
FLAG_COLUMNS = ("TRAINING", "EITHER", "EXAM", "CEU", "REEXAM", "CPD", "CERT_ANY")
TYPES = {
    "core": "core",
    "advanced": "advanced",
    "specialty": "specialty",
    "product/equipment": "product",
    "skill": "skill",
    "unclassified": None,
}
MAX_RENEWAL_YEARS = 50.0  # the file's largest is 10; beyond 50 would be a typo, not a period
_WS = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]+>")
_ID = re.compile(r"^\d+$")


def _text(raw: str) -> str | None:
    """HTML entities decoded, any tags dropped, whitespace collapsed; blank -> None."""
    s = html.unescape(raw)
    if _TAG.search(s):  # a tag stands for a break; none is left before punctuation
        s = re.sub(r"\s+([.,;:!?])", r"\1", _TAG.sub(" ", s))
    s = _WS.sub(" ", s).strip()
    return s or None


def _url(raw: str) -> tuple[str | None, str | None]:
    """(http(s) URL or None, why it was rejected or None)."""
    s = raw.strip()
    if not s:
        return None, None
    parts = urlsplit(s)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc or " " in s:
        return None, f"url {s!r} rejected: not an http(s) address"
    return urlunsplit(parts._replace(scheme=scheme)), None


class _Problems:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []

    def add(self, row: int, field: str, msg: str) -> None:
        self.items.append(f"{self.path.name}: row {row}: {field}: {msg}")


def _flag(value: str, row: int, field: str, problems: _Problems) -> bool | None:
    v = value.strip()
    if v == "":
        return None
    if v in ("0", "1"):
        return v == "1"
    problems.add(row, field, f"expected 0, 1 or blank, got {value!r}")
    return None


def read_careeronestop(path: Path) -> tuple[list[CertificationRecord], SourceReport]:
    """Read the Certification Finder download; all-or-nothing like the curated loader.

    Raises ``CatalogError`` (each problem naming file, row and field) for a missing column, a row
    with the wrong number of fields, a flag that is not 0/1/blank, or a missing id or name.
    Row numbers count the header as row 1, as a spreadsheet does."""
    report = SourceReport(source=SOURCE)
    problems = _Problems(path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            raise CatalogError([f"{path.name}: empty file"])
        header = [h.strip() for h in header]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise CatalogError([f"{path.name}: row 1: header: missing column {c}" for c in missing])
        col = {name: header.index(name) for name in COLUMNS}
        raw_rows = [(n, fields) for n, fields in enumerate(reader, start=2) if any(fields)]

    rejected: Counter[str] = Counter()
    by_id: dict[str, CertificationRecord] = {}
    first_row: dict[str, dict[str, str]] = {}
    for n, fields in raw_rows:
        if len(fields) != len(header):
            problems.add(n, "row", f"{len(fields)} fields, the header has {len(header)}")
            continue
        r = {name: fields[i] for name, i in col.items()}
        flags = {c: _flag(r[c], n, c, problems) for c in FLAG_COLUMNS}
        cert_id, org_id = r["CERT_ID"].strip(), r["ORG_ID"].strip()
        name, org_name = _text(r["CERT_NAME"]), _text(r["ORG_NAME"])
        for field, value in (("CERT_ID", cert_id), ("ORG_ID", org_id)):
            if not _ID.match(value):
                problems.add(n, field, f"expected a number, got {value!r}")
        for field, value in (("CERT_NAME", name), ("ORG_NAME", org_name)):
            if value is None:
                problems.add(n, field, "blank")
        if problems.items:
            continue

        notes: list[str] = []
        cert_type: str | None = None
        raw_type = _text(r["TYPE"])
        if raw_type is not None:
            if raw_type.lower() in TYPES:
                cert_type = TYPES[raw_type.lower()]
            else:
                notes.append(f"type {raw_type!r} rejected: not a known type")
                rejected["type_unknown"] += 1

        if cert_id in by_id:
            # Seen in the real file: the same certification listed under two types.
            rejected["duplicate_cert_id"] += 1
            prev = by_id[cert_id]
            differs = sorted(
                c
                for c in COLUMNS
                if c not in ("TYPE", "TYPEORDER") and r[c] != first_row[cert_id][c]
            )
            extra = f"also listed as type {raw_type!r}"
            if differs:
                extra += f"; a second row differs in {', '.join(differs)} (first row kept)"
            by_id[cert_id] = _with_note(prev, extra)
            continue

        url, why = _url(r["URL"])
        if why:
            notes.append(why)
            rejected["url_not_http"] += 1
        org_url, why = _url(r["ORG_WEBPAG"])
        if why:
            notes.append("org " + why)
            rejected["org_url_not_http"] += 1

        renewal: float | None = None
        raw_renewal = r["RENEWAL"].strip()
        if raw_renewal:
            try:
                years = float(raw_renewal)
            except ValueError:
                years = None
                notes.append(f"renewal {raw_renewal!r} rejected: not a number")
                rejected["renewal_not_number"] += 1
            if years is not None:
                if years <= 0:
                    # "0" may mean "never renewed" or "not stated": the file does not say which.
                    notes.append(f"renewal {raw_renewal!r} rejected: not a period in years")
                    rejected["renewal_zero"] += 1
                elif years > MAX_RENEWAL_YEARS:
                    notes.append(f"renewal {raw_renewal!r} rejected: implausible period")
                    rejected["renewal_implausible"] += 1
                else:
                    renewal = years

        rec = CertificationRecord(
            id=f"cos-{cert_id}",
            external_id=cert_id,
            name=name,  # type: ignore[arg-type]  # checked above
            acronym=_text(r["ACRONYM"]),
            url=url,
            description=_text(r["CERT_DESCRIPTION"]),
            org_id=f"cos-org-{org_id}",
            org_name=org_name,  # type: ignore[arg-type]
            org_acronym=_text(r["ORG ACRONYM"]),
            org_url=org_url,
            cert_type=cert_type,
            training_required=flags["TRAINING"],
            exam_required=flags["EXAM"],
            renewal_years=renewal,
            ceu_required=flags["CEU"],
            reexam_required=flags["REEXAM"],
            cpd_required=flags["CPD"],
            exam_details=_text(r["EXAM_DETAILS"]),
            provenance=Provenance(source=SOURCE, url=url or DATASET_URL, as_of=FILE_DATE),
            quality_notes=tuple(notes),
        )
        by_id[cert_id] = rec
        first_row[cert_id] = r

    if problems.items:
        raise CatalogError(problems.items)
    records = list(by_id.values())
    report.records = len(records)
    report.rejected = dict(sorted(rejected.items()))
    report.known = {
        "url": sum(r.url is not None for r in records),
        "description": sum(r.description is not None for r in records),
        "exam_required": sum(r.exam_required is not None for r in records),
        "training_required": sum(r.training_required is not None for r in records),
        "renewal_years": sum(r.renewal_years is not None for r in records),
        "cert_type": sum(r.cert_type is not None for r in records),
        "org_url": sum(r.org_url is not None for r in records),
    }
    report.notes.append(
        f"{len(raw_rows)} rows, {len(records)} certifications from "
        f"{len({r.org_id for r in records})} organization ids"
    )
    return records, report


def _with_note(rec: CertificationRecord, note: str) -> CertificationRecord:
    from dataclasses import replace

    return replace(rec, quality_notes=rec.quality_notes + (note,))


# --- the same credential in the curated catalog --------------------------------------------


@dataclass(frozen=True)
class CuratedMatch:
    curated_id: str
    rule: str  # "name" | "name_core" | "acronym"
    score: float


_SCORES = {"name": 1.0, "name_core": 0.95, "acronym": 0.9}
_PAREN = re.compile(r"\(([^()]*)\)")
# An acronym as written in names: "CCMA", "PMI-ACP", "CPhT", "AZ-900", "A+", "aPHR"; ASE test
# codes ("A1", "T2") count too. Words like "Universal" or "Type III" are not acronyms.
_ACRONYM = re.compile(r"^(?=(?:.*[A-Z]){2}|.*[A-Z].*\d|.*\+)[A-Za-z0-9+/&.\-]{2,15}$")
_TEST_CODE = re.compile(r"^[A-Z]{1,3}\d{1,2}$")
_GENERIC_TAIL = {
    "certification",
    "certificate",
    "credential",
    "program",
    "exam",
    "provider",
    "license",
}
_CORP = {"inc", "incorporated", "corporation", "corp", "llc", "ltd", "co", "the"}
_SMALL = {"and", "of", "in", "for", "the", "a", "an", "&", "to", "on"}


def _norm(s: str) -> str:
    s = html.unescape(s).lower().replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9+]+", " ", s).split())


def _norm_acr(s: str) -> str:
    return re.sub(r"[^a-z0-9+]", "", s.lower())


def _is_acronym(token: str) -> bool:
    return bool(_ACRONYM.match(token)) and not token.isdigit()


def _initials(words: str) -> str:
    return "".join(w[0] for w in _norm(words).split() if w not in _SMALL)


def _org_names(name: str) -> set[str]:
    """Normalised names an organisation goes by: its name without the parenthesis and corporate
    suffixes, and a parenthesis of several words ("ASQ (American Society for Quality)")."""
    out = set()
    for part in [_PAREN.sub(" ", name)] + [p for p in _PAREN.findall(name) if len(p.split()) > 1]:
        words = [w for w in _norm(part).split() if w not in _CORP]
        if words:
            out.add(" ".join(words))
    return out


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or None


def _hosts_related(a: str | None, b: str | None) -> bool:
    return bool(a and b) and (a == b or a.endswith("." + b) or b.endswith("." + a))  # type: ignore[union-attr]


def _brands(*names: str | None) -> set[str]:
    """Normalised names and acronyms of an organisation ("comptia", "aws", "linux foundation"),
    stripped from the front of credential names ("CompTIA A+", "AWS Certified Welder") before
    comparing them."""
    out = set()
    for name in names:
        if not name:
            continue
        for part in [_PAREN.sub(" ", name)] + _PAREN.findall(name):
            words = [w for w in _norm(part).split() if w not in _CORP]
            if words:
                out.add(" ".join(words))
    return out


def _acronyms(name: str, extra: str | None, brands: set[str]) -> set[str]:
    """Acronyms a credential name states: in parentheses ("(CCMA)"), as a "+" word ("CySA+"),
    as an ASE-style test code ("A1"), or in the source's acronym field; not the org's own."""
    found = set()
    for p in _PAREN.findall(name):
        for tok in p.replace(",", " ").split():
            if _is_acronym(tok):
                found.add(tok)
    for tok in _PAREN.sub(" ", name).split():
        if "+" in tok or _TEST_CODE.match(tok):
            found.add(tok)
    if extra:
        found.add(extra)
    own = {b.replace(" ", "") for b in brands}
    return {a for a in map(_norm_acr, found) if a and a not in own}


def _core(name: str, brands: set[str]) -> str:
    """The name without acronym parentheses, "(formerly ...)", the org's brand in front and a
    generic word at the end ("Certification", "Credential", "Program")."""

    def drop(m: re.Match[str]) -> str:
        inner = m.group(1).strip()
        toks = inner.replace(",", " ").split()
        if inner.lower().startswith("formerly") or (toks and all(_is_acronym(t) for t in toks)):
            return " "
        return m.group(0)

    words = _norm(_PAREN.sub(drop, name)).split()
    for brand in sorted(brands, key=len, reverse=True):
        b = brand.split()
        if words[: len(b)] == b and len(words) > len(b):
            words = words[len(b) :]
    while len(words) > 1 and words[-1] in _GENERIC_TAIL:
        words = words[:-1]
    return " ".join(words)


def _expansions(name: str) -> set[str]:
    """A parenthesis that spells out an acronym of the name: "ISACA CISA (Certified Information
    Systems Auditor)" -> "certified information systems auditor"."""
    outside = {_norm_acr(t) for t in _PAREN.sub(" ", name).split()}
    return {
        _norm(p) for p in _PAREN.findall(name) if len(p.split()) > 1 and _initials(p) in outside
    }


def _tokens(s: str) -> set[str]:
    return set(s.split())


def match_curated(
    certs: Sequence[CertificationRecord],
    curated: Sequence[CredentialRecord],
    providers: Sequence[ProviderRecord],
) -> dict[str, CuratedMatch]:
    """CareerOneStop id -> the curated credential that is the same credential.

    Precision first (a wrong merge is worse than a missed one). The organisation must be the
    same: a normalised name in common, or related web hosts (comptia.org; a page at most one
    path segment deep, so a partner's page on another org's site does not count). Acronyms
    alone never join organisations (AWS is both Amazon Web Services and the American Welding
    Society). Then the credential, by the best of:
      - ``name`` (1.0): normalised names equal, or a spelled-out parenthesis equals the other;
      - ``name_core`` (0.95): equal without the org's brand, acronym parentheses and a generic
        last word ("CompTIA A+ Certification" = "CompTIA A+");
      - ``acronym`` (0.9): an acronym equal on both sides, stated by exactly one credential of
        the organisation on each side, names sharing at least a third of their words, and the
        CareerOneStop name not merely the curated one less some words (a family, not a track).
    Each side is matched at most once: pairs are taken best score first; a tie between two
    candidates for the same record leaves it unmatched."""
    by_provider: dict[str, list[CredentialRecord]] = defaultdict(list)
    for c in curated:
        by_provider[c.provider_id].append(c)
    by_org: dict[str, list[CertificationRecord]] = defaultdict(list)
    for r in certs:
        by_org[r.org_id].append(r)

    pairs: list[tuple[float, str, str, str]] = []  # (score, cos id, curated id, rule)
    for provider in providers:
        creds = by_provider.get(provider.id)
        if not creds:
            continue
        p_names, p_host = _org_names(provider.name), _host(provider.url)
        for org_certs in by_org.values():
            org = org_certs[0]
            shallow = (
                org.org_url is not None and urlsplit(org.org_url).path.strip("/").count("/") == 0
            )
            same_org = bool(p_names & _org_names(org.org_name)) or (
                shallow and _hosts_related(p_host, _host(org.org_url))
            )
            if same_org:
                pairs.extend(_pairs(provider, creds, org_certs))

    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    best: dict[str, tuple[float, set[str]]] = {}  # "cos:<id>" / "cur:<id>" -> best score, partners
    for score, cos_id, cur_id, _ in pairs:
        for key, other in ((f"cos:{cos_id}", cur_id), (f"cur:{cur_id}", cos_id)):
            if key not in best:
                best[key] = (score, {other})
            elif best[key][0] == score:
                best[key][1].add(other)
    tied = {key for key, (_, partners) in best.items() if len(partners) > 1}
    out: dict[str, CuratedMatch] = {}
    taken: set[str] = set()
    for score, cos_id, cur_id, rule in pairs:
        if cos_id in out or cur_id in taken or {f"cos:{cos_id}", f"cur:{cur_id}"} & tied:
            continue
        out[cos_id] = CuratedMatch(curated_id=cur_id, rule=rule, score=score)
        taken.add(cur_id)
    return out


def _pairs(
    provider: ProviderRecord,
    creds: list[CredentialRecord],
    org_certs: list[CertificationRecord],
) -> list[tuple[float, str, str, str]]:
    org = org_certs[0]
    brands = _brands(provider.name, org.org_name, org.org_acronym)
    cos_acr = {r.id: _acronyms(r.name, r.acronym, brands) for r in org_certs}
    cur_acr = {c.id: _acronyms(c.name, None, brands) for c in creds}
    cos_count = Counter(a for s in cos_acr.values() for a in s)
    cur_count = Counter(a for s in cur_acr.values() for a in s)
    out = []
    for c in creds:
        c_full = {_norm(c.name)} | _expansions(c.name)
        c_core = {_core(c.name, brands)} | {_core(e, brands) for e in _expansions(c.name)}
        for r in org_certs:
            r_full = {_norm(r.name)} | _expansions(r.name)
            rule = None
            if c_full & r_full:
                rule = "name"
            elif c_core & ({_core(r.name, brands)} | {_core(e, brands) for e in r_full}):
                rule = "name_core"
            else:
                shared = {
                    a
                    for a in cos_acr[r.id] & cur_acr[c.id]
                    if cos_count[a] == 1 and cur_count[a] == 1
                }
                c_tok, r_tok = _tokens(_core(c.name, brands)), _tokens(_core(r.name, brands))
                overlap = len(c_tok & r_tok) / max(1, len(c_tok | r_tok))
                # A CareerOneStop name that only drops words of the curated one is the family,
                # not the track: "Cisco Certified Network Professional" vs "CCNP Enterprise".
                broader = (r_tok - shared) < (c_tok - shared)
                if shared and overlap >= 1 / 3 and not broader:
                    rule = "acronym"
            if rule:
                out.append((_SCORES[rule], r.id, c.id, rule))
    return out


# --- occupations inferred from the text ------------------------------------------------------

# Chosen from the data (file of 2026-03, MiniLM): below this cosine no link is stored. Against
# the occupations curated for the 148 matched credentials, links >= 0.50 were right 56% of the
# time (top-1 only: 78%), >= 0.45 52% (72%), >= 0.40 41% (68%); by eye on 60 random
# certifications ~60% (top-1 ~70%). At 0.50 31% of the certifications get a link (0.45: 55%).
# Obvious ones score lower than one would hope (PTCB CPhT -> Pharmacy Technicians 0.49, AWS
# Certified Welder -> Welders 0.39): the encoder ranks them right but not confidently.
MIN_OCCUPATION_SCORE = 0.50
MAX_TECHNOLOGY = 12  # MiniLM reads 256 tokens: the title and description come first


def certification_text(cert: CertificationRecord) -> str:
    """The certification side of the occupation links: name, acronym, org, description."""
    return certification_text_of(cert.name, cert.acronym, cert.org_name, cert.description)


def certification_text_of(
    name: str, acronym: str | None, org_name: str, description: str | None
) -> str:
    """Also a certification's search document (knowledge/documents.py), so the build encodes
    each certification once for both its occupation links and the index."""
    head = name + (f" ({acronym})" if acronym else "")
    parts = [f"{head}, from {org_name}."]
    if description:
        parts.append(description)
    return " ".join(parts)


def occupation_text(code: str, title: str, description: str, technology: Sequence[str]) -> str:
    """The occupation side: title, description and (the first few) technology skills. ``code``
    is not embedded (digits carry no meaning to the encoder); it keeps the signature explicit."""
    del code
    parts = [f"{title}.", description]
    tech = [t for t in dict.fromkeys(technology) if t][:MAX_TECHNOLOGY]
    if tech:
        parts.append("Tools and technology: " + ", ".join(tech) + ".")
    return " ".join(parts)


def infer_occupations(
    cert_vectors: np.ndarray,
    occupation_vectors: np.ndarray,
    codes: Sequence[str],
    *,
    top_k: int = 3,
    min_score: float = MIN_OCCUPATION_SCORE,
) -> list[list[tuple[str, float]]]:
    """Per certification, up to ``top_k`` (O*NET code, cosine) pairs, best first, each at least
    ``min_score``. Vectors are L2-normalised rows (``Encoder.encode``), so a dot is a cosine."""
    if occupation_vectors.shape[0] != len(codes):
        raise ValueError(f"{occupation_vectors.shape[0]} occupation vectors for {len(codes)} codes")
    if cert_vectors.shape[0] == 0 or not codes:
        return [[] for _ in range(cert_vectors.shape[0])]
    scores = cert_vectors @ occupation_vectors.T
    k = min(top_k, len(codes))
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [
        [(codes[j], float(row[j])) for j in idx if row[j] >= min_score]
        for row, idx in zip(scores, top, strict=True)
    ]
