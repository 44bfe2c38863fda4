"""Shared services, opened lazily and once per process (actions, web app and CLI use these)."""

from __future__ import annotations

import threading
from functools import cached_property

from sqlalchemy.engine import Engine

from knowledge.build import read_meta
from knowledge.config import Settings, get_settings
from knowledge.db import engine_for
from knowledge.embed import Encoder
from knowledge.index import load_index
from knowledge.occupations import OccupationMatcher
from knowledge.recommend import CredentialSearch


class Services:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._lock = threading.RLock()

    @cached_property
    def engine(self) -> Engine:
        return engine_for(self.settings.database_url)

    @cached_property
    def app_engine(self) -> Engine:
        """Operational DB (intake records)."""
        return engine_for(self.settings.app_database_url)

    @cached_property
    def encoder(self) -> Encoder:
        return Encoder(
            threads=self.settings.encoder_threads, onnx_path=self.settings.onnx_encoder_path
        )

    @cached_property
    def search(self) -> CredentialSearch:
        with self._lock:
            fingerprint = read_meta(self.engine, "fingerprint")
            index, _meta = load_index(self.settings.index_dir, fingerprint=fingerprint)
            return CredentialSearch(self.engine, index, self.encoder, self.settings.weights)

    @cached_property
    def occupations(self) -> OccupationMatcher:
        with self._lock:
            return OccupationMatcher.from_engine(self.engine)

    @cached_property
    def goals(self):
        """Goal understanding from O*NET titles, abbreviations and fields (knowledge/goals.py)."""
        from knowledge.goals import GoalUnderstanding

        with self._lock:
            return GoalUnderstanding.from_engine(self.engine, self.settings.reference_dir)

    @cached_property
    def skills(self):
        from knowledge.skills import SkillExtractor

        with self._lock:
            return SkillExtractor.from_patterns_file(self.settings.patterns_path)

    def warm_up(self) -> None:
        """Open everything now (servers call this at start so the first user is not slow)."""
        _ = self.search, self.occupations, self.skills
        self.encoder.encode_query("warm up")


_services: Services | None = None
_services_lock = threading.Lock()


def get_services() -> Services:
    global _services
    if _services is None:
        with _services_lock:
            if _services is None:
                _services = Services()
    return _services
