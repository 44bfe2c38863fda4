"""Inference-cost fixes for Rasa 3.6, applied by ``bot/rasa_run.py`` before Rasa starts.

Profiled under load (py-spy, ``bench/load.py``): 58% of the Rasa server's CPU went to
``RemoteAction._validate_action_result``, which calls ``jsonschema.validate`` on every action
server response. ``jsonschema.validate`` re-checks the (large, constant) response schema against
its meta-schema and builds a new validator each call. Here the schema is checked and the
validator built once; each response is still validated in full, with the same error Rasa raises.
"""

from __future__ import annotations

from typing import Any


def cache_action_response_validator() -> None:
    from jsonschema import ValidationError, exceptions, validators
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction, "_stackwise_cached_validator", None) is not None:
        return
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        # As jsonschema.validate(result, schema), minus the per-call schema check.
        error = exceptions.best_match(validator.iter_errors(result))
        if error is None:
            return True
        assert isinstance(error, ValidationError)
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result
    RemoteAction._stackwise_cached_validator = validator
