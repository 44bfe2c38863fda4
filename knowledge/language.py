"""Which language a learner writes in, and what the bot says when it is not English.

Identification: ``lingua-language-detector`` (PyPI, Apache-2.0, by Peter M. Stahl; its n-gram
models are compiled into the wheel, so nothing is downloaded). Only the languages learners here
plausibly write are loaded: English, Spanish, Vietnamese, Chinese, Arabic, Tagalog, Korean,
French, Portuguese and Russian (lingua has no Haitian Creole). The detector is built once per
process on first use and loads each language's model when first needed; ``warm_up()`` loads them
all (about 1.5 s, about 150 MB) so that no learner waits for it.

A guess is ``reliable`` (the bot may answer in that language) only when the message is long
enough to tell (3 words, or a non-Latin script), most of its words are not English (lingua's
mixed-language sections: "I want to be a welder, gracias" stays English), and lingua's confidence
is at least ``MIN_CONFIDENCE``. "ok", "hi", "si" and "gracias" are never reliable.

The bot's texts for each language are in ``language_replies.yaml`` beside this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from lingua import Language, LanguageDetector, LanguageDetectorBuilder

LANGUAGES: dict[str, Language] = {
    "en": Language.ENGLISH,
    "es": Language.SPANISH,
    "vi": Language.VIETNAMESE,
    "zh": Language.CHINESE,
    "ar": Language.ARABIC,
    "tl": Language.TAGALOG,
    "ko": Language.KOREAN,
    "fr": Language.FRENCH,
    "pt": Language.PORTUGUESE,
    "ru": Language.RUSSIAN,
}
MIN_CONFIDENCE = 0.6
MIN_WORDS = 3
REPLIES_FILE = Path(__file__).with_name("language_replies.yaml")

_CODES = {language: code for code, language in LANGUAGES.items()}
_WORD = re.compile(r"[^\W\d_]+")
# Scripts no loaded language but one (or two: Chinese and Korean share Han) writes in.
_NON_LATIN = re.compile(r"[\u0400-\u04ff\u0600-\u06ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_SAMPLES = {
    "en": "I want to become a medical assistant",
    "es": "Quiero ser asistente médico",
    "vi": "Tôi muốn trở thành y tá",
    "zh": "我想成为一名护士",
    "ar": "أريد أن أصبح ممرضة",
    "tl": "Gusto kong maging nars",
    "ko": "간호사가 되고 싶어요",
    "fr": "Je voudrais devenir infirmière",
    "pt": "Eu quero ser eletricista",
    "ru": "Я хочу стать сварщиком",
}


@dataclass(frozen=True)
class LanguageGuess:
    code: str  # ISO 639-1
    confidence: float  # lingua's confidence in that language for the whole message, 0..1
    reliable: bool  # True: enough evidence to answer in ``code``


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*LANGUAGES.values()).build()


def warm_up() -> None:
    """Build the detector and load every language model now (once per process)."""
    detector = _detector()
    for text in _SAMPLES.values():
        detector.compute_language_confidence_values(text)


def _english_majority(detector: LanguageDetector, text: str) -> bool:
    words: dict[Language, int] = {}
    for section in detector.detect_multiple_languages_of(text):
        words[section.language] = words.get(section.language, 0) + section.word_count
    total = sum(words.values())
    return total > 0 and words.get(Language.ENGLISH, 0) * 2 >= total


def detect_language(text: str) -> LanguageGuess:
    """The language of one message; English, not reliable, when there is nothing to tell."""
    words = _WORD.findall(text)
    if not words:
        return LanguageGuess("en", 0.0, False)
    detector = _detector()
    values = detector.compute_language_confidence_values(text)
    top = values[0]
    code, confidence = _CODES[top.language], top.value
    if code != "en" and _english_majority(detector, text):
        english = next(v.value for v in values if v.language == Language.ENGLISH)
        code, confidence = "en", english
    long_enough = len(words) >= MIN_WORDS or bool(_NON_LATIN.search(text))
    return LanguageGuess(code, round(confidence, 3), long_enough and confidence >= MIN_CONFIDENCE)


@lru_cache(maxsize=1)
def _replies() -> dict[str, dict[str, str]]:
    data = yaml.safe_load(REPLIES_FILE.read_text(encoding="utf-8"))
    english = data["en"]
    for code, texts in data.items():
        missing = set(english) - set(texts)
        if missing:
            raise ValueError(f"{REPLIES_FILE.name}: {code} lacks {sorted(missing)}")
    return data


def reply_in(code: str) -> dict[str, str]:
    """The bot's texts for a non-English message, in ``code`` where we have them, else English.

    Keys: ``language`` (the code the texts are in), ``english_only`` (Stackwise speaks English
    for now; an adviser can contact you), ``kept`` (what could still be read; format it with
    ``items=``), ``yes`` and ``no`` (the adviser buttons).
    """
    replies = _replies()
    chosen = code if code in replies else "en"
    return {"language": chosen, **replies[chosen]}
