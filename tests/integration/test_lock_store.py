"""bot/lock_store.py against the real Redis: a dead holder's lock lapses after the lease, a live
holder keeps it however long it takes, and two "replicas" never hold one conversation at once.

Keys ``swlock<random>*`` in Redis db 11 (``STACKWISE_TEST_REDIS_URL``), removed afterwards."""

from __future__ import annotations

import asyncio
import os
import secrets
import time

import pytest

from bot.endpoints import redis_lock_store
from bot.lock_store import StackwiseLockStore

pytestmark = pytest.mark.integration

REDIS_URL = os.environ.get("STACKWISE_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


@pytest.fixture
def make_store():
    import redis

    prefix = f"swlock{secrets.token_hex(4)}"
    settings = {k: v for k, v in redis_lock_store(REDIS_URL).items() if k != "type"}
    settings["host"] = settings.pop("url")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required at {REDIS_URL}: {exc}", pytrace=False)

    def make(lease_s: float) -> StackwiseLockStore:
        return StackwiseLockStore(key_prefix=prefix, lease_s=lease_s, **settings)

    yield make
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


async def test_a_dead_holders_lock_lapses_after_the_lease(make_store):
    dead, alive = make_store(1.0), make_store(1.0)
    dead.issue_ticket("c1")  # taken by a replica that then died: never renewed or returned
    started = time.monotonic()
    async with alive.lock("c1"):
        waited = time.monotonic() - started
    assert 0.8 < waited < 3.0
    assert alive.get_lock("c1") is None  # returned and deleted


async def test_a_live_holder_keeps_the_lock_past_the_lease(make_store):
    one, two = make_store(0.6), make_store(0.6)
    order: list[str] = []

    async def slow() -> None:
        async with one.lock("c2"):
            order.append("slow in")
            await asyncio.sleep(2.0)  # more than three leases
            order.append("slow out")

    async def waiting() -> None:
        await asyncio.sleep(0.2)
        async with two.lock("c2"):
            order.append("second in")

    await asyncio.gather(slow(), waiting())
    assert order == ["slow in", "slow out", "second in"]


async def test_two_replicas_never_hold_a_conversation_at_once(make_store):
    replicas = [make_store(5.0), make_store(5.0)]
    inside = 0
    most = 0
    served: list[int] = []

    async def message(i: int) -> None:
        nonlocal inside, most
        async with replicas[i % 2].lock("c3"):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            served.append(i)
            inside -= 1

    await asyncio.gather(*(message(i) for i in range(16)))
    assert most == 1 and sorted(served) == list(range(16))
