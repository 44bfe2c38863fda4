"""GET /api/credentials/search over real HTTP: the web app runs as a subprocess on a free port
against the DB and index that the test session built (same STACKWISE_VAR_DIR)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.supervisor import free_port
from knowledge.recommend import SearchFilters

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
FIELDS = {"id", "name", "provider", "type", "url", "cost_usd", "hours", "score", "why"}


@pytest.fixture(scope="module")
def api(built, settings, tmp_path_factory):
    from knowledge.build import read_meta
    from knowledge.db import make_engine
    from knowledge.documents import build_credential_index

    # Other tests may leave an index built for another fingerprint; the app would refuse it.
    engine = make_engine(settings.database_url)
    try:
        build_credential_index(settings, engine, read_meta(engine, "fingerprint"), progress=False)
    finally:
        engine.dispose()
    port = free_port()
    env = dict(os.environ, STACKWISE_VAR_DIR=str(settings.var_dir), HF_HUB_OFFLINE="1")
    log = tmp_path_factory.mktemp("web") / "web.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.web", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"web app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"web app did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.25)
        with httpx.Client(base_url=base, timeout=30) as client:
            yield client
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_results_have_the_documented_shape(api):
    r = api.get("/api/credentials/search", params={"q": "I want to fix air conditioners", "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"results"} and len(body["results"]) == 5
    for item in body["results"]:
        assert set(item) >= FIELDS
        assert isinstance(item["score"], float) and isinstance(item["why"], dict)
        assert {"semantic", "lexical", "recognition", "credit"} <= set(item["why"])
    # At catalog scale an HVAC training program is as good an answer as the EPA 608 exam.
    assert any(
        i["id"] == "epa-section-608"
        or re.search(r"(?i)hvac|air condition|refrigeration|heating", i["name"])
        for i in body["results"]
    ), body["results"]


def test_default_k_is_five_and_k_is_respected(api):
    assert len(api.get("/api/credentials/search", params={"q": "nurse"}).json()["results"]) == 5
    r = api.get("/api/credentials/search", params={"q": "nurse", "k": 2})
    assert len(r.json()["results"]) == 2


def test_filters_are_respected(api):
    r = api.get(
        "/api/credentials/search",
        params={
            "q": "entry level job in technology",
            "k": 10,
            "max_cost": 150,
            "level": "beginner",
        },
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results
    for item in results:
        assert item["cost_usd"] is not None and item["cost_usd"] <= 150
    r = api.get("/api/credentials/search", params={"q": "cloud", "provider": "aws", "k": 8})
    assert {i["id"].split("-")[0] for i in r.json()["results"]} == {"aws"}
    r = api.get("/api/credentials/search", params={"q": "accounting", "credit": "true", "k": 5})
    for item in r.json()["results"]:
        assert item["why"]["credit"] or item["why"]["articulations"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": ""}, "must not be empty"),
        ({"q": "   "}, "must not be empty"),
        ({}, "must not be empty"),
        ({"q": "x" * 10_000}, "longer than"),
        ({"q": "nurse", "k": "abc"}, "k must be an integer"),
        ({"q": "nurse", "k": "0"}, "k must be"),
        ({"q": "nurse", "k": "10000"}, "k must be"),
        ({"q": "nurse", "max_cost": "-1"}, "max_cost"),
        ({"q": "nurse", "max_cost": "nan"}, "max_cost"),
        ({"q": "nurse", "max_cost": "inf"}, "max_cost"),
        ({"q": "nurse", "max_cost": "cheap"}, "max_cost"),
        ({"q": "nurse", "max_hours": "1e12"}, "max_hours"),
        ({"q": "nurse", "format": "telepathy"}, "format"),
        ({"q": "nurse", "level": "wizard"}, "level"),
        ({"q": "nurse", "credit": "maybe"}, "credit"),
    ],
)
def test_bad_input_is_a_400_with_a_clear_message(api, params, message):
    r = api.get("/api/credentials/search", params=params)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]


def test_unknown_provider_is_an_empty_answer_not_an_error(api):
    r = api.get("/api/credentials/search", params={"q": "nurse", "provider": "nobody"})
    assert r.status_code == 200 and r.json() == {"results": []}


def test_repeated_and_refined_queries_answer_like_the_first_time(api, services):
    """The server caches query vectors and filter results: a repeat, or the same question with a
    filter, is answered exactly as a fresh search in another process answers it."""
    q = "help desk job with no degree"
    for params in ({"q": q}, {"q": q}, {"q": q, "max_cost": "300", "level": "beginner"}):
        body = api.get("/api/credentials/search", params=params).json()
        filters = SearchFilters(
            max_cost=float(params["max_cost"]) if "max_cost" in params else None,
            level=params.get("level"),
        )
        fresh = services.search.search(q, 5, filters)
        assert [r["id"] for r in body["results"]] == [r.id for r in fresh]
        assert [r["score"] for r in body["results"]] == [r.score for r in fresh]


def test_sources_carry_their_credit_lines(api):
    body = api.get("/api/sources").json()
    by_name = {s["name"]: s for s in body["sources"]}
    assert set(by_name) == {"curated", "texas-etpl", "careeronestop"}
    assert "Texas Workforce Commission" in by_name["texas-etpl"]["credit"]
    assert "CareerOneStop" in by_name["careeronestop"]["credit"]
    assert by_name["texas-etpl"]["as_of"] == "2024-03-20"


def test_search_near_a_place_returns_local_programs_with_miles(api):
    body = api.get(
        "/api/credentials/search", params={"q": "welding classes", "near": "San Antonio"}
    ).json()
    programs = [r for r in body["results"] if r["kind"] == "program"]
    assert programs, body
    assert all(r["miles"] is not None and r["miles"] <= 50 for r in programs)
    refused = api.get("/api/credentials/search", params={"q": "welding", "near": "Smallvilleton"})
    assert refused.status_code == 400
    assert "ZIP code works best" in refused.json()["error"]
