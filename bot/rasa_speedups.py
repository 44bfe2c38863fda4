"""Inference-cost fixes for Rasa 3.6, applied by ``bot/rasa_run.py`` before Rasa starts.

Each fix was found by profiling the Rasa server under load (py-spy, ``bench/load.py``) and is
measured in docs/benchmarks.md. They change how fast Rasa does its work, never what it does:
``tests/unit/test_rasa_speedups.py`` checks each against Rasa's own behaviour.
"""

from __future__ import annotations

from typing import Any


def cache_action_response_validator() -> None:
    """Validate action server responses with a compiled validator.

    Rasa calls ``jsonschema.validate`` on every action server response: it re-checks the large,
    constant response schema against its meta-schema and builds a new validator each call (once
    58% of the Rasa server's CPU). The schema's ``oneOf`` over ~25 event types then makes even a
    cached ``jsonschema`` validator walk every branch for every event (~7% of the CPU per
    message). Here the schema is compiled once into Python code (``fastjsonschema``); a response
    it accepts is valid; one it rejects is validated again by ``jsonschema`` so that the error
    raised is the one Rasa raises.
    """
    import fastjsonschema
    from jsonschema import ValidationError, exceptions, validators
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction, "_stackwise_cached_validator", None) is not None:
        return
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    compiled = fastjsonschema.compile(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        try:
            compiled(result)
            return True
        except fastjsonschema.JsonSchemaException:
            pass
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


def reuse_action_server_connections() -> None:
    """Call the action server over kept-alive connections.

    Rasa 3.6's ``EndpointConfig.request`` opens a new ``aiohttp.ClientSession`` (so a new TCP
    connection) for every action call: three to five per message, ~10% of the Rasa server's CPU
    under load. Here each endpoint keeps one session per event loop, made as Rasa's own
    ``session()`` makes it (headers, auth, timeout) plus a faster JSON serializer; a request is
    otherwise sent, checked and read exactly as Rasa does. Rasa's action endpoint is the local proxy (bot/proxy.py, an aiohttp server that
    keeps idle connections 75 s; aiohttp's client drops its own after 15 s), which itself opens a
    fresh connection to an action server per call so that a failed connect always means "not
    delivered".
    """
    import asyncio
    import weakref

    from rasa.utils.endpoints import EndpointConfig

    if getattr(EndpointConfig, "_stackwise_shared_sessions", False):
        return
    import aiohttp
    import ujson
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

    def dumps(obj: Any) -> str:
        # The request body (the whole conversation) in ujson: ~2.5x faster than json.dumps;
        # the same values (floats round-trip), without json's ", " / ": " padding.
        return ujson.dumps(obj, ensure_ascii=False, escape_forward_slashes=False)

    def make_session(self: EndpointConfig) -> aiohttp.ClientSession:
        # As EndpointConfig.session (Rasa 3.6), plus the serializer.
        auth = None
        if self.basic_auth:
            auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
        return aiohttp.ClientSession(
            headers=self.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            json_serialize=dumps,
        )

    class _Borrowed:
        """``async with`` over a shared session that leaves it open."""

        def __init__(self, session: Any) -> None:
            self.session = session

        async def __aenter__(self) -> Any:
            return self.session

        async def __aexit__(self, *exc: Any) -> None:
            return None

    def shared_session(self: EndpointConfig) -> Any:
        # One session per endpoint and event loop (a session belongs to the loop it was made in).
        per_loop = self.__dict__.setdefault("_stackwise_sessions", weakref.WeakKeyDictionary())
        loop = asyncio.get_running_loop()
        session = per_loop.get(loop)
        if session is None or session.closed:
            session = per_loop[loop] = make_session(self)
        return _Borrowed(session)

    EndpointConfig.session = shared_session
    EndpointConfig._stackwise_shared_sessions = True


# Custom slot-mapping actions that can only set something when the message carries one of
# these entities or answers one of these questions (``requested_slot``); Rasa calls each one on
# every message. actions/skills.py (ActionExtractSkills) returns no events otherwise, which
# tests/unit/test_actions.py checks against this table.
SLOT_ACTION_TRIGGERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "action_extract_skills": (frozenset({"skill"}), frozenset({"skills_summary"})),
}


def slot_action_can_act(action: str, tracker: Any) -> bool:
    """Whether ``action`` (a custom slot-mapping action) could set anything for this message."""
    triggers = SLOT_ACTION_TRIGGERS.get(action)
    if triggers is None:
        return True
    entities, asked = triggers
    message = tracker.latest_message
    found = {e.get("entity") for e in (message.entities if message else [])}
    return bool(found & entities) or tracker.get_slot("requested_slot") in asked


def skip_idle_slot_mapping_actions() -> None:
    """Don't call a custom slot-mapping action that cannot set anything for this message.

    ``action_extract_slots`` calls ``action_extract_skills`` over HTTP on every message, with the
    whole conversation; on most messages (no skill named, the skills question not asked) it
    returns nothing. That call was ~10% of the stack's CPU per message and one more wait in
    every turn. Rasa's own bookkeeping is kept: the action counts as executed for the message.
    """
    from rasa.core.actions.action import ActionExtractSlots

    if getattr(ActionExtractSlots, "_stackwise_skip_idle", False):
        return
    run_custom = ActionExtractSlots._execute_custom_action

    async def _execute_custom_action(
        self: Any, mapping: dict[str, Any], executed: set[str], *args: Any, **kwargs: Any
    ) -> Any:
        action = mapping.get("action")
        tracker = kwargs.get("tracker", args[2] if len(args) > 2 else None)
        if action and action not in executed and not slot_action_can_act(action, tracker):
            return [], executed | {action}
        return await run_custom(self, mapping, executed, *args, **kwargs)

    ActionExtractSlots._execute_custom_action = _execute_custom_action
    ActionExtractSlots._stackwise_skip_idle = True


# Rasa modules whose every ``copy.deepcopy`` is an argument of a ``structlogger.debug`` call
# (checked by tests/unit/test_rasa_speedups.py against the installed Rasa).
LOG_ONLY_DEEPCOPY_MODULES = (
    "rasa.core.processor",
    "rasa.core.policies.memoization",
    "rasa.core.policies.rule_policy",
    "rasa.core.actions.forms",
)


def skip_log_argument_copies() -> None:
    """Don't deep-copy the values Rasa passes to debug log calls.

    Rasa 3.6 writes ``structlogger.debug("...", states=copy.deepcopy(states))``: the copy is made
    on every call, whatever the log level, before structlog decides to drop the line. In the
    modules listed above those copies (every prediction's dialogue states, every turn's events
    and slot values) were ~5% of the server's CPU per message. structlog renders a line while
    the call runs, so the values it is handed need no copy; these modules get a ``copy`` whose
    ``deepcopy`` returns its argument.
    """
    import copy
    import importlib
    import types

    shim = types.SimpleNamespace(copy=copy.copy, deepcopy=lambda value, memo=None: value)
    for name in LOG_ONLY_DEEPCOPY_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "copy", None) is copy:
            module.copy = shim
