"""What every action needs: the shared knowledge services (opened lazily, once per process)
and small helpers for reading the tracker."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from knowledge.services import Services, get_services


def services() -> Services:
    return get_services()


def latest_entities(tracker: Tracker, entity: str) -> list[dict[str, Any]]:
    return [e for e in tracker.latest_message.get("entities", []) if e.get("entity") == entity]


def slot_list(tracker: Tracker, name: str) -> list[Any]:
    value = tracker.get_slot(name)
    return list(value) if isinstance(value, list) else []


def money(value: float | None) -> str:
    if value is None:
        return "cost not recorded"
    return "free" if value == 0 else f"${value:,.0f}"


def hours(value: float | None) -> str:
    return "hours not recorded" if value is None else f"about {value:,.0f} hours"


def join_labels(labels: list[str]) -> str:
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]
