"""Rasa lock stores: Redis with leases for replicas on several machines (``StackwiseLockStore``),
and lock files for the Rasa processes of one machine (``MachineLockStore``, at the end).

Rasa serializes the messages of one conversation with a ticket lock: each message takes a
numbered ticket and waits until its number is the first one left. Tickets expire, so that a
replica that dies holding one does not block the conversation forever. Rasa 3.6's
``RedisLockStore`` gets this wrong in two ways that matter once replicas die:

- a waiting ticket expires on the same clock as the held one (``TICKET_LOCK_LIFETIME`` after it
  was issued). When a dead replica's ticket expires, the retried message's ticket, issued just
  after it, is usually gone by the next poll as well; the lock then has no tickets, its "now
  serving" number reads as 0, and the message waits forever;
- each change is a read-modify-write of one Redis value with no transaction, so two replicas
  changing a conversation's lock at once can drop a ticket.

Here a ticket is a lease: the process holding or waiting on it renews it every third of
``lease_s`` (``STACKWISE_LOCK_LIFETIME``), so only the ticket of a process that is gone expires,
``lease_s`` after its last renewal, however long a turn takes; a ticket found missing is taken
again at the end of the line; and every change is a Redis transaction (WATCH/MULTI, retried on
conflict). Configured by ``bot/endpoints.py`` as ``type: bot.lock_store.StackwiseLockStore``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_LEASE_S = 10.0
POLL_S = 0.2
MACHINE_LOCK_POLL_MAX_S = 0.05


def _first(lock: TicketLock) -> int | None:
    lock.remove_expired_tickets()
    return lock.tickets[0].number if lock.tickets else None


class StackwiseLockStore(RedisLockStore):
    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        **kwargs: Any,
    ) -> None:
        if endpoint_config is not None:  # how Rasa creates a lock store named by module path
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs, **kwargs}
            lease_s = kwargs.pop("lease_s", lease_s)
        super().__init__(**kwargs)
        self.lease_s = float(lease_s)

    # -- one transaction per change ------------------------------------------------------------
    def _change(self, conversation_id: str, change: Callable[[TicketLock], T]) -> T:
        """Apply ``change`` to the conversation's lock atomically; an empty lock is deleted."""
        import redis

        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = (
                        TicketLock.from_dict(json.loads(raw))
                        if raw
                        else TicketLock(conversation_id)
                    )
                    result = change(lock)
                    lock.remove_expired_tickets()
                    pipe.multi()
                    if lock.tickets:
                        pipe.set(key, lock.dumps())
                    else:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self._change(conversation_id, lambda lock: lock.issue_ticket(self.lease_s))

    def _renew(self, conversation_id: str, ticket: int) -> tuple[bool, int | None]:
        """Renew the lease of ``ticket``; (still there, number now served)."""

        def renew(lock: TicketLock) -> tuple[bool, int | None]:
            lock.remove_expired_tickets()
            mine = next((t for t in lock.tickets if t.number == ticket), None)
            if mine is not None:
                mine.expires = time.time() + self.lease_s
            return mine is not None, _first(lock)

        return self._change(conversation_id, renew)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        self.finish_serving(conversation_id, ticket_number)  # an empty lock is deleted

    def update_lock(self, conversation_id: str) -> None:
        self._change(conversation_id, lambda lock: None)

    # -- waiting and holding -------------------------------------------------------------------
    async def _wait_turn(self, conversation_id: str, held: list[int]) -> None:
        """Wait until ticket ``held[0]`` is served (renewing it); ``held[0]`` is updated if
        the ticket had to be taken again."""
        waited_since = time.monotonic()
        while True:
            present, serving = self._renew(conversation_id, held[0])
            if not present:
                # Lost while waiting (this process stalled past the lease): back in line.
                logger.warning("conversation lock ticket lost while waiting; queueing again")
                held[0] = self.issue_ticket(conversation_id)
                continue
            if serving == held[0]:
                waited = time.monotonic() - waited_since
                if waited > 1:
                    logger.info("conversation lock acquired after %.1fs", waited)
                return
            await asyncio.sleep(POLL_S)

    async def _keep(self, conversation_id: str, ticket: int) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                present, _ = self._renew(conversation_id, ticket)
            except Exception:  # noqa: BLE001 - Redis away: the lease runs out, others go on
                logger.warning("could not renew a conversation lock", exc_info=True)
                continue
            if not present:
                logger.warning("conversation lock expired while held (lease %.0fs)", self.lease_s)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_S,
    ) -> AsyncGenerator[TicketLock, None]:
        held = [self.issue_ticket(conversation_id)]
        try:
            await self._wait_turn(conversation_id, held)
            keeper = asyncio.create_task(self._keep(conversation_id, held[0]))
            try:
                yield self.get_lock(conversation_id) or TicketLock(conversation_id)
            finally:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper
        finally:
            self.finish_serving(conversation_id, held[0])


class MachineLockStore(InMemoryLockStore):
    """Conversation locks for the Rasa processes of one machine (the embedded stack's replicas).

    Within a process, Rasa's in-memory ticket lock keeps a conversation's messages in arrival
    order. Across processes, the holder also takes ``flock(2)`` on one of ``stripes`` lock files
    (chosen by a hash of the conversation id). The kernel releases it when the process exits,
    however it exits, so a crashed replica never leaves a conversation locked. Two conversations
    that share a stripe only wait for each other, and only while both are being answered.
    The proxy sends a conversation to one replica, so this lock matters only when a replica
    stops or comes back while that conversation has a message in flight.
    ``type: bot.lock_store.MachineLockStore`` with ``directory:`` (bot/endpoints.py).
    """

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        directory: str | Path | None = None,
        stripes: int = 1024,
    ) -> None:
        super().__init__()
        options = dict(endpoint_config.kwargs) if endpoint_config is not None else {}
        directory = options.get("directory", directory)
        if directory is None:
            raise ValueError("MachineLockStore needs a directory for its lock files")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.stripes = max(1, int(options.get("stripes", stripes)))

    def path_for(self, conversation_id: str) -> Path:
        digest = hashlib.sha256(conversation_id.encode("utf-8")).digest()
        return self.directory / f"{int.from_bytes(digest[:4], 'big') % self.stripes:04d}.lock"

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        # Rasa polls a held ticket lock every ``wait_time_in_seconds`` (1 s): a message sent
        # while the previous turn is still being answered (socket.io: the first bubble is out,
        # the rest is coming) then waited up to a second. Waiting is rare and a poll is cheap.
        poll = min(wait_time_in_seconds, MACHINE_LOCK_POLL_MAX_S)
        async with super().lock(conversation_id, lock_lifetime, poll) as ticket:
            # A new open file description per holder: flock excludes it from every other one,
            # in this process or another.
            fd = os.open(self.path_for(conversation_id), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                delay = 0.002
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, MACHINE_LOCK_POLL_MAX_S)
                yield ticket
            finally:
                os.close(fd)  # releases the flock
