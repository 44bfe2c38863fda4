"""Inference-cost fixes for Rasa 3.6, applied by ``bot/rasa_run.py`` before Rasa starts.

Each fix was found by profiling the Rasa server under load (py-spy, ``bench/load.py``) and is
measured in docs/benchmarks.md. They change how fast Rasa does its work, never what it does:
``tests/unit/test_rasa_speedups.py`` checks each against Rasa's own behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
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


def cache_event_type_lookup() -> None:
    """Find an event's class by its type name in a table, not by walking the class tree.

    ``Event.resolve_by_type`` (every event read from an action response or the tracker store)
    lists all subclasses of ``Event`` recursively, checking each for abstractness, then takes the
    first whose ``type_name`` matches: ~3% of the Rasa server's CPU per message. Here the first
    match per name is kept in a table, rebuilt whenever a new ``Event`` subclass is defined
    (``__init_subclass__``); a name the table lacks goes to Rasa's own lookup (its ``topic``,
    default and error cases).
    """
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    if getattr(Event, "_stackwise_type_table", False):
        return
    original = Event.resolve_by_type
    table: dict[str, type] = {}
    stale = [True]

    parent_hook = Event.__dict__.get("__init_subclass__")

    def __init_subclass__(cls: type, **kwargs: Any) -> None:
        stale[0] = True
        if parent_hook is not None:
            parent_hook.__func__(cls, **kwargs)
        else:
            super(Event, cls).__init_subclass__(**kwargs)

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        if stale[0]:
            table.clear()
            for cls in all_subclasses(Event):  # Rasa's order: its first match wins
                table.setdefault(cls.type_name, cls)
            stale[0] = False
        found = table.get(type_name)
        return found if found is not None else original(type_name, default)

    Event.__init_subclass__ = classmethod(__init_subclass__)
    Event.resolve_by_type = staticmethod(resolve_by_type)
    Event._stackwise_type_table = True


def _events_key(tracker: Any) -> tuple[Any, ...]:
    """What a tracker's events are, cheaply: Rasa only ever appends to a tracker's event deque
    (a bounded one drops from the front), so its identity, length and end events tell a change.
    The events themselves are held, so their ids cannot be reused while the key is kept."""
    events = tracker.events
    n = len(events)
    return (events, n, events[0] if n else None, events[-1] if n else None)


def _same_key(a: tuple[Any, ...] | None, b: tuple[Any, ...]) -> bool:
    return a is not None and len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _kept_on_tracker(tracker: Any, name: str, key: tuple[Any, ...], compute: Any) -> Any:
    """``compute()``, kept in the tracker's ``name`` attribute while ``key`` is unchanged."""
    memo = tracker.__dict__.get(name)
    if memo is not None and _same_key(memo[0], key):
        return memo[1]
    value = compute()
    tracker.__dict__[name] = (key, value)
    return value


def memoize_applied_events() -> None:
    """Compute a tracker's applied events once per change of its events.

    ``DialogueStateTracker.applied_events`` replays the whole conversation's reverts, restarts
    and form loops each time it is asked, and it is asked several times per message with the same
    events (session check, last user message, each policy's dialogue states): ~6% of the Rasa
    server's CPU. Here the result is kept on the tracker with ``_events_key`` and each caller
    gets its own list, as before.
    """
    from rasa.shared.core.trackers import DialogueStateTracker

    if getattr(DialogueStateTracker, "_stackwise_applied_memo", False):
        return
    original = DialogueStateTracker.applied_events

    def applied_events(self: DialogueStateTracker) -> list[Any]:
        kept = _kept_on_tracker(
            self, "_stackwise_applied", _events_key(self), lambda: tuple(original(self))
        )
        return list(kept)

    DialogueStateTracker.applied_events = applied_events
    DialogueStateTracker._stackwise_applied_memo = True


@dataclass(frozen=True)
class _PriorStep:
    """What ``Domain.states_for_tracker_history`` reads from one prior tracker."""

    hide_rule_turn: bool
    prev_action: Any  # tr.latest_action (the same object get_active_state puts in the state)
    followup_action: str | None
    latest_action_name: str | None
    active_loop_name: str | None
    state: dict[str, Any]  # get_active_state(tr, omit_unset_slots)


def _prior_steps(domain: Any, tracker: Any, omit_unset_slots: bool) -> list[_PriorStep]:
    def replay() -> list[_PriorStep]:
        return [
            _PriorStep(
                hide_rule_turn,
                domain._get_prev_action_sub_state(tr),
                tr.followup_action,
                tr.latest_action_name,
                tr.active_loop_name,
                domain.get_active_state(tr, omit_unset_slots=omit_unset_slots),
            )
            for tr, hide_rule_turn in tracker.generate_all_prior_trackers()
        ]

    key = (domain, omit_unset_slots, *_events_key(tracker))
    return _kept_on_tracker(tracker, "_stackwise_prior_steps", key, replay)


def share_prior_tracker_states() -> None:
    """Replay a conversation once per prediction, not once per policy.

    Each policy turns the tracker into dialogue states (``Domain.states_for_tracker_history``)
    by replaying every event of the conversation on a fresh tracker and reading its state before
    each action. MemoizationPolicy and RulePolicy (once or twice) each do that for the same
    events at every prediction: ~8% of the Rasa server's CPU. Here what the replay yields
    (``_PriorStep``) is kept on the tracker per ``_events_key``, and each call builds its states
    from it with Rasa's own steps, on fresh copies of the sub-states: callers edit the states
    they get (the featurizers delete keys from them), and a sub-state shared between two states
    (Rasa assigns one to another) is shared in the copy the same way.
    """
    import rasa.shared.core.constants as core_constants
    from rasa.shared.core.domain import Domain

    if getattr(Domain, "_stackwise_shared_prior_states", False):
        return
    previous_action = core_constants.PREVIOUS_ACTION

    def states_for_tracker_history(
        self: Domain,
        tracker: Any,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        copies: dict[int, Any] = {}  # id of a cached sub-state -> its copy for this call

        def fresh(sub_state: Any) -> Any:
            if not isinstance(sub_state, dict):
                return sub_state
            copy_ = copies.get(id(sub_state))
            if copy_ is None:
                copy_ = copies[id(sub_state)] = dict(sub_state)
            return copy_

        # As Rasa 3.6's Domain.states_for_tracker_history, reading each prior tracker's values
        # from its _PriorStep.
        states: list[dict[str, Any]] = []
        last_ml_action_sub_state = None
        turn_was_hidden = False
        for step in _prior_steps(self, tracker, omit_unset_slots):
            if ignore_rule_only_turns:
                if not turn_was_hidden:
                    last_ml_action_sub_state = fresh(step.prev_action)
                if not step.followup_action and step.latest_action_name != step.active_loop_name:
                    turn_was_hidden = step.hide_rule_turn
                if turn_was_hidden:
                    continue

            state = {kind: fresh(sub_state) for kind, sub_state in step.state.items()}

            if ignore_rule_only_turns:
                self._remove_rule_only_features(state, rule_only_data)
                if states:
                    self._substitute_rule_only_user_input(state, states[-1])
                if last_ml_action_sub_state:
                    state[previous_action] = last_ml_action_sub_state

            states.append(self._clean_state(state))
        return states

    Domain.states_for_tracker_history = states_for_tracker_history
    Domain._stackwise_shared_prior_states = True
