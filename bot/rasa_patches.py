"""Changes to Rasa 3.6's behaviour when the conversation database fails, applied by
``bot/rasa_run.py`` before Rasa starts.

Rasa wraps every tracker store in ``FailSafeTrackerStore``: when reading a conversation fails it
logs the error and carries on with an empty tracker, and when saving fails it keeps the turn in
the process's memory. The learner then gets the greeting of a new conversation in the middle of
theirs, the turn exists only in one replica's memory, and a later save can write a fresh session
into the stored one. With ``strict_tracker_store`` the error is raised instead; the channels
(``bot/channels.py``) answer the learner that the message could not be taken in, and nothing is
stored for that turn.

A plain SQL tracker store's engine is also made to test pooled connections before use
(``pool_pre_ping``), so the first message after the database comes back does not fail on a
connection the outage closed (``StackwiseTrackerStore`` builds its engine that way itself).
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def _raise(error: Exception) -> None:
    raise error


def strict_tracker_store() -> None:
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore

    from bot.tracker_store import StackwiseTrackerStore

    if getattr(Agent, "_stackwise_strict", False):
        return
    create = Agent._create_tracker_store

    def create_strict(store, domain):
        failsafe = create(store, domain)
        if isinstance(failsafe, FailSafeTrackerStore):
            failsafe._on_tracker_store_error = _raise  # instead of "log and fall back"
        # StackwiseTrackerStore makes its own engine, pre-ping included.
        if isinstance(store, SQLTrackerStore) and not isinstance(store, StackwiseTrackerStore):
            ping_before_use(store)
        return failsafe

    Agent._create_tracker_store = staticmethod(create_strict)
    Agent._stackwise_strict = True


def ping_before_use(store) -> None:
    """Recreate the store's engine with ``pool_pre_ping`` (Rasa passes no such option)."""
    from bot.tracker_store import pinged_engine, replace_engine

    replace_engine(store, pinged_engine(store.engine.url.render_as_string(hide_password=False)))


# --- the HTTP server: slow clients, malformed heads, bad API bodies -------------------------

# Rasa's API routes that read a JSON body, and the type of each field they read without checking
# (Rasa answers 500 to a body that is not JSON, a list, `null` or `{"text": 5}`).
_STR, _LIST_OR_DICT, _DICT, _NUM = (str,), (list, dict), (dict,), (int, float)
_API_BODIES: dict[str, dict[str, tuple[type, ...]]] = {
    "/model/parse": {"text": _STR, "message_id": _STR},
    "/trigger_intent": {"name": _STR, "entities": _LIST_OR_DICT},
    "/execute": {"name": _STR, "policy": _STR, "confidence": _NUM},
    "/messages": {"text": _STR, "sender": _STR, "parse_data": _DICT},
}
_REQUIRED = {"/model/parse": "text", "/trigger_intent": "name", "/execute": "name"}


def _api_error(status: int, reason: str, message: str):
    """Rasa's own error shape (``rasa.server.ErrorResponse``), without internals."""
    import rasa
    from sanic import response

    body = {
        "version": rasa.__version__,
        "status": "failure",
        "message": message,
        "reason": reason,
        "details": {},
        "help": None,
        "code": status,
    }
    return response.json(body, status=status)


def check_api_request(request, intents: frozenset[str] | None):  # type: ignore[no-untyped-def]
    """A 4xx for a body that Rasa's HTTP API would answer with a 500 (or a 404 quoting a Python
    function), else None. Strict JSON: NaN and Infinity are refused too."""
    from bot.web.guard import strict_loads

    path = request.path
    kind = next(
        (
            k
            for k in _API_BODIES
            if path == k or (path.startswith("/conversations/") and path.endswith(k))
        ),
        None,
    )
    events = path.startswith("/conversations/") and path.endswith("/tracker/events")
    if request.method not in ("POST", "PUT") or (kind is None and not events):
        return None
    try:
        data = strict_loads(request.body or b"")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _api_error(400, "BadRequest", "the request body must be valid JSON")
    if events:
        items = data if isinstance(data, list) else [data]
        if (request.method == "PUT" and not isinstance(data, list)) or not all(
            isinstance(e, dict) and isinstance(e.get("event"), str) for e in items
        ):
            return _api_error(400, "BadRequest", "events must be JSON objects with an 'event' name")
        return None
    if not isinstance(data, dict):
        return _api_error(400, "BadRequest", "the request body must be a JSON object")
    for field, types in _API_BODIES[kind].items():
        value = data.get(field)
        if value is None and _REQUIRED.get(kind) != field:
            continue
        if not isinstance(value, types) or isinstance(value, bool):
            return _api_error(400, "BadRequest", f"'{field}' must be a {types[0].__name__}")
    if kind == "/trigger_intent" and intents is not None and data["name"] not in intents:
        return _api_error(404, "NotFound", "this intent does not exist in the domain")
    return None


def harden_http_server() -> None:
    """Rasa's Sanic app gets the web app's timeouts and head checks (``bot.web.hardening``) and
    the API body checks of :func:`check_api_request`. Wraps ``rasa.core.run.configure_app``."""
    import rasa.core.run

    from bot.web.guard import MAX_BODY
    from bot.web.hardening import harden

    if getattr(rasa.core.run, "_stackwise_hardened", False):
        return
    configure = rasa.core.run.configure_app

    def configure_hardened(*args, **kwargs):  # type: ignore[no-untyped-def]
        app = harden(configure(*args, **kwargs))

        @app.middleware("request")
        async def _check_api(request):  # type: ignore[no-untyped-def]
            if request.path.startswith("/socket.io") and len(request.body or b"") > MAX_BODY:
                # Refused before engine.io reads it (it would hold, then fail, the session).
                return _api_error(413, "PayloadTooLarge", f"socket.io frame over {MAX_BODY} bytes")
            agent = getattr(app.ctx, "agent", None)
            domain = getattr(agent, "domain", None)
            intents = frozenset(domain.intents) if domain is not None else None
            return check_api_request(request, intents)

        return app

    rasa.core.run.configure_app = configure_hardened
    rasa.core.run._stackwise_hardened = True
