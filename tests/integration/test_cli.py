"""The `stackwise` console script, run as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
STACKWISE = str(Path(sys.executable).with_name("stackwise"))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [STACKWISE, *args], capture_output=True, text=True, env=os.environ, timeout=300
    )


def test_stats_json(built):
    out = run("stats", "--json")
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)
    assert set(stats) >= {
        "credentials",
        "providers",
        "skills",
        "occupations",
        "recognitions",
        "credit_recommendations",
        "degree_programs",
        "articulations",
    }
    assert stats == built.counts


def test_search_json(built):
    out = run("search", "I want to fix air conditioners", "--json", "--k", "3")
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)["results"]
    # Since the catalog holds Texas ETPL programs (12k records), HVAC programs rank with (or
    # above) the EPA certification; every result must still be about air conditioning.
    assert len(results) == 3, results
    hvac = re.compile(r"air ?condition|hvac|refrigerat|\bEPA\b|section 60[89]", re.I)
    assert all(hvac.search(f"{r['id']} {r['name']}") for r in results), results


def test_search_bad_input_is_a_clear_error(built):
    out = run("search", "", "--json")
    assert out.returncode == 2 and "must not be empty" in out.stderr


def test_skills_json(built):
    out = run("skills", "I ran payroll in ADP and I don't know SQL", "--json")
    assert out.returncode == 0, out.stderr
    skills = json.loads(out.stdout)["skills"]
    roles = {s["role"] for s in skills}
    assert "has" in roles and "lacks" in roles


def test_build_is_skipped_when_nothing_changed(built):
    out = run("build")
    assert out.returncode == 0, out.stderr
    assert "up to date" in out.stdout
