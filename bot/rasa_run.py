"""`python -m bot.rasa_run ARGS...`: `rasa ARGS...` with ``--auth-token`` taken from
``STACKWISE_RASA_TOKEN``.

``stackwise serve`` starts Rasa this way so that the HTTP API token never appears on a command
line, where every local user could read it (``ps``, ``/proc/<pid>/cmdline``).
"""

from __future__ import annotations

import sys

from knowledge.config import get_settings


def main() -> int:
    token = get_settings().security.rasa_token
    args = sys.argv[1:]
    if token and "--auth-token" not in args:
        args += ["--auth-token", token]
    sys.argv = ["rasa", *args]
    from rasa.__main__ import main as rasa_main

    from bot.rasa_patches import harden_http_server, strict_tracker_store

    strict_tracker_store()  # a tracker store error is an error, not an empty conversation
    harden_http_server()  # slow clients cut off, bad API bodies a clear 4xx

    from bot.rasa_speedups import (
        cache_action_response_validator,
        cache_event_type_lookup,
        memoize_applied_events,
        reuse_action_server_connections,
        share_prior_tracker_states,
        skip_idle_slot_mapping_actions,
        skip_log_argument_copies,
    )

    cache_action_response_validator()  # the constant response schema is checked once
    reuse_action_server_connections()  # one kept-alive HTTP session, not one per action call
    skip_idle_slot_mapping_actions()  # no HTTP call for a slot action that has nothing to do
    skip_log_argument_copies()  # no deep copies of values for debug lines nobody logs
    cache_event_type_lookup()  # an event's class from a table, not a walk of the class tree
    memoize_applied_events()  # a conversation's reverts and loops replayed once per change
    share_prior_tracker_states()  # its dialogue states replayed once per prediction, not per policy

    return rasa_main() or 0


if __name__ == "__main__":
    sys.exit(main())
