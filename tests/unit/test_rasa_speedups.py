"""Each Rasa speed-up in bot/rasa_speedups.py does what Rasa's own code does: the compiled
action-response validator accepts and refuses exactly what Rasa's ``jsonschema`` check does,
kept-alive action calls send and return the same, skipped slot-mapping calls are those that
could not have set anything, and the log-argument copies skipped are only log arguments."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
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
    {"events": [{"event": "slot", "name": "goal"}]},  # no value
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"timestamp": 1.0}]},  # no event type
    {"events": [{"event": "user", "parse_data": {"intent": {"confidence": "high"}}}]},
]

# Event-shaped dicts: known and unknown event types, right and wrong value types.
_EVENT_NAMES = st.sampled_from(
    [
        "slot",
        "user",
        "bot",
        "action",
        "followup",
        "active_loop",
        "restart",
        "reset_slots",
        "session_started",
        "entities",
        "form_validation",
        "loop_interrupted",
        "reminder",
        "user_featurization",
        "action_execution_rejected",
        "pause",
        "resume",
        "export",
        "nope",
        3,
    ]
)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_EVENTS = st.fixed_dictionaries(
    {"event": _EVENT_NAMES},
    optional={
        key: _VALUES
        for key in (
            "name",
            "value",
            "text",
            "timestamp",
            "policy",
            "confidence",
            "entities",
            "parse_data",
            "data",
            "metadata",
            "validate",
            "is_interrupted",
        )
    },
)
_RESULTS = st.fixed_dictionaries(
    {},
    optional={
        "events": st.one_of(st.lists(_EVENTS, max_size=4), _VALUES),
        "responses": st.one_of(
            st.lists(
                st.dictionaries(st.sampled_from(["text", "buttons"]), _VALUES, max_size=2),
                max_size=2,
            ),
            _VALUES,
        ),
    },
)


async def webhook_server(handler):
    """A local action-server stand-in: (runner, URL of its POST /webhook)."""
    from aiohttp import web

    app = web.Application()
    app.router.add_post("/webhook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/webhook"


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


@hsettings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(result=_RESULTS)
def test_compiled_validator_agrees_with_jsonschema(result: dict) -> None:
    cache_action_response_validator()
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1/webhook"))
    try:
        validate(result, RemoteAction.action_response_format_spec())
        rasa_accepts = True
    except ValidationError:
        rasa_accepts = False
    if rasa_accepts:
        assert action._validate_action_result(result) is True
    else:
        with pytest.raises(ValidationError):
            action._validate_action_result(result)


def test_patch_is_applied_once() -> None:
    cache_action_response_validator()
    first = RemoteAction._validate_action_result
    cache_action_response_validator()
    assert RemoteAction._validate_action_result is first


def test_action_calls_reuse_one_kept_alive_connection() -> None:
    """Rasa's EndpointConfig.request, patched: requests go over one connection, with Rasa's
    headers and token, and the answer and HTTP errors come back as Rasa gives them."""
    import asyncio

    from aiohttp import web
    from rasa.core.actions.action import ClientResponseError

    from bot.rasa_speedups import reuse_action_server_connections

    reuse_action_server_connections()
    peers: list[tuple[str, int]] = []
    seen: list[tuple[str | None, str | None]] = []
    bodies: list[dict] = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        seen.append((request.headers.get("X-Tenant"), request.query.get("token")))
        body = await request.json()
        bodies.append(body)
        if body.get("fail"):
            return web.json_response({"error": "nope"}, status=500)
        return web.json_response({"echo": body["n"]})

    async def main() -> None:
        runner, url = await webhook_server(webhook)
        endpoint = EndpointConfig(url, headers={"X-Tenant": "t1"}, token="s3cret")
        try:
            answers = [await endpoint.request(json={"n": i}, method="post") for i in range(5)]
            assert answers == [{"echo": i} for i in range(5)]
            # The body decodes to exactly what was sent (floats, non-ASCII, slashes).
            sent = {"n": 5, "f": [0.1 + 0.2, 1e-300, 0.9967074394226074], "t": "é/ü 👩‍⚕️ </x>"}
            assert await endpoint.request(json=sent, method="post") == {"echo": 5}
            assert bodies[-1] == sent
            with pytest.raises(ClientResponseError) as error:
                await endpoint.request(json={"fail": True}, method="post")
            assert error.value.status == 500
            assert await endpoint.request(json={"n": 9}, method="post") == {"echo": 9}
        finally:
            for session in endpoint.__dict__["_stackwise_sessions"].values():
                await session.close()
            await runner.cleanup()

    asyncio.run(main())
    assert len(peers) == 8 and len(set(peers)) == 1  # one TCP connection for all eight
    assert set(seen) == {("t1", "s3cret")}


def test_slot_mapping_action_is_called_only_when_it_can_act() -> None:
    """With the patch, action_extract_slots calls action_extract_skills for a message that names
    a skill or answers the skills question, and not for one that does neither."""
    import asyncio

    from aiohttp import web
    from rasa.core.actions.action import ActionExtractSlots
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.rasa_speedups import skip_idle_slot_mapping_actions

    skip_idle_slot_mapping_actions()
    # The answer-first bot has no custom slot-mapping action left (action_advise reads every
    # message itself); the patch still governs any that a domain names, so the test declares one.
    domain = Domain.from_yaml(
        """
version: "3.1"
intents: [inform_skills]
entities: [skill, goal]
actions: [action_extract_skills]
slots:
  skills_summary:
    type: text
    mappings:
      - type: custom
        action: action_extract_skills
  goal:
    type: text
    mappings:
      - type: from_entity
        entity: goal
forms:
  intake_form:
    required_slots: [skills_summary, goal]
"""
    )
    calls: list[str] = []

    async def webhook(request: web.Request) -> web.Response:
        calls.append((await request.json())["next_action"])
        return web.json_response({"events": [], "responses": []})

    def tracker(entities: list[dict], requested: str | None = None) -> DialogueStateTracker:
        t = DialogueStateTracker("s", domain.slots)
        if requested:
            t.update(SlotSet("requested_slot", requested))
        t.update(UserUttered("text", {"name": "inform_skills", "confidence": 1.0}, entities))
        return t

    async def main() -> list[list[str]]:
        runner, url = await webhook_server(webhook)
        action = ActionExtractSlots(EndpointConfig(url))
        nlg = TemplatedNaturalLanguageGenerator(domain.responses)
        seen = []
        try:
            for t in (
                tracker([]),
                tracker([{"entity": "skill", "value": "SQL", "start": 0, "end": 3}]),
                tracker([], requested="skills_summary"),
                tracker([{"entity": "goal", "value": "nurse", "start": 0, "end": 5}], "goal"),
            ):
                calls.clear()
                await action.run(CollectingOutputChannel(), nlg, t, domain)
                seen.append(list(calls))
        finally:
            await runner.cleanup()
        return seen

    seen = asyncio.run(main())
    assert seen[0] == [] and seen[3] == []  # no skill named, skills question not asked
    assert "action_extract_skills" in seen[1] and "action_extract_skills" in seen[2]


def _log_only_deepcopies(module_name: str) -> tuple[int, list[int]]:
    """(number of ``copy.deepcopy`` calls, lines of those not inside a structlogger call)."""
    tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
    inside_log: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "structlogger"
        ):
            inside_log |= {id(n) for n in ast.walk(node)}
    copies = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "deepcopy"
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == "copy"
    ]
    return len(copies), [n.lineno for n in copies if id(n) not in inside_log]


@pytest.mark.parametrize(
    "module_name", __import__("bot.rasa_speedups").rasa_speedups.LOG_ONLY_DEEPCOPY_MODULES
)
def test_skipped_copies_are_log_arguments_only(module_name: str) -> None:
    """In the installed Rasa, every copy.deepcopy of the patched modules is a log argument."""
    count, elsewhere = _log_only_deepcopies(module_name)
    assert count > 0
    assert elsewhere == [], f"{module_name}: deepcopy outside a log call at lines {elsewhere}"


def test_a_module_with_a_real_copy_is_told_apart() -> None:
    # rasa.core.actions.action deep-copies a user event it then changes: not a log argument.
    count, elsewhere = _log_only_deepcopies("rasa.core.actions.action")
    assert count and elsewhere


def test_log_argument_copies_are_skipped_and_other_copies_kept() -> None:
    import copy

    from bot.rasa_speedups import LOG_ONLY_DEEPCOPY_MODULES, skip_log_argument_copies

    skip_log_argument_copies()
    skip_log_argument_copies()  # twice is the same as once
    value = {"states": [{"prev_action": {"action_name": "action_listen"}}]}
    for name in LOG_ONLY_DEEPCOPY_MODULES:
        module = importlib.import_module(name)
        assert module.copy.deepcopy(value) is value
        shallow = module.copy.copy(value)
        assert shallow == value and shallow is not value
    assert copy.deepcopy(value) is not value  # everyone else's copy module is untouched
    import rasa.core.actions.action as action_module

    assert action_module.copy is copy
