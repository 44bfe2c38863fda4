"""Paying for it (issue #17 item 4): answers from the record, fixed texts with source and date."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from knowledge import schema
from knowledge.aid import KINDS, aid_answer, aid_texts


def _program(services, pell: bool) -> dict:
    with services.engine.connect() as conn:
        pid = (
            conn.execute(
                select(schema.TrainingProgram.id)
                .where(schema.TrainingProgram.pell_eligible.is_(pell))
                .order_by(schema.TrainingProgram.id)
            )
            .scalars()
            .first()
        )
    return services.search.facts([pid])[pid]


def test_fixed_texts_have_sources_and_date():
    texts = aid_texts()
    assert set(texts) == set(KINDS)
    hosts = {
        "pell": "studentaid.gov",
        "fafsa": "studentaid.gov",
        "wioa": "twc.texas.gov",
        "gi_bill": "va.gov",
    }
    for kind, host in hosts.items():
        assert host in texts[kind].source
    assert len({t.text for t in texts.values()}) == len(KINDS)


def test_every_question_gets_its_own_answer(services):
    f = _program(services, True)
    answers = {k: aid_answer(k, f) for k in KINDS}
    assert len(set(answers.values())) == len(KINDS)
    for k, text in answers.items():
        assert aid_texts()[k].source in text and aid_texts()[k].written in text


def test_pell_from_the_etpl_flag(services):
    yes = aid_answer("pell", _program(services, True))
    assert yes.startswith("Yes") and "FAFSA" in yes
    no = aid_answer("pell", _program(services, False))
    assert "not marked Pell-eligible" in no
    unknown = aid_answer("pell", services.search.facts(["comptia-a-plus"])["comptia-a-plus"])
    assert "don't know whether" in unknown


def test_wioa_by_definition_for_etpl_and_board_decides(services):
    text = aid_answer("wioa", _program(services, False))
    assert "by definition" in text and "workforce board" in text
    cred = aid_answer("wioa", services.search.facts(["comptia-a-plus"])["comptia-a-plus"])
    assert "not a program on the Texas Eligible Training Provider List" in cred


def test_gi_bill_says_what_is_unknown(services):
    text = aid_answer("gi_bill", _program(services, True))
    assert "We don't know whether" in text and "approved" in text
    assert "test fee" in text


def test_general_answer_and_bad_kind():
    assert aid_answer("employer").startswith("Many employers")
    with pytest.raises(ValueError):
        aid_answer("lottery")
