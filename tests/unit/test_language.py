"""Language identification on learners' messages, with the real lingua models (no mocks)."""

from __future__ import annotations

import time
from importlib.metadata import metadata
from pathlib import Path

import pytest
import yaml

from knowledge.language import LANGUAGES, REPLIES_FILE, detect_language, reply_in, warm_up

HELD_OUT = Path(__file__).resolve().parents[1] / "data" / "language_messages.yaml"


def _switches(code: str, reliable: bool) -> bool:
    return code != "en" and reliable


def test_held_out_messages():
    # Written before the module: would the bot answer in the expected language (or stay English)?
    entries = yaml.safe_load(HELD_OUT.read_text(encoding="utf-8"))
    wrong = []
    for e in entries:
        guess = detect_language(e["text"])
        expected = _switches(e["code"], e.get("reliable", True))
        ok = _switches(guess.code, guess.reliable) == expected
        ok = ok and (not expected or guess.code == e["code"])
        ok = ok and (e.get("reliable", True) or not guess.reliable)
        if not ok:
            wrong.append((e["text"], guess))
    print(f"language held-out: {1 - len(wrong) / len(entries):.3f} of {len(entries)}")
    assert len(wrong) <= 1, wrong


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Hola, quiero ser asistente médico", "es"),
        ("yo quiero ser enfermera pero no hablo ingles", "es"),
        ("puedo estudiar en linea?", "es"),
        ("quiero ser welder en Houston, cuanto cuesta?", "es"),  # Spanish with English words
        ("Tôi muốn học nghề", "vi"),
        ("学电脑", "zh"),
        ("Merci beaucoup pour votre aide", "fr"),
    ],
)
def test_answers_in_the_learners_language(text, code):
    guess = detect_language(text)
    assert (guess.code, guess.reliable) == (code, True)
    assert 0.6 <= guess.confidence <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "I want to be a welder, gracias",
        "I want to be a welder, muchas gracias amigo",
        "hola i want to be a CNA",
        "I want to learn cosmetology, tengo 3 hijos",
        "whats a good job for me i dont hav experiance",
        "im from mexico and want to be a truck driver",
        "I'm interested in the HVAC program at San Jacinto",
    ],
)
def test_english_and_spanglish_stay_english(text):
    guess = detect_language(text)
    assert not _switches(guess.code, guess.reliable), guess


@pytest.mark.parametrize(
    "text", ["ok", "hi", "si", "Hola", "gracias", "si, gracias", "buenos dias", "", "123", "?!"]
)
def test_very_short_is_not_reliable(text):
    assert detect_language(text).reliable is False


def test_speed_after_load():
    warm_up()
    texts = [e["text"] for e in yaml.safe_load(HELD_OUT.read_text(encoding="utf-8"))]
    start = time.perf_counter()
    for _ in range(5):
        for text in texts:
            detect_language(text)
    per_message = (time.perf_counter() - start) / (5 * len(texts))
    print(f"detect_language: {per_message * 1000:.3f} ms per message")
    assert per_message < 0.005


def test_replies_from_the_data_file():
    spanish = reply_in("es")
    assert spanish["language"] == "es"
    assert "inglés" in spanish["english_only"] and "asesor" in spanish["english_only"]
    assert spanish["kept"].format(items="Medical Assistants") == (
        "Aun así, anoté lo que pude entender: Medical Assistants."
    )
    english = reply_in("ht")  # not written (and not detected): English
    assert english["language"] == "en"
    assert english["english_only"].startswith("Stackwise speaks English for now.")
    data = yaml.safe_load(REPLIES_FILE.read_text(encoding="utf-8"))
    assert set(data) <= set(LANGUAGES)
    for code in data:
        texts = reply_in(code)
        assert set(texts) == {"language", "english_only", "kept", "yes", "no"}
        assert "{items}" in texts["kept"]


def test_package_license_recorded():
    # The lead adds the NOTICE line from this: lingua-language-detector is Apache-2.0.
    meta = metadata("lingua-language-detector")
    assert meta["License"] == "Apache-2.0"
    assert meta["Version"] == "2.1.1"
