"""Helpers shared by the catalog import converters (CSV, CTDL): ids, SOC codes, converted rows.

Converters only reshape foreign records into our catalog YAML shape (docs/catalog-format.md);
the strict validation is always the catalog loader's own (``parse_credential``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

MAX_ID = 120  # credentials.id is VARCHAR(120)
_SOC6_RE = re.compile(r"^(\d{2}-\d{4})(\.\d{2})?$")
_SOC_IN_TEXT_RE = re.compile(r"(?<![\d-])(\d{2}-\d{4})(\.\d{2})?(?![\d])")


@dataclass
class ConvertedRecord:
    """One foreign record in our YAML shape, not yet validated.

    ``where`` names the input file and record for error messages; ``hints`` maps our field names
    to where their value came from (a CSV column, a CTDL property), appended to errors.
    """

    where: str
    raw: dict[str, Any]
    hints: dict[str, str] = field(default_factory=dict)


def slugify(text: str) -> str:
    """Lowercase kebab-case ASCII: ``"Médical Coding (Level 1)"`` -> ``"medical-coding-level-1"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def credential_id(owner_id: str, name: str) -> str:
    """``<owner-id>-<short-name>``, cut at a word boundary to fit the id column."""
    slug = slugify(name)
    if slug == owner_id or slug.startswith(owner_id + "-"):
        cid = slug
    else:
        cid = f"{owner_id}-{slug}" if slug else owner_id
    if len(cid) > MAX_ID:
        cid = cid[:MAX_ID].rsplit("-", 1)[0]
    return cid


def normalize_soc(code: str) -> str | None:
    """``15-1232`` or ``15-1232.00`` -> ``15-1232.00``; anything else -> None."""
    m = _SOC6_RE.match(code.strip())
    if not m:
        return None
    return m.group(1) + (m.group(2) or ".00")


def soc_in_text(text: str) -> str | None:
    """The first SOC code inside a URL or label (``.../occupation/15-1232.00``), normalized."""
    m = _SOC_IN_TEXT_RE.search(text)
    return m.group(1) + (m.group(2) or ".00") if m else None
