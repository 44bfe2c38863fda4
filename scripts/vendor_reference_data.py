"""Copy the parts of the reference data Stackwise needs from ../shared/data into knowledge/reference/.

Rows and columns the build does not read are dropped to keep the repository small; values are
copied unchanged. Run from the repository root: `.venv/bin/python scripts/vendor_reference_data.py`.
Attribution for every file is in NOTICE.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
DST = ROOT / "knowledge" / "reference"

# file -> (columns to keep, row filter)
ONET = {
    "occupation_data.tsv": (["O*NET-SOC Code", "Title", "Description"], None),
    "alternate_titles.tsv": (["O*NET-SOC Code", "Alternate Title"], None),
    "technology_skills.tsv": (
        ["O*NET-SOC Code", "Example", "Commodity Code", "Commodity Title", "Hot Technology", "In Demand"],
        None,
    ),
    "skills.tsv": (
        ["O*NET-SOC Code", "Element ID", "Element Name", "Scale ID", "Data Value", "Recommend Suppress"],
        lambda r: r["Scale ID"] == "IM",
    ),
    "knowledge.tsv": (
        ["O*NET-SOC Code", "Element ID", "Element Name", "Scale ID", "Data Value", "Recommend Suppress"],
        lambda r: r["Scale ID"] == "IM",
    ),
    "job_zones.tsv": (["O*NET-SOC Code", "Job Zone"], None),
    "education_training_and_experience.tsv": (
        ["O*NET-SOC Code", "Scale ID", "Category", "Data Value"],
        lambda r: r["Scale ID"] == "RL",
    ),
    "education_training_and_experience_categories.tsv": (
        ["Element ID", "Scale ID", "Category", "Category Description"],
        lambda r: r["Scale ID"] == "RL",
    ),
    "related_occupations.tsv": (
        ["O*NET-SOC Code", "Related O*NET-SOC Code", "Relatedness Tier", "Index"],
        None,
    ),
}
# Catalog sources and the CIP-SOC crosswalk: copied whole and unchanged (knowledge/sources/).
UNCHANGED = [
    "texas-etpl-2024/statewide_etpl_2024-03-20.tsv",
    "careeronestop-certifications/certification_finder.tsv",
    "nces-cip-soc-2020/cip2020_soc2018_crosswalk.csv",
]
BLS_COLUMNS = ["AREA", "NAICS", "OCC_CODE", "OCC_TITLE", "O_GROUP", "TOT_EMP", "A_MEDIAN", "H_MEDIAN"]


def copy_tsv(src: Path, dst: Path, columns: list[str], keep) -> int:
    n = 0
    with src.open(encoding="utf-8", newline="") as fin, dst.open("w", encoding="utf-8", newline="") as fout:
        reader = csv.DictReader(fin, delimiter="\t", quoting=csv.QUOTE_NONE)
        writer = csv.DictWriter(
            fout, columns, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\", extrasaction="ignore",
            lineterminator="\n",
        )
        writer.writeheader()
        for row in reader:
            if keep is None or keep(row):
                writer.writerow(row)
                n += 1
    return n


def main() -> None:
    (DST / "onet-29.3").mkdir(parents=True, exist_ok=True)
    (DST / "bls-oews-2024").mkdir(parents=True, exist_ok=True)
    (DST / "esco-1.2.0").mkdir(parents=True, exist_ok=True)
    for name, (cols, keep) in ONET.items():
        n = copy_tsv(SRC / "onet-29.3" / name, DST / "onet-29.3" / name, cols, keep)
        print(f"onet-29.3/{name}: {n} rows")
    n = copy_tsv(
        SRC / "bls-oews-2024" / "national_M2024_dl.tsv",
        DST / "bls-oews-2024" / "national_M2024_dl.tsv",
        BLS_COLUMNS,
        lambda r: r["AREA"] == "99" and r["NAICS"] == "000000",
    )
    print(f"bls-oews-2024/national_M2024_dl.tsv: {n} rows")
    for path in sorted((SRC / "esco-1.2.0").glob("*Collection_en.csv")):
        shutil.copy(path, DST / "esco-1.2.0" / path.name)
        print(f"esco-1.2.0/{path.name}: copied")
    for name in UNCHANGED:
        (DST / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SRC / name, DST / name)
        print(f"{name}: copied")


if __name__ == "__main__":
    main()
