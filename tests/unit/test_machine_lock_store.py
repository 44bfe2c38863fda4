"""MachineLockStore (bot/lock_store.py): one message per conversation at a time across the Rasa
processes of one machine, in arrival order within a process, and never held by a dead process."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import MachineLockStore


def _hold(directory: str, conversation: str, ready, seconds: float) -> None:
    async def main() -> None:
        store = MachineLockStore(directory=directory)
        async with store.lock(conversation):
            ready.set()
            await asyncio.sleep(seconds)

    asyncio.run(main())


def _child(directory: Path, conversation: str, seconds: float):
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=_hold, args=(str(directory), conversation, ready, seconds))
    proc.start()
    assert ready.wait(10), "the other process never got the lock"
    return proc


async def _time_to_lock(store: MachineLockStore, conversation: str) -> float:
    started = time.perf_counter()
    async with store.lock(conversation):
        return time.perf_counter() - started


def test_rasa_builds_it_from_the_endpoints_file(tmp_path):
    store = LockStore.create(
        EndpointConfig.from_dict(
            {"type": "bot.lock_store.MachineLockStore", "directory": str(tmp_path / "locks")}
        )
    )
    assert isinstance(store, MachineLockStore) and (tmp_path / "locks").is_dir()


def test_another_process_holding_the_conversation_makes_this_one_wait(tmp_path):
    store = MachineLockStore(directory=tmp_path)
    proc = _child(tmp_path, "conv-1", 0.6)
    try:
        other = next(
            f"conv-{i}"
            for i in range(2, 99)
            if store.path_for(f"conv-{i}") != store.path_for("conv-1")
        )
        assert asyncio.run(_time_to_lock(store, other)) < 0.3  # another conversation: no wait
        waited = asyncio.run(_time_to_lock(store, "conv-1"))
        assert waited >= 0.2  # it waited for the other process's turn to end
    finally:
        proc.join(10)


def test_a_killed_holder_releases_the_conversation_at_once(tmp_path):
    store = MachineLockStore(directory=tmp_path)
    proc = _child(tmp_path, "conv-1", 60)
    os.kill(proc.pid, signal.SIGKILL)  # dies holding the lock: no cleanup code runs
    proc.join(10)
    assert asyncio.run(_time_to_lock(store, "conv-1")) < 1.0


def test_messages_of_one_conversation_run_one_at_a_time_in_arrival_order(tmp_path):
    store = MachineLockStore(directory=tmp_path, stripes=1)  # every conversation on one file
    events: list[str] = []

    async def message(conversation: str, n: int) -> None:
        async with store.lock(conversation):
            events.append(f"{conversation}:{n}:start")
            await asyncio.sleep(0.01)
            events.append(f"{conversation}:{n}:end")

    async def main() -> None:
        tasks = []
        for n in range(5):
            tasks.append(asyncio.create_task(message("a", n)))
            tasks.append(asyncio.create_task(message("b", n)))
            await asyncio.sleep(0)  # arrival order: a0, b0, a1, b1, ...
        await asyncio.gather(*tasks)

    asyncio.run(main())
    # Never two holders at once (one lock file for all), each conversation in arrival order.
    for i in range(0, len(events), 2):
        assert events[i].endswith(":start") and events[i + 1] == events[i][:-5] + "end"
    for conv in ("a", "b"):
        order = [int(e.split(":")[1]) for e in events if e.startswith(conv) and e.endswith("start")]
        assert order == sorted(order) == list(range(5))


def test_stripes_are_stable_across_processes(tmp_path):
    a = MachineLockStore(directory=tmp_path)
    b = MachineLockStore(directory=tmp_path)
    ids = [f"sender-{i}" for i in range(200)]
    assert [a.path_for(i) for i in ids] == [b.path_for(i) for i in ids]
    assert len({a.path_for(i) for i in ids}) > 150  # spread over the 1024 files


def test_a_waiting_message_gets_the_lock_soon_after_it_is_released(tmp_path):
    """Rasa's ticket lock polls every second by default; a message sent while the previous turn
    is still running (socket.io) must not wait that long after the turn ends."""
    store = MachineLockStore(directory=tmp_path)

    async def main() -> float:
        released = asyncio.Event()
        done_at: list[float] = []

        async def first() -> None:
            async with store.lock("c"):
                await asyncio.sleep(0.1)
                done_at.append(time.perf_counter())
            released.set()

        async def second() -> float:
            await asyncio.sleep(0.01)  # arrives while the first turn runs
            async with store.lock("c"):
                return time.perf_counter() - done_at[0]

        _, delay = await asyncio.gather(first(), second())
        return delay

    assert asyncio.run(main()) < 0.2
