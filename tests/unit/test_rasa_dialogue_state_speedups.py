"""The dialogue-state speed-ups in bot/rasa_speedups.py give exactly what Rasa 3.6 gives.

Random conversations (hypothesis: user turns with entities, actions hidden in rule turns, form
loops starting, running and ending, slots, follow-ups, rejections, reverts, restarts, new
sessions) are grown one event at a time on one tracker, and at every length the memoized
``applied_events`` and the shared ``states_for_tracker_history`` are compared with Rasa's own,
with every combination of arguments the policies use, called twice, with the first result edited
in between (callers edit what they get), on the project's domain and on one whose slots and loop
do shape the dialogue state. The project's stories and rules are checked the same way.
"""

from __future__ import annotations

import copy
import gc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rasa.shared.core.constants import (
    ACTION_LISTEN_NAME,
    PREVIOUS_ACTION,
    RULE_ONLY_LOOPS,
    RULE_ONLY_SLOTS,
    USER,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    ConversationPaused,
    DefinePrevUserUtteredFeaturization,
    Event,
    FollowupAction,
    LoopInterrupted,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_speedups

ROOT = Path(__file__).resolve().parents[2]

# A domain whose slots (each featurized type) and loop are part of the dialogue state.
FEATURIZED_DOMAIN = Domain.from_dict(
    {
        "version": "3.1",
        "intents": ["greet", "inform", "affirm", "deny", "bye"],
        "entities": ["skill", "goal"],
        "slots": {
            "goal": {
                "type": "text",
                "influence_conversation": True,
                "mappings": [{"type": "custom"}],
            },
            "level": {
                "type": "categorical",
                "values": ["low", "high"],
                "influence_conversation": True,
                "mappings": [{"type": "custom"}],
            },
            "ok": {
                "type": "bool",
                "influence_conversation": True,
                "mappings": [{"type": "custom"}],
            },
            "hours": {
                "type": "float",
                "min_value": 0,
                "max_value": 40,
                "influence_conversation": True,
                "mappings": [{"type": "custom"}],
            },
            "skills": {
                "type": "list",
                "influence_conversation": True,
                "mappings": [{"type": "custom"}],
            },
            "note": {
                "type": "text",
                "influence_conversation": False,
                "mappings": [{"type": "custom"}],
            },
        },
        "forms": {"intake_form": {"required_slots": ["goal", "hours"]}},
        "responses": {"utter_greet": [{"text": "hi"}], "utter_bye": [{"text": "bye"}]},
        "actions": ["action_recommend"],
    }
)
PROJECT_DOMAIN = Domain.load(str(ROOT / "bot" / "domain"))

SLOT_VALUES: dict[str, Any] = {
    "goal": st.sampled_from([None, "data analyst", "nurse"]),
    "level": st.sampled_from([None, "low", "high", "other"]),
    "ok": st.sampled_from([None, True, False]),
    "hours": st.sampled_from([None, 0.0, 10.0, 40.0]),
    "skills": st.sampled_from([None, [], ["Excel"], ["Excel", "SQL"]]),
    "note": st.sampled_from([None, "x"]),
    "requested_slot": st.sampled_from([None, "goal", "hours"]),
}


def _events(domain: Domain) -> st.SearchStrategy[Event]:
    loops = list(domain.form_names)
    actions = sorted(
        {
            ACTION_LISTEN_NAME,
            *loops,
            *[a for a in domain.user_actions if a.startswith(("utter_", "action_"))][:6],
        }
    )
    entity = st.fixed_dictionaries(
        {"entity": st.sampled_from(sorted(domain.entities) or ["skill"]), "value": st.just("v")},
        optional={"role": st.sampled_from(["has", "wants"])},
    )
    slots = [s.name for s in domain.slots if s.name in SLOT_VALUES] or ["requested_slot"]
    return st.one_of(
        st.builds(
            lambda intent, entities, text: UserUttered(
                text, {"name": intent, "confidence": 1.0}, entities
            ),
            st.sampled_from(sorted(domain.intents)),
            st.lists(entity, max_size=2),
            st.sampled_from(["hi", "I know SQL", None]),
        ),
        st.builds(
            lambda name, hidden: ActionExecuted(name, hide_rule_turn=hidden),
            st.sampled_from(actions),
            st.booleans(),
        ),
        st.builds(ActionExecuted, action_text=st.sampled_from(["end-to-end reply"])),
        st.sampled_from(slots).flatmap(
            lambda name: SLOT_VALUES.get(name, st.just("x")).map(lambda v: SlotSet(name, v))
        ),
        st.builds(ActiveLoop, st.sampled_from([None, *loops])),
        st.builds(FollowupAction, st.sampled_from(actions)),
        st.builds(ActionExecutionRejected, st.sampled_from(actions)),
        st.builds(LoopInterrupted, st.booleans()),
        st.builds(DefinePrevUserUtteredFeaturization, st.booleans()),
        st.sampled_from([UserUtteranceReverted(), ActionReverted(), Restarted(), SessionStarted()]),
    )


def _rule_only(domain: Domain) -> list[dict[str, Any] | None]:
    slots = [s.name for s in domain.slots][:2]
    return [None, {RULE_ONLY_SLOTS: slots, RULE_ONLY_LOOPS: list(domain.form_names)}]


ARGS = [(omit, ignore) for omit in (False, True) for ignore in (False, True)]


def _edit(states: list[dict[str, Any]]) -> None:
    """What callers do to the states they get (the featurizers delete keys from them)."""
    for state in states:
        state.get(USER, {}).pop("text", None)
        state.get(PREVIOUS_ACTION, {}).clear()
        state.pop("slots", None)


@pytest.fixture()
def patched(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Rasa's functions, then the speed-ups applied for this test only."""
    originals = {
        "applied_events": DialogueStateTracker.applied_events,
        "states": Domain.states_for_tracker_history,
    }
    monkeypatch.setattr(DialogueStateTracker, "applied_events", originals["applied_events"])
    monkeypatch.setattr(DialogueStateTracker, "_stackwise_applied_memo", False, raising=False)
    monkeypatch.setattr(Domain, "states_for_tracker_history", originals["states"])
    monkeypatch.setattr(Domain, "_stackwise_shared_prior_states", False, raising=False)
    rasa_speedups.memoize_applied_events()
    rasa_speedups.share_prior_tracker_states()
    return originals


def _check(domain: Domain, tracker: DialogueStateTracker, originals: dict[str, Any]) -> None:
    plain = DialogueStateTracker.from_events("ref", list(tracker.events), domain.slots)
    # Rasa's own results, on a twin tracker (no memo on it) with Rasa's own functions.
    expected_applied = originals["applied_events"](plain)
    got = tracker.applied_events()
    assert got == expected_applied
    got.append("edited")  # a caller's edit stays in its own list
    assert tracker.applied_events() == expected_applied

    for rule_only in _rule_only(domain):
        for omit, ignore in ARGS:
            with _original_applied_events(originals):
                expected = originals["states"](domain, plain, omit, ignore, rule_only)
            frozen = copy.deepcopy(expected)
            first = domain.states_for_tracker_history(tracker, omit, ignore, rule_only)
            assert first == frozen
            _assert_same_sharing(first, expected)
            _edit(first)
            again = domain.states_for_tracker_history(tracker, omit, ignore, rule_only)
            assert again == frozen


class _original_applied_events:
    """Run Rasa's own applied_events while computing the reference."""

    def __init__(self, originals: dict[str, Any]) -> None:
        self.original = originals["applied_events"]

    def __enter__(self) -> None:
        self.patched = DialogueStateTracker.applied_events
        DialogueStateTracker.applied_events = self.original

    def __exit__(self, *exc: Any) -> None:
        DialogueStateTracker.applied_events = self.patched


def _assert_same_sharing(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Sub-states shared between states in Rasa's result are shared the same way in ours."""

    def sharing(states: list[dict[str, Any]]) -> list[tuple[int, str, int, str]]:
        seen: dict[int, tuple[int, str]] = {}
        pairs = []
        for i, state in enumerate(states):
            for kind, sub in state.items():
                if id(sub) in seen:
                    pairs.append((*seen[id(sub)], i, kind))
                else:
                    seen[id(sub)] = (i, kind)
        return pairs

    assert sharing(got) == sharing(expected)


@pytest.mark.parametrize(
    "domain", [FEATURIZED_DOMAIN, PROJECT_DOMAIN], ids=["featurized", "project"]
)
def test_random_conversations_give_rasas_states(domain: Domain, patched: dict[str, Any]) -> None:
    @hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(_events(domain), min_size=1, max_size=25))
    def check(events: list[Event]) -> None:
        tracker = DialogueStateTracker("t", domain.slots)
        _check(domain, tracker, patched)  # empty
        for event in events:
            tracker.update(event, domain)
            _check(domain, tracker, patched)

    check()


def test_project_stories_and_rules_give_rasas_states(patched: dict[str, Any]) -> None:
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.core.training_data.structures import StoryGraph
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_config(
        str(ROOT / "config.yml"),
        str(ROOT / "bot" / "domain"),
        [str(ROOT / "data"), str(ROOT / "tests" / "test_stories.yml")],
    )
    graph: StoryGraph = importer.get_stories()
    trackers = TrainingDataGenerator(
        graph, PROJECT_DOMAIN, augmentation_factor=0, remove_duplicates=False
    ).generate()
    assert len(trackers) > 50
    for generated in trackers:
        tracker = DialogueStateTracker("t", PROJECT_DOMAIN.slots)
        for event in generated.events:
            tracker.update(event, PROJECT_DOMAIN)
            if isinstance(event, ActionExecuted):  # the points where Rasa predicts
                _check(PROJECT_DOMAIN, tracker, patched)


def test_a_bounded_tracker_that_drops_old_events_is_recomputed(patched: dict[str, Any]) -> None:
    domain = FEATURIZED_DOMAIN
    tracker = DialogueStateTracker("t", domain.slots, max_event_history=4)
    for i in range(12):
        tracker.update(UserUttered("hi", {"name": "greet", "confidence": 1.0}), domain)
        tracker.update(ActionExecuted("utter_greet" if i % 2 else "utter_bye"), domain)
        assert len(tracker.events) <= 4
        _check(domain, tracker, patched)


def test_event_types_resolve_as_rasa_resolves_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.shared.utils.common import all_subclasses

    original = Event.resolve_by_type
    monkeypatch.setattr(Event, "resolve_by_type", original)
    monkeypatch.setattr(Event, "_stackwise_type_table", False, raising=False)
    rasa_speedups.cache_event_type_lookup()
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert len(names) > 15
    for name in names:
        assert Event.resolve_by_type(name) is original(name)
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("nope", SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name 'nope'"):
        Event.resolve_by_type("nope")
    event = Event.from_parameters({"event": "slot", "name": "goal", "value": "nurse"})
    assert event == SlotSet("goal", "nurse")

    class LateEvent(SlotSet):  # defined after the table was built: found from now on
        type_name = "stackwise_late_event"

    assert Event.resolve_by_type("stackwise_late_event") is LateEvent

    class ShadowSlotSet(SlotSet):  # same type name, found later in the class tree: Rasa's wins
        pass

    assert Event.resolve_by_type("slot") is original("slot") is SlotSet

    # A new direct subclass of Event comes before Rasa's deeper classes in Rasa's order, so it
    # takes over "pause" (ConversationPaused derives from a mixin): the table must follow.
    assert Event.resolve_by_type("pause") is ConversationPaused

    class Pause(Event):
        type_name = "pause"

        def __eq__(self, other: Any) -> bool:
            return type(other) is type(self)

        def __hash__(self) -> int:
            return 0

        def as_story_string(self) -> str:
            return "pause"

    assert original("pause") is Pause
    assert Event.resolve_by_type("pause") is Pause

    # The test's classes leave the class tree again (it holds subclasses weakly) once nothing
    # else holds them: the speed-up's table goes with Rasa's lookup restored.
    monkeypatch.undo()
    del Pause, LateEvent, ShadowSlotSet
    gc.collect()
    assert original("pause") is ConversationPaused
