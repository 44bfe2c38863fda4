"""NCES CIP 2020 to SOC 2018 crosswalk: which occupations an instructional program prepares for.

The file (``knowledge/reference/nces-cip-soc-2020/``) has one row per CIP/SOC pair. NCES writes
``99-9999`` for "no matching occupation" and ``99.9999`` for "no matching program"; those are
not codes. A CIP whose only pair is ``99-9999`` maps to ``()``: NCES states it has no match.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from knowledge.loaders.catalog import CatalogError

_COLUMNS = ("SOC2018Code", "CIP2020Code")
_CIP = re.compile(r"\d\d\.\d{4}")
_SOC = re.compile(r"\d\d-\d{4}")
_NO_MATCH = {"99-9999", "99.9999"}


def read_cip_soc_crosswalk(path: Path) -> dict[str, tuple[str, ...]]:
    """CIP ``NN.NNNN`` -> SOC 2018 codes ``NN-NNNN`` (sorted, unique)."""
    problems: list[str] = []
    pairs: dict[str, set[str]] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CatalogError([f"{path.name}: missing column(s) {', '.join(missing)}"])
        for row in reader:
            soc, cip = (row["SOC2018Code"] or "").strip(), (row["CIP2020Code"] or "").strip()
            if cip == "99.9999":
                continue
            if not _CIP.fullmatch(cip):
                problems.append(f"{path.name}: row {reader.line_num}, field 'CIP2020Code': {cip!r}")
                continue
            if not _SOC.fullmatch(soc):
                problems.append(f"{path.name}: row {reader.line_num}, field 'SOC2018Code': {soc!r}")
                continue
            codes = pairs.setdefault(cip, set())
            if soc not in _NO_MATCH:
                codes.add(soc)
    if problems:
        raise CatalogError(problems)
    return {cip: tuple(sorted(codes)) for cip, codes in sorted(pairs.items())}
