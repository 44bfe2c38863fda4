"""The cached action-response validator accepts and refuses exactly what Rasa's own does."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_speedups import cache_action_response_validator

VALID = [
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "goal", "value": "data analyst"}],
        "responses": [{"text": "hi"}],
    },
    {"events": [{"event": "followup", "name": "action_listen"}]},
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"event": "slot", "name": 3}]},
    {"responses": {"text": "not a list"}},
]


@pytest.fixture(scope="module")
def action() -> RemoteAction:
    cache_action_response_validator()
    return RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1/webhook"))


@pytest.mark.parametrize("result", VALID)
def test_valid_responses_pass(action: RemoteAction, result: dict) -> None:
    validate(result, RemoteAction.action_response_format_spec())  # Rasa's own check agrees
    assert action._validate_action_result(result) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_responses_raise_like_rasa(action: RemoteAction, result: dict) -> None:
    with pytest.raises(ValidationError) as rasa_error:
        validate(result, RemoteAction.action_response_format_spec())
    with pytest.raises(ValidationError, match="Failed to validate Action server response") as ours:
        action._validate_action_result(result)
    assert ours.value.message.startswith(rasa_error.value.message)


def test_patch_is_applied_once() -> None:
    cache_action_response_validator()
    first = RemoteAction._validate_action_result
    cache_action_response_validator()
    assert RemoteAction._validate_action_result is first
