"""Convert a Credential Engine CTDL JSON-LD export into Stackwise catalog records.

Input is what the Credential Registry / Credential Finder hands out: a JSON-LD document with an
``@graph`` of nodes (credentials of any ``ceterms:Credential`` subtype, the
``ceterms:CredentialOrganization`` that owns them, and profile nodes they reference by ``@id``).
Nested objects and references are both accepted. Only the fields listed in
docs/catalog-format.md ("Importing a college's catalog") are read; nothing is guessed: a figure
that is not in the export stays null (unknown).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from knowledge.loaders.convert import ConvertedRecord, credential_id, normalize_soc, slugify
from knowledge.loaders.convert import soc_in_text as _soc_in_text

FINDER_URL = "https://credentialfinder.org/credential/{ctid}"

# ceterms:Credential subtypes -> our credential type. None: a known credential type that is not a
# micro-credential (degrees, diplomas); those records are skipped and reported, not imported.
CREDENTIAL_TYPES: dict[str, str | None] = {
    "Certificate": "college_certificate",
    "AcademicCertificate": "college_certificate",
    "BasicTechnicalCertificate": "college_certificate",
    "MasterCertificate": "college_certificate",
    "ProfessionalCertificate": "professional_certificate",
    "CertificateOfCompletion": "certificate_of_completion",
    "CertificateOfParticipation": "certificate_of_completion",
    "Certification": "industry_certification",
    "Badge": "digital_badge",
    "DigitalBadge": "digital_badge",
    "OpenBadge": "digital_badge",
    "MicroCredential": "digital_badge",
    "ApprenticeshipCertificate": "apprenticeship",
    "JourneymanCertificate": "apprenticeship",
    "License": "license",
    "Credential": None,
    "Degree": None,
    "AssociateDegree": None,
    "AssociateOfAppliedArtsDegree": None,
    "AssociateOfAppliedScienceDegree": None,
    "AssociateOfArtsDegree": None,
    "AssociateOfScienceDegree": None,
    "BachelorDegree": None,
    "BachelorOfArtsDegree": None,
    "BachelorOfScienceDegree": None,
    "MasterDegree": None,
    "MasterOfArtsDegree": None,
    "MasterOfScienceDegree": None,
    "DoctoralDegree": None,
    "ProfessionalDoctorate": None,
    "ResearchDoctorate": None,
    "Diploma": None,
    "SecondarySchoolDiploma": None,
    "GeneralEducationDevelopment": None,
    "QualityAssuranceCredential": None,
}
ORGANIZATION_TYPES = {"CredentialOrganization", "QACredentialOrganization", "Organization"}

# ceterms:learningDeliveryType concepts. "Online only" does not say self-paced, so it is mapped to
# instructor-led (both count as "online" in search); self-paced is never assumed.
DELIVERY_TYPES = {
    "inperson": "in_person",
    "onlineonly": "online_instructor_led",
    "blendeddelivery": "hybrid",
    "blended": "hybrid",
}
# ceterms:agentType concepts -> provider kind (default: college).
AGENT_KINDS = {
    "certificationbody": "industry_body",
    "business": "employer",
    "vendor": "vendor",
    "government": "government",
    "professionalassociation": "professional_association",
    "nonprofit": "nonprofit",
    "trainingprovider": "platform",
}
# ceterms:directCostType concept for a total price (used alone when present).
AGGREGATE_COST = "aggregatecost"

_DURATION_RE = re.compile(
    r"^P(?!$)(?:(?P<y>\d+(?:\.\d+)?)Y)?(?:(?P<mo>\d+(?:\.\d+)?)M)?(?:(?P<w>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<mi>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
WEEKS_PER = {"y": 52.0, "mo": 52.0 / 12, "w": 1.0, "d": 1 / 7}


@dataclass
class CtdlOrganization:
    ref: str
    name: str | None
    url: str | None
    kind: str

    @property
    def provider_id(self) -> str:
        return slugify(self.name or "")


@dataclass
class CtdlImport:
    records: list[ConvertedRecord] = field(default_factory=list)
    organization: CtdlOrganization | None = None
    skipped: list[str] = field(default_factory=list)


def local_name(value: Any) -> str:
    """``ceterms:Certificate`` / ``https://purl.org/ctdl/terms/Certificate`` -> ``Certificate``."""
    text = str(value)
    return re.split(r"[:/#]", text)[-1] if text else ""


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def lang_text(value: Any) -> str | None:
    """Text from a plain string, a language map ``{"en-US": ...}`` or ``{"@value": ...}``."""
    if value is None:
        return None
    if isinstance(value, str):
        return " ".join(value.split()) or None
    if isinstance(value, list):
        for item in value:
            text = lang_text(item)
            if text:
                return text
        return None
    if isinstance(value, dict):
        if "@value" in value:
            return lang_text(value["@value"])
        for key in ("en-US", "en-us", "en"):
            if key in value:
                return lang_text(value[key])
        for key, item in value.items():
            if key.lower().startswith("en"):
                return lang_text(item)
        for item in value.values():
            return lang_text(item)
    return None


def url_of(value: Any) -> str | None:
    for item in as_list(value):
        if isinstance(item, str) and item.strip():
            return item.strip()
        if isinstance(item, dict) and isinstance(item.get("@id"), str):
            return item["@id"].strip()
    return None


def parse_duration(text: str) -> tuple[float | None, float | None]:
    """ISO-8601 duration -> (hours, weeks). ``PT120H`` -> (120, None); ``P12W`` -> (None, 12).

    A time part is learning time (hours); a date part is calendar time (weeks). Raises ValueError
    for anything else, including durations that mix both.
    """
    m = _DURATION_RE.match(text.strip().upper())
    if not m:
        raise ValueError(f"not an ISO-8601 duration like PT120H or P12W: {text!r}")
    parts = {k: float(v) for k, v in m.groupdict().items() if v is not None}
    date_part = {k: v for k, v in parts.items() if k in WEEKS_PER}
    time_part = {k: v for k, v in parts.items() if k in ("h", "mi", "s")}
    if date_part and time_part:
        raise ValueError(f"mixes calendar time and hours, cannot tell which: {text!r}")
    if time_part:
        hours = time_part.get("h", 0) + time_part.get("mi", 0) / 60 + time_part.get("s", 0) / 3600
        return round(hours, 2), None
    return None, round(sum(v * WEEKS_PER[k] for k, v in date_part.items()), 1)


class _Graph:
    """The ``@graph`` nodes indexed by ``@id``, to follow references."""

    def __init__(self, nodes: list[Any]):
        self.nodes = [n for n in nodes if isinstance(n, dict)]
        self.by_id = {n["@id"]: n for n in self.nodes if isinstance(n.get("@id"), str)}

    def resolve(self, value: Any) -> list[Any]:
        """Every item of ``value`` with ``@id`` references replaced by their node."""
        out = []
        for item in as_list(value):
            if isinstance(item, str) and item in self.by_id:
                out.append(self.by_id[item])
            elif isinstance(item, dict) and set(item) == {"@id"} and item["@id"] in self.by_id:
                out.append(self.by_id[item["@id"]])
            else:
                out.append(item)
        return out

    def objects(self, node: dict[str, Any], prop: str) -> list[dict[str, Any]]:
        return [x for x in self.resolve(node.get(prop)) if isinstance(x, dict)]


def _types(node: dict[str, Any]) -> list[str]:
    return [local_name(t) for t in as_list(node.get("@type"))]


def _organization(graph: _Graph, node: dict[str, Any]) -> CtdlOrganization:
    ref = node.get("@id") or node.get("ceterms:ctid") or ""
    kind = "college"
    for agent in graph.resolve(node.get("ceterms:agentType")):
        concept = agent.get("ceterms:targetNode") if isinstance(agent, dict) else agent
        kind = AGENT_KINDS.get(local_name(url_of(concept) or "").lower(), kind)
    return CtdlOrganization(
        ref=str(ref),
        name=lang_text(node.get("ceterms:name")),
        url=url_of(node.get("ceterms:subjectWebpage")),
        kind=kind,
    )


def _owner(graph: _Graph, node: dict[str, Any]) -> CtdlOrganization | None:
    for prop in ("ceterms:ownedBy", "ceterms:offeredBy"):
        for item in graph.resolve(node.get(prop)):
            if isinstance(item, dict) and ORGANIZATION_TYPES & set(_types(item)):
                return _organization(graph, item)
            if isinstance(item, dict) and lang_text(item.get("ceterms:name")):
                return _organization(graph, item)
    return None


def _concept(graph: _Graph, item: Any) -> str:
    """The concept of a CredentialAlignmentObject or a bare concept reference, lowercased."""
    if isinstance(item, dict):
        node = url_of(item.get("ceterms:targetNode")) or lang_text(
            item.get("ceterms:targetNodeName")
        )
        return local_name(node or "").replace(" ", "").lower()
    return local_name(item).lower()


def _delivery(graph: _Graph, node: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for item in graph.resolve(node.get("ceterms:learningDeliveryType")):
        mode = DELIVERY_TYPES.get(_concept(graph, item))
        if mode and mode not in out:
            out.append(mode)
    return out


def _competency_names(graph: _Graph, items: list[Any]) -> list[str]:
    names: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if "ceterms:targetCompetency" in item:  # a ConditionProfile listing competencies
            names += _competency_names(graph, graph.resolve(item["ceterms:targetCompetency"]))
            continue
        name = lang_text(item.get("ceterms:targetNodeName")) or lang_text(
            item.get("ceasn:competencyText")
        )
        if name:
            names.append(name)
    return names


def _occupations(graph: _Graph, items: list[Any], bad: list[str]) -> list[str]:
    codes: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        notation = item.get("ceterms:codedNotation")
        if isinstance(notation, str) and notation.strip():
            code = normalize_soc(notation)
            if code is None:
                bad.append(notation)
                continue
        else:
            target = url_of(item.get("ceterms:targetNode")) or ""
            code = _soc_in_text(target) if target else None
            if code is None:
                continue  # an alignment without a SOC code (e.g. a local job title): not ours
        if code not in codes:
            codes.append(code)
    return codes


class _Converter:
    def __init__(self, name: str, graph: _Graph, today: dt.date, problems: list[str]):
        self.name = name
        self.graph = graph
        self.today = today
        self.problems = problems

    def credential(
        self, index: int, node: dict[str, Any], ctype: str, owner_id: str
    ) -> ConvertedRecord:
        g = self.graph
        title = lang_text(node.get("ceterms:name"))
        ctid = node.get("ceterms:ctid") if isinstance(node.get("ceterms:ctid"), str) else None
        cid = credential_id(owner_id, title) if title and owner_id else None
        where = f"{self.name}, record #{index}"
        label = f"{self.name}, record '{cid}'" if cid else where
        hints = {
            "name": "ceterms:name",
            "description": "ceterms:description",
            "url": "ceterms:subjectWebpage",
            "skills": "ceterms:requires/ceterms:teaches",
            "occupations": "ceterms:occupationType",
            "hours": "ceterms:estimatedDuration",
            "weeks": "ceterms:estimatedDuration",
            "cost_usd": "ceterms:estimatedCost",
            "language": "ceterms:inLanguage",
            "delivery": "ceterms:learningDeliveryType",
        }

        def fail(prop: str, message: str) -> None:
            self.problems.append(f"{label}, field '{prop}': {message}")

        webpage = url_of(node.get("ceterms:subjectWebpage"))
        node_id = node.get("@id") if isinstance(node.get("@id"), str) else None
        if ctid:
            registry = FINDER_URL.format(ctid=ctid)
        elif node_id and node_id.startswith(("http://", "https://")):
            registry = node_id
        else:
            registry = None
        raw: dict[str, Any] = {
            "id": cid,
            "name": title,
            "type": ctype,
            "description": lang_text(node.get("ceterms:description")),
            "url": webpage or registry,
            "source": {"url": registry or webpage, "recorded": self.today},
        }
        delivery = _delivery(g, node)
        if delivery:
            raw["delivery"] = delivery
        hours, weeks = self._duration(node, fail)
        raw["hours"], raw["weeks"] = hours, weeks
        raw.update(self._cost(node, fail))
        if g.resolve(node.get("ceterms:financialAssistance")):
            raw["financial_aid"] = True
        renewal = [
            lang_text(p.get("ceterms:description")) for p in g.objects(node, "ceterms:renewal")
        ]
        if any(renewal):
            raw["renewal"] = next(r for r in renewal if r)
        languages = [lang_text(x) for x in as_list(node.get("ceterms:inLanguage"))]
        if languages and languages[0]:
            raw["language"] = languages[0].split("-")[0].lower()
        skills = _competency_names(
            g, g.resolve(node.get("ceterms:teaches")) + g.resolve(node.get("ceterms:requires"))
        )
        raw["skills"] = list(dict.fromkeys(skills))
        if not raw["skills"]:
            fail(
                "ceterms:requires/ceterms:teaches",
                "no competencies (ceterms:targetNodeName); at least one skill is required",
            )
        bad: list[str] = []
        occupations = _occupations(g, g.resolve(node.get("ceterms:occupationType")), bad)
        for profile in g.objects(node, "ceterms:isPreparationFor"):
            for code in _occupations(g, g.resolve(profile.get("ceterms:occupationType")), bad):
                if code not in occupations:
                    occupations.append(code)
        for notation in bad:
            fail("ceterms:occupationType", f"{notation!r} is not a SOC code like 15-1232")
        raw["occupations"] = occupations
        return ConvertedRecord(where=where, raw=raw, hints=hints)

    def _duration(self, node: dict[str, Any], fail: Any) -> tuple[float | None, float | None]:
        for profile in self.graph.objects(node, "ceterms:estimatedDuration"):
            exact = profile.get("ceterms:exactDuration")
            if exact is None:
                continue  # only a range (minimum/maximumDuration): no single figure, unknown
            try:
                return parse_duration(str(exact))
            except ValueError as exc:
                fail("ceterms:estimatedDuration", str(exc))
                return None, None
        return None, None

    def _cost(self, node: dict[str, Any], fail: Any) -> dict[str, Any]:
        """Sum of the USD prices (or the aggregate cost alone), with a note of what it covers."""
        items: list[tuple[str, str, float]] = []  # (cost type concept, label, price)
        for profile in self.graph.objects(node, "ceterms:estimatedCost"):
            currency = str(profile.get("ceterms:currency") or "USD").upper()
            kinds = self.graph.resolve(profile.get("ceterms:directCostType"))
            kind = kinds[0] if kinds else None
            concept = _concept(self.graph, kind) if kind is not None else ""
            label = _cost_label(kind, profile)
            for price in as_list(profile.get("ceterms:price")):
                value = _price(price)
                if value is None:
                    fail("ceterms:estimatedCost", f"price must be a number, got {price!r}")
                    return {}
                if currency != "USD":  # never converted: the USD cost stays unknown
                    return {"cost_usd": None, "cost_note": f"{label}: {value:,.2f} {currency}"}
                items.append((concept, label, value))
        if not items:
            return {}
        chosen = [i for i in items if i[0] == AGGREGATE_COST][:1] or items
        total = sum(price for _, _, price in chosen)
        note = " + ".join(f"{label} ${price:,.0f}" for _, label, price in chosen)
        out: dict[str, Any] = {"cost_usd": total, "cost_note": f"{note} (from the CTDL record)"}
        if total == 0:
            out["free"] = True
        return out


def _cost_label(kind: Any, profile: dict[str, Any]) -> str:
    """What a price is for: the cost type's name, its concept (``costType:Tuition``), or text."""
    if isinstance(kind, dict):
        name = lang_text(kind.get("ceterms:targetNodeName"))
        concept = url_of(kind.get("ceterms:targetNode"))
    else:
        name, concept = None, url_of(kind)
    return (
        name
        or (_humanize(local_name(concept)) if concept else None)
        or lang_text(profile.get("ceterms:description"))
        or "Cost"
    )


def _humanize(concept: str) -> str:
    """``TechnologyFee`` -> ``Technology fee``."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", concept).split()
    return " ".join(words[:1] + [w.lower() for w in words[1:]])


def _price(value: Any) -> float | None:
    if isinstance(value, str):
        try:
            return float(value.replace(",", "").replace("$", "").strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def convert_ctdl(
    name: str,
    doc: Any,
    *,
    today: dt.date,
    problems: list[str],
    owner_id: str | None = None,
) -> CtdlImport:
    """Convert a CTDL JSON-LD document; problems (file, record, field) go to ``problems``.

    ``owner_id`` (an institution id) names the credentials' owner; without it the single
    organization that owns them becomes the provider.
    """
    result = CtdlImport()
    if isinstance(doc, dict) and "@graph" in doc:
        nodes = doc["@graph"]
    elif isinstance(doc, list):
        nodes = doc
    elif isinstance(doc, dict) and "@type" in doc:
        nodes = [doc]
    else:
        problems.append(f"{name}: not a CTDL JSON-LD document (expected an '@graph' list)")
        return result
    if not isinstance(nodes, list):
        problems.append(f"{name}, field '@graph': must be a list of nodes")
        return result
    graph = _Graph(nodes)
    credentials: list[tuple[dict[str, Any], str]] = []
    for node in graph.nodes:
        types = _types(node)
        known = [t for t in types if t in CREDENTIAL_TYPES]
        if not known:
            continue
        ctype = next((CREDENTIAL_TYPES[t] for t in known if CREDENTIAL_TYPES[t]), None)
        if ctype is None:
            title = lang_text(node.get("ceterms:name")) or node.get("@id")
            result.skipped.append(f"{title} ({known[0]}: not a micro-credential)")
            continue
        credentials.append((node, ctype))
    if not credentials:
        problems.append(f"{name}: no credentials found in '@graph' (ceterms:Certificate, ...)")
        return result
    owners = {}
    for index, (node, _) in enumerate(credentials, 1):
        owner = _owner(graph, node)
        if owner is None and owner_id is None:
            problems.append(
                f"{name}, record #{index}, field 'ceterms:ownedBy': no owning organization "
                "(a ceterms:CredentialOrganization in '@graph'); pass --institution"
            )
        elif owner is not None:
            owners.setdefault(owner.ref, owner)
    if owners:
        result.organization = next(iter(owners.values()))
    if owner_id is None and len(owners) > 1:
        names = ", ".join(repr(o.name) for o in owners.values())
        problems.append(
            f"{name}: credentials are owned by {len(owners)} organizations ({names}); import one "
            "organization's export at a time, or pass --institution"
        )
        return result
    org = result.organization
    if owner_id is None and org is not None and not org.provider_id:
        problems.append(f"{name}, organization {org.ref!r}, field 'ceterms:name': is required")
        return result
    owner = owner_id or (org.provider_id if org else "")
    converter = _Converter(name, graph, today, problems)
    for index, (node, ctype) in enumerate(credentials, 1):
        result.records.append(converter.credential(index, node, ctype, owner))
    return result
