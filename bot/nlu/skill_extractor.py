"""Rasa 3.6 entity extractor for skills, backed by :class:`knowledge.skills.SkillExtractor`.

config.yml::

    - name: bot.nlu.skill_extractor.SkillEntityExtractor
      # patterns_path: var/skill_patterns.json   (default: knowledge.config settings)

``train`` copies the skill patterns JSON into the model storage, so a trained model carries the
taxonomy it was trained with; ``load`` reads it back from there. Each message gets one entity per
skill: ``{"entity": "skill", "value": <canonical label>, "role": has|lacks|wants, "start",
"end", "extractor": "SkillEntityExtractor", "skill_id", "confidence_entity": 1.0}``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_ROLE,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge.skills import MAX_TEXT_CHARS, SkillExtractor

logger = logging.getLogger(__name__)

ENTITY_NAME = "skill"
PATTERNS_FILE = "skill_patterns.json"
CONFIDENCE = "confidence_entity"


def _default_patterns_path() -> str:
    from knowledge.config import get_settings

    return str(get_settings().patterns_path)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True)
class SkillEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Finds taxonomy skills and whether the user has, lacks or wants each one."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"patterns_path": None}  # None: knowledge.config settings' patterns_path

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SkillEntityExtractor:
        return cls(config, model_storage, resource)

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._payload = payload
        self._extractor: SkillExtractor | None = None

    @property
    def patterns_path(self) -> Path:
        return Path(self._config.get("patterns_path") or _default_patterns_path())

    # -- training / persistence ------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        """Read the patterns JSON and store it with the model (training data is not used)."""
        path = self.patterns_path
        if not path.exists():
            raise FileNotFoundError(
                f"{type(self).__name__}: skill patterns file {path} not found; "
                "run `stackwise build` before training"
            )
        self._payload = json.loads(path.read_text(encoding="utf-8"))
        self._extractor = SkillExtractor.from_payload(self._payload)
        self.persist()
        return self._resource

    def persist(self) -> None:
        if self._payload is None:
            return
        with self._model_storage.write_to(self._resource) as directory:
            (directory / PATTERNS_FILE).write_text(
                json.dumps(self._payload, ensure_ascii=False), encoding="utf-8"
            )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SkillEntityExtractor:
        try:
            with model_storage.read_from(resource) as directory:
                payload = json.loads((directory / PATTERNS_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError) as exc:
            logger.warning(
                "%s: no skill patterns in the model (%s); falling back to the patterns file",
                cls.__name__,
                exc,
            )
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, payload)

    # -- inference -------------------------------------------------------------------------

    @property
    def skill_extractor(self) -> SkillExtractor:
        if self._extractor is None:
            if self._payload is None:
                self._payload = json.loads(self.patterns_path.read_text(encoding="utf-8"))
            self._extractor = SkillExtractor.from_payload(self._payload)
        return self._extractor

    @property
    def fingerprint(self) -> str:
        return self.skill_extractor.fingerprint

    def process(self, messages: list[Message]) -> list[Message]:
        extractor = self.skill_extractor
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text:
                continue
            if len(text) > MAX_TEXT_CHARS:
                logger.warning(
                    "%s: message of %d characters is over %d; skills taken from its start",
                    type(self).__name__,
                    len(text),
                    MAX_TEXT_CHARS,
                )
                text = text[:MAX_TEXT_CHARS]
            found = [
                {
                    ENTITY_ATTRIBUTE_TYPE: ENTITY_NAME,
                    ENTITY_ATTRIBUTE_VALUE: m.label,
                    ENTITY_ATTRIBUTE_ROLE: m.role,
                    ENTITY_ATTRIBUTE_START: m.start,
                    ENTITY_ATTRIBUTE_END: m.end,
                    EXTRACTOR: type(self).__name__,
                    "skill_id": m.skill_id,
                    CONFIDENCE: 1.0,
                }
                for m in extractor.extract(text)
            ]
            existing = [
                e
                for e in message.get(ENTITIES, []) or []
                if not (
                    e.get(EXTRACTOR) == type(self).__name__
                    and e.get(ENTITY_ATTRIBUTE_TYPE) == ENTITY_NAME
                )
            ]
            # Same skill at the same place from another run of this component: keep one.
            seen = {
                (
                    e.get(ENTITY_ATTRIBUTE_TYPE),
                    e.get(ENTITY_ATTRIBUTE_START),
                    e.get(ENTITY_ATTRIBUTE_END),
                    e.get(ENTITY_ATTRIBUTE_VALUE),
                )
                for e in existing
            }
            new = [
                e
                for e in found
                if (
                    ENTITY_NAME,
                    e[ENTITY_ATTRIBUTE_START],
                    e[ENTITY_ATTRIBUTE_END],
                    e[ENTITY_ATTRIBUTE_VALUE],
                )
                not in seen
            ]
            message.set(ENTITIES, existing + new, add_to_output=True)
        return messages
