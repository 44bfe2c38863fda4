"""The real catalog in the chat (issue #15): the learner's place from any message, programs
with cost, hours, miles, source and as-of date, and the follow-ups (where / how far, ladders,
recognition through the credential, programs for a credential, Pell and WIOA). Tracker
fixtures on the real knowledge DB, as in test_actions.py."""

from __future__ import annotations

import json
from pathlib import Path

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.facts_text import TEXAS_ONLY, UNKNOWN_PLACE
from actions.intake import without_place
from actions.place import ActionExtractPlace, ActionPlaceAck
from actions.programs import ActionFinancialAid, ActionProgramLocation, ActionProgramsForCredential
from actions.recognition import ActionRecognition
from actions.recommend import ActionRecommend
from actions.stacking import ActionDegreeCredit
from knowledge import schema

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "trackers"
SAN_ANTONIO = {
    "name": "San Antonio, TX",
    "kind": "city",
    "state": "TX",
    "lat": 29.4735,
    "lon": -98.5096,
}
CHICAGO = {"name": "Chicago, IL", "kind": "city", "state": "IL", "lat": 41.866, "lon": -87.6757}


def tracker(
    name: str = "place_san_antonio", text: str | None = None, intent: str | None = None, **slots
) -> Tracker:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    data["slots"].update(slots)
    if text is not None:
        data["latest_message"]["text"] = text
    if intent is not None:
        data["latest_message"]["intent"] = {"name": intent, "confidence": 0.9}
    return Tracker.from_dict(data)


def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, t, {})
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def text_of(messages) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def shown(program_id: str, **slots) -> dict:
    return dict(
        recommendations=[program_id],
        shown_credentials=[program_id],
        focus_credential=program_id,
        **slots,
    )


# -- place ------------------------------------------------------------------------------------


def test_place_is_taken_from_any_message():
    for text, name in [
        ("welding near San Antonio", "San Antonio, TX"),
        ("I live in 78501", "78501 (McAllen, TX)"),
        ("Harris County", "Harris County, TX"),
        ("I moved to Austin", "Austin, TX"),
    ]:
        messages, slots = run(ActionExtractPlace(), tracker(text=text, place=None))
        assert messages == [] and slots["place"]["name"] == name, text
        assert {"lat", "lon", "state", "kind"} <= set(slots["place"])
    # the same place again, or a message without one: no event
    assert run(ActionExtractPlace(), tracker(text="near San Antonio"))[1] == {}
    assert run(ActionExtractPlace(), tracker(text="my budget is $300")) == ([], {})


def test_ambiguous_place_asks_with_buttons_and_unknown_is_said_once():
    messages, slots = run(ActionExtractPlace(), tracker(text="near Springfield", place=None))
    assert slots == {} and messages[0]["text"] == "Which Springfield do you mean?"
    buttons = messages[0]["buttons"]
    assert 2 <= len(buttons) <= 3 and all(
        b["payload"].startswith("I live in Springfield, ") for b in buttons
    )
    messages, slots = run(ActionExtractPlace(), tracker(text="I live in Smallvilleton", place=None))
    assert slots == {} and text_of(messages) == UNKNOWN_PLACE


def test_goal_answer_loses_its_place():
    assert without_place("welding near San Antonio") == "welding"
    assert without_place("LVN in Houston") == "LVN"
    assert without_place("data analyst") == "data analyst"


# -- recommendations near a place --------------------------------------------------------------


def test_welding_near_san_antonio_gets_local_programs_with_cost_hours_and_miles(services):
    messages, slots = run(ActionRecommend(), tracker())
    text, cards = messages[0]["text"], messages[1]["custom"]["cards"]
    assert "near San Antonio, TX" in text.splitlines()[0]
    local = [c for c in cards if c["kind"] == "program" and c["miles"] is not None]
    assert local and all(c["miles"] <= 50 for c in local)
    assert any(
        "St. Philip" in (c["place"] or "") or "Alamo" in c["provider"] or "Philip" in c["provider"]
        for c in cards
    )
    assert "miles)" in text and "required" in text and "Texas ETPL, updated 20" in text
    for c in cards:
        assert c["source"] and c["as_of"], c
    facts = services.search.facts(slots["recommendations"])
    for f in facts.values():  # nearby or online: never a far-away campus
        if f["kind"] == "program":
            assert any(o["delivery"] == "online_instructor_led" for o in f["offerings"]) or any(
                c["id"] == f["id"] and c["miles"] is not None and c["miles"] <= 50 for c in cards
            )


def test_outside_texas_gets_national_and_online_options_and_says_why(services):
    t = tracker(
        "after_recommendations",
        place=CHICAGO,
        recommendations=None,
        shown_credentials=None,
        weekly_hours="10",
        education_level="high_school",
    )
    messages, slots = run(ActionRecommend(), t)
    assert TEXAS_ONLY in messages[0]["text"]
    for f in services.search.facts(slots["recommendations"]).values():
        if f["kind"] == "program":
            assert any(o["delivery"] == "online_instructor_led" for o in f["offerings"])


def test_place_ack_searches_again_near_the_new_place(services):
    t = tracker(text="I moved to Austin", intent="inform_place", **shown("comptia-a-plus"))
    messages, slots = run(ActionPlaceAck(), t)
    assert "I'll look near San Antonio, TX" in messages[0]["text"]
    assert slots["recommendations"]


# -- follow-ups ---------------------------------------------------------------------------------


def _program(services, where) -> str:
    with services.engine.connect() as conn:
        return (
            conn.execute(
                select(schema.TrainingProgram.id).where(where).order_by(schema.TrainingProgram.id)
            )
            .scalars()
            .first()
        )


def test_where_is_it_lists_campuses_with_miles(services):
    messages, _ = run(
        ActionProgramLocation(), tracker(text="how far is it?", **shown("etpl-805-8886"))
    )
    text = text_of(messages)
    assert "800 Quintana Road, San Antonio (9 miles away" in text and "Texas ETPL, updated" in text


def test_degree_credit_for_a_program_is_its_ladder(services):
    with services.engine.connect() as conn:
        ladder = conn.execute(
            select(schema.ProgramLadder).order_by(schema.ProgramLadder.from_program)
        ).first()
    start, target = services.search.facts([ladder.from_program, ladder.to_program]).values()
    messages, _ = run(
        ActionDegreeCredit(), tracker(text="does it count toward a degree?", **shown(start["id"]))
    )
    text = text_of(messages)
    assert f"{start['provider']} also offers {target['name']}" in text
    assert "the college decides how the certificate's courses count" in text


def test_recognition_for_a_program_goes_through_its_credential(services):
    with services.engine.connect() as conn:
        recognized = set(conn.execute(select(schema.Recognition.credential_id)).scalars())
        program, cred = conn.execute(
            select(schema.TrainingProgram.id, schema.TrainingProgram.credential_id)
            .where(schema.TrainingProgram.credential_id.in_(recognized))
            .order_by(schema.TrainingProgram.id)
        ).first()
    name = services.search.facts([cred])[cred]["name"]
    messages, _ = run(
        ActionRecognition(), tracker(text="will employers recognize it?", **shown(program))
    )
    text = text_of(messages)
    assert (
        f"prepares you for {name}" in text
        and f"Who recognizes {name}:" in text
        and "Source: http" in text
    )


def test_programs_for_security_plus_nearest_first(services):
    t = tracker(
        text="which programs near me prepare for Security+?", intent="ask_programs_for_credential"
    )
    messages, slots = run(ActionProgramsForCredential(), t)
    assert messages[0]["text"].startswith(
        "Programs that prepare you for CompTIA Security+ near San Antonio, TX:"
    )
    facts = services.search.facts(slots["recommendations"])
    assert facts and all(f["credential_id"] == "comptia-security-plus" for f in facts.values())
    assert "(9 miles)" in messages[0]["text"].splitlines()[1]


def test_pell_for_a_shown_program_and_wioa(services):
    pell = _program(services, schema.TrainingProgram.pell_eligible.is_(True))
    messages, _ = run(ActionFinancialAid(), tracker(text="Can I use a Pell grant?", **shown(pell)))
    text = text_of(messages)
    assert "listed as Pell-eligible" in text and "FAFSA" in text
    assert "WIOA" in text and "local workforce board decides who qualifies" in text
    no_pell = _program(services, schema.TrainingProgram.pell_eligible.is_(False))
    text = text_of(
        run(ActionFinancialAid(), tracker(text="is it Pell eligible", **shown(no_pell)))[0]
    )
    assert "listed as not Pell-eligible" in text
