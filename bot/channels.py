"""The chat channels Rasa runs with: the web app's REST and socket.io channels
(bot/web/rest_channel.py, bot/web/socket_channel.py), plus a clear answer when a message cannot
be processed at all.

Rasa's channels log such a failure and answer nothing: over REST an empty list, over socket.io
no event, so the learner waits in silence. It happens when the conversation store is out of
reach (PostgreSQL or SQLite for the tracker store, Redis for the lock store) or on a bug. Here
the learner gets one bot message saying so (their earlier answers are stored and the message
can be sent again), and the log gets one line naming the store and the error. Nothing is
retried: Rasa reconnects on the next message (the tracker store's pool drops dead connections),
so the service recovers without a restart once the store is back.

A message that is processed but answered with nothing (Rasa's ``action_default_fallback`` without
an ``utter_default`` response, e.g. when a form rejects a repeated answer, or any action that
utters nothing) gets ``NO_REPLY_TEXT``: every user message gets at least one bot message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint

from bot.web.rest_channel import StackwiseRest
from bot.web.socket_channel import StackwiseSocketIO

logger = logging.getLogger(__name__)

STORE_DOWN_TEXT = (
    "I can't reach my conversation memory right now, so I couldn't take in that message. "
    "Please send it again in a minute; what you told me before is saved."
)
ERROR_TEXT = "Something went wrong on my side with that message. Please send it again in a minute."
NO_REPLY_TEXT = (
    "Sorry, I didn't get that. Could you say it another way? "
    'For example: "I know Excel" or "I want to be a data analyst".'
)


def store_outage(exc: BaseException) -> str | None:
    """Which store an exception says is out of reach (``None``: some other failure)."""
    from rasa.core.lock_store import LockError
    from sqlalchemy.exc import DBAPIError, OperationalError

    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis comes with Rasa
        RedisConnectionError = RedisTimeoutError = ()  # type: ignore[assignment,misc]  # noqa: N806

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OperationalError) or (
            isinstance(current, DBAPIError) and current.connection_invalidated
        ):
            return "conversation database (tracker store)"
        if isinstance(current, (RedisConnectionError, RedisTimeoutError, LockError)):
            return "Redis (lock store)"
        current = current.__cause__ or current.__context__
    return None


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def answering_failures(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
) -> Callable[[UserMessage], Awaitable[None]]:
    """``on_new_message`` that answers the learner itself when the message fails."""

    async def handle(message: UserMessage) -> None:
        channel = message.output_channel
        sent = 0
        send_response = channel.send_response

        async def counted(recipient_id: str, reply: dict[str, Any]) -> None:
            nonlocal sent
            sent += 1
            await send_response(recipient_id, reply)

        # Rasa's processor sends every bot message through send_response (per instance: one
        # output channel per message).
        channel.send_response = counted  # type: ignore[method-assign]
        try:
            await on_new_message(message)
            if not sent:
                logger.info("a message got no bot reply; answering with the default")
                await send_response(message.sender_id, {"text": NO_REPLY_TEXT})
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the learner and the log
            store = store_outage(exc)
            if store:
                # No conversation id in the log (privacy); the error names the store.
                logger.error(
                    "message not processed: the %s is unavailable (%s)", store, first_line(exc)
                )
            else:
                logger.exception("message not processed")
            try:
                await message.output_channel.send_text_message(
                    message.sender_id, STORE_DOWN_TEXT if store else ERROR_TEXT
                )
            except Exception:  # noqa: BLE001 - the client is gone; nothing more to do
                logger.warning("could not tell the learner that the message failed")

    return handle


class ResilientRest(StackwiseRest):
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return super().blueprint(answering_failures(on_new_message))


class ResilientSocketIO(StackwiseSocketIO):
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return super().blueprint(answering_failures(on_new_message))
