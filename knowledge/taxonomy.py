"""The skills taxonomy: O*NET technology examples and elements plus ESCO, merged into canonical skills.

Duplicates across sources ("MS Excel", "Microsoft Excel", "Excel") collapse onto one canonical
skill through a normalized key and the curated alias list in ``taxonomy_aliases.yaml``; every
source id is kept on the merged skill.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.loaders.esco import EscoSkill
from knowledge.loaders.onet import ElementImportance, TechnologyRecord

ALIASES_FILE = Path(__file__).with_name("taxonomy_aliases.yaml")

_PAREN = re.compile(r"\s*\([^)]*\)")
_SPACE = re.compile(r"\s+")
_SLUG = re.compile(r"[^a-z0-9+#]+")


def skill_key(label: str) -> str:
    """Normalized comparison key: case, accents, parentheticals, '&' and spacing ignored."""
    text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    text = _PAREN.sub("", text.lower()).replace("&", " and ")
    text = text.replace("\u2019", "'").strip(" .,;:")
    return _SPACE.sub(" ", text).strip()


def slugify(label: str) -> str:
    slug = _SLUG.sub("-", skill_key(label)).strip("-")
    return slug.replace("+", "plus").replace("#", "sharp") or "skill"


@dataclass
class CanonicalSkill:
    id: str
    label: str
    type: str
    origin: str
    aliases: set[str] = field(default_factory=set)
    source_ids: list[str] = field(default_factory=list)
    hot_technology: bool = False
    in_demand: bool = False
    esco_uri: str | None = None


class Taxonomy:
    """Canonical skills with lookup by any label or alias key."""

    def __init__(self, blocked: set[str] | None = None) -> None:
        self.skills: dict[str, CanonicalSkill] = {}
        self._by_key: dict[str, str] = {}
        self._blocked = {skill_key(b) for b in (blocked or set())}

    def __len__(self) -> int:
        return len(self.skills)

    def lookup(self, label: str) -> CanonicalSkill | None:
        sid = self._by_key.get(skill_key(label))
        return self.skills.get(sid) if sid else None

    def add(self, label: str, type_: str, origin: str, source_id: str) -> CanonicalSkill:
        """Add a skill, or merge into the existing one with the same key."""
        key = skill_key(label)
        existing = self._by_key.get(key)
        if existing:
            skill = self.skills[existing]
            if source_id not in skill.source_ids:
                skill.source_ids.append(source_id)
            return skill
        sid = slugify(label)
        base, n = sid, 2
        while sid in self.skills:
            sid, n = f"{base}-{n}", n + 1
        skill = CanonicalSkill(id=sid, label=label.strip(), type=type_, origin=origin)
        skill.source_ids.append(source_id)
        self.skills[sid] = skill
        self._by_key[key] = sid
        return skill

    def alias(self, skill: CanonicalSkill, alias: str) -> None:
        """Register an alias; an alias already owned by another skill keeps its owner."""
        key = skill_key(alias)
        if not key or key == skill_key(skill.label) or key in self._blocked:
            return
        skill.aliases.add(alias.strip())
        self._by_key.setdefault(key, skill.id)

    def all_labels(self, skill: CanonicalSkill) -> list[str]:
        return [skill.label, *sorted(skill.aliases)]


def _load_curated() -> tuple[list[dict], set[str]]:
    data = yaml.safe_load(ALIASES_FILE.read_text(encoding="utf-8"))
    return data["skills"], set(data.get("blocked_aliases") or [])


def build_taxonomy(
    technology: list[TechnologyRecord],
    elements: list[ElementImportance],
    esco: list[EscoSkill],
) -> Taxonomy:
    curated, blocked = _load_curated()
    tax = Taxonomy(blocked)
    # Curated entries first: they decide canonical labels for the names people actually type.
    for entry in curated:
        skill = tax.add(entry["label"], entry.get("type", "skill"), "stackwise", "stackwise")
        for alias in entry.get("aliases", []):
            tax.alias(skill, alias)
    for t in technology:
        skill = tax.add(t.example, "technology", "onet_technology", f"onet-tech:{t.commodity_code}")
        skill.hot_technology |= t.hot
        skill.in_demand |= t.in_demand
    seen_elements: set[str] = set()
    for e in elements:
        if e.element_id in seen_elements:
            continue
        seen_elements.add(e.element_id)
        tax.add(e.element_name, e.kind, f"onet_{e.kind}", f"onet-element:{e.element_id}")
    for s in esco:
        skill = tax.add(s.label, s.skill_type or "skill", "esco", s.uri)
        skill.esco_uri = skill.esco_uri or s.uri
        for alt in s.alt_labels:
            tax.alias(skill, alt)
    # Curated entries are canonical but should report their taxonomy origin when a source has them.
    for skill in tax.skills.values():
        if skill.origin == "stackwise" and len(skill.source_ids) > 1:
            skill.source_ids.remove("stackwise")
            first = skill.source_ids[0]
            skill.origin = (
                "esco"
                if first.startswith("http")
                else "onet_technology"
                if first.startswith("onet-tech")
                else "onet_element"
            )
    return tax
