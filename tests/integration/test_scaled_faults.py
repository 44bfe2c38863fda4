"""The scaled stack (`stackwise serve --scaled`: 2 Rasa replicas and 2 action servers behind
bot/proxy.py, tracker store and knowledge + operational DBs on PostgreSQL, lock store on Redis)
under faults:

- an action server killed mid-conversation: the other one answers; both killed: the learner gets
  the proxy's "restarting" message; restarted: the conversation resumes with its slots;
- the database briefly unavailable (a forwarder between the stack and PostgreSQL is cut): clear
  errors, no hang, and recovery without a restart;
- a Rasa replica killed during a message: the conversation continues on the other replica and
  its events are neither lost nor duplicated;
- a corrupt or mismatched index: the action server refuses to start with a clear error.

The real PostgreSQL and Redis are required (never skipped): databases
``stackwise_scaled_<random>_*`` and keys ``swtest<random>*`` in Redis db 11
(``STACKWISE_TEST_REDIS_URL``) are removed afterwards. The stack starts once for the module
(about 2-3 minutes on 2 cores).
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.channels import STORE_DOWN_TEXT
from bot.proxy import UNAVAILABLE_TEXT
from bot.scaled import prepare
from bot.supervisor import Ports, Stack, free_port
from knowledge import index as kindex
from knowledge import tenants
from knowledge.config import Scaling
from tests.integration.chat import Chat
from tests.integration.faults import TcpForwarder
from tests.postgres import admin_engine

pytestmark = pytest.mark.integration

REDIS_URL = os.environ.get("STACKWISE_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
LOCK_LIFETIME_S = 8


@pytest.fixture(scope="module")
def pg_admin() -> Iterator[Engine]:
    with admin_engine() as engine:
        yield engine


@pytest.fixture(scope="module")
def db_link(pg_admin) -> Iterator[TcpForwarder]:
    """What the stack reaches PostgreSQL through."""
    with TcpForwarder(pg_admin.url.host or "127.0.0.1", pg_admin.url.port or 5432) as fwd:
        yield fwd


@pytest.fixture(scope="module")
def scaled(built, settings, pg_admin, db_link, tmp_path_factory) -> Iterator[Stack]:
    import redis

    tag = secrets.token_hex(4)
    names = {kind: f"stackwise_scaled_{tag}_{kind}" for kind in ("kb", "app", "tracker")}
    base = pg_admin.url.set(host="127.0.0.1", port=db_link.port)
    urls = {k: base.set(database=n).render_as_string(hide_password=False) for k, n in names.items()}
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required at {REDIS_URL}: {exc}", pytrace=False)
    scaled_settings = dataclasses.replace(
        settings,
        database_url=urls["kb"],
        app_database_url=urls["app"],
        tracker_store_url=urls["tracker"],
        scaling=Scaling(
            lock_store_url=f"{REDIS_URL}?key_prefix=swtest{tag}",
            lock_lifetime_s=LOCK_LIFETIME_S,
            rasa_replicas=2,
            action_servers=2,
        ),
    )
    stack = Stack.scaled(
        scaled_settings,
        Ports(rasa=free_port(), actions=free_port(), web=free_port()),
        tmp_path_factory.mktemp("scaled-logs"),  # kept after the run (pytest's basetemp)
    )
    with pytest.MonkeyPatch.context() as mp:
        # The test signs socket tokens with the stack's key.
        mp.setenv("STACKWISE_SECRET_KEY", os.environ.get("STACKWISE_SECRET_KEY") or tag * 8)
        try:
            prepare(scaled_settings, log=lambda _line: None)  # creates the DBs, builds into PG
            stack.start(timeout=480)
            yield stack
        finally:
            stack.stop()
            with pg_admin.connect() as conn:
                for name in names.values():
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :n AND pid <> pg_backend_pid()"
                        ),
                        {"n": name},
                    )
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            keys = redis.Redis.from_url(REDIS_URL)
            for key in keys.scan_iter(f"swtest{tag}*"):
                keys.delete(key)


def rasa_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.ports.rasa}"


def preferred_replica(sender: str, n: int = 2) -> str:
    """The replica the proxy sends this conversation to (bot.proxy.Pool.ordered)."""
    return f"rasa-{zlib.crc32(sender.encode()) % n + 1}"


def user_texts(tracker: dict) -> list[str]:
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


def test_scaled_stack_runs_two_of_each_behind_the_proxy(scaled):
    assert sorted(scaled.procs) == [
        "actions-1",
        "actions-2",
        "notify",  # the notification worker, a supervised child since the hand-off outbox
        "proxy",
        "rasa-1",
        "rasa-2",
        "web",
    ]
    assert not scaled.dead()
    health = httpx.get(f"http://127.0.0.1:{scaled.ports.actions}/health", timeout=10).json()
    assert health == {"status": "ok", "backends": 2, "healthy": 2}
    # Through the web app (which reaches Rasa through the proxy).
    r = httpx.post(
        f"http://127.0.0.1:{scaled.ports.web}/api/chat",
        json={
            "sender": "scaled-web-1",
            "message": "hi",
            "session_secret": tenants.session_secret("scaled-web-1"),
        },
        timeout=60,
    )
    assert r.status_code == 200 and r.json()["messages"], r.text


def test_action_servers_killed_then_restarted(scaled):
    chat = Chat(rasa_url(scaled))
    reply = chat.say("I know Python and SQL and want to be a data analyst under $300")
    assert chat.cards() and "up to $300" in reply, chat.dump()  # answered first, in this turn

    scaled.kill("actions-1")  # SIGKILL, mid-conversation: the other server answers
    reply = chat.say("about 5 hours a week")
    assert reply and UNAVAILABLE_TEXT not in reply, chat.dump()
    before = chat.tracker()["slots"]
    assert before["weekly_hours"] and before["budget"] == "300" and "Python" in before["skills"]

    scaled.kill("actions-2")  # none left: a graceful message, once, and nothing is lost
    reply = chat.say("online")
    assert reply.count(UNAVAILABLE_TEXT) == 1, chat.dump()
    during = chat.tracker()["slots"]
    assert {k: during[k] for k in ("skills", "goal_code", "budget", "weekly_hours")} == {
        k: before[k] for k in ("skills", "goal_code", "budget", "weekly_hours")
    }

    scaled.restart("actions-1", wait=180)
    scaled.restart("actions-2", wait=180)
    time.sleep(2)  # the proxy's health check sees them (every second)
    reply = chat.say("online")
    assert UNAVAILABLE_TEXT not in reply, chat.dump()
    after = chat.tracker()["slots"]
    assert after["format"] == "online", chat.dump()
    assert after["budget"] == "300" and "Python" in after["skills"]
    # The retried answer narrows the list with everything said before the outage.
    assert "Assuming up to $300, online" in reply and len(chat.cards()) == 3, chat.dump()


def socketio_exchange(stack: Stack, upgrade: bool) -> str:
    """One message over socket.io through the proxy, as the widget speaks it (Engine.IO v4):
    a WebSocket from the start, or (``upgrade``) a long-polling handshake upgraded to a
    WebSocket on the same session. Returns the bot's first text."""
    import asyncio

    import websockets

    from knowledge import tenants

    origin = f"http://127.0.0.1:{stack.ports.web}"
    session_id = f"scaled-sio-{secrets.token_hex(4)}"
    token = tenants.socket_token(origin, session_id, None)
    base = f"127.0.0.1:{stack.ports.rasa}/socket.io/?EIO=4&transport="

    async def receive(ws, prefix: str) -> str:
        while True:
            packet = await asyncio.wait_for(ws.recv(), 60)
            if packet == "2":  # Engine.IO ping
                await ws.send("3")
            elif packet.startswith(prefix):
                return packet

    async def go() -> str:
        url = f"ws://{base}websocket"
        if upgrade:
            opened = httpx.get(f"http://{base}polling", headers={"Origin": origin}, timeout=30)
            sid = json.loads(opened.text[1:])["sid"]
            url += f"&sid={sid}"
        async with websockets.connect(url, origin=origin) as ws:
            if upgrade:
                await ws.send("2probe")
                assert await receive(ws, "3probe")
                await ws.send("5")  # upgrade done: the session continues on the WebSocket
            else:
                assert (await receive(ws, "0")).startswith("0{")
            await ws.send("40" + json.dumps({"token": token}))
            assert (await receive(ws, "4")).startswith("40"), "handshake refused"
            await ws.send("42" + json.dumps(["session_request", {"session_id": session_id}]))
            await receive(ws, '42["session_confirm"')
            message = {"message": "hello", "session_id": session_id}
            await ws.send("42" + json.dumps(["user_uttered", message]))
            event = json.loads((await receive(ws, '42["bot_uttered"'))[2:])
            return event[1].get("text", "")

    return asyncio.run(go())


def socketio_polling_exchange(stack: Stack) -> str:
    """The same with python-socketio's client on long-polling only (each request carries the
    Engine.IO sid; the proxy must send them all to the replica that issued it)."""
    import asyncio

    import socketio

    from knowledge import tenants

    origin = f"http://127.0.0.1:{stack.ports.web}"
    session_id = f"scaled-sio-{secrets.token_hex(4)}"
    token = tenants.socket_token(origin, session_id, None)

    async def go() -> str:
        client = socketio.AsyncClient(reconnection=False)
        got: asyncio.Queue = asyncio.Queue()
        confirmed = asyncio.Event()
        client.on("session_confirm", lambda *_: confirmed.set())
        client.on("bot_uttered", lambda data: got.put_nowait(data))
        await client.connect(
            rasa_url(stack),
            headers={"Origin": origin},
            auth={"token": token},
            transports=["polling"],
            wait_timeout=20,
        )
        try:
            await client.emit("session_request", {"session_id": session_id})
            await asyncio.wait_for(confirmed.wait(), 20)
            await client.emit("user_uttered", {"message": "hello", "session_id": session_id})
            return (await asyncio.wait_for(got.get(), 60)).get("text", "")
        finally:
            await client.disconnect()

    return asyncio.run(go())


def test_socketio_through_the_proxy(scaled):
    assert socketio_polling_exchange(scaled)
    assert socketio_exchange(scaled, upgrade=False)
    assert socketio_exchange(scaled, upgrade=True)  # the polling session id routes the upgrade


def test_database_briefly_unavailable(scaled, db_link):
    chat = Chat(rasa_url(scaled))
    web = f"http://127.0.0.1:{scaled.ports.web}"
    config, tenant = f"{web}/api/widget-config", {"tenant": "example-community-college"}
    assert httpx.get(config, params=tenant, headers={"Origin": web}, timeout=30).status_code == 200
    chat.say("I know Excel and want to be a data analyst")
    slots = chat.tracker()["slots"]
    pids = {name: p.pid for name, p in scaled.procs.items()}

    db_link.cut()
    try:
        started = time.monotonic()
        reply = chat.say("my budget is $500")
        assert STORE_DOWN_TEXT in reply, chat.dump()
        assert time.monotonic() - started < 30  # an error, not a hang
        # The web app: what needs the database says so (503); search answers from memory.
        r = httpx.get(config, params=tenant, headers={"Origin": web}, timeout=30)
        assert r.status_code == 503 and "database" in r.json()["error"], r.text
        r = httpx.get(f"{web}/api/credentials/search", params={"q": "excel"}, timeout=30)
        assert r.status_code in (200, 503) and r.json(), r.text
    finally:
        db_link.restore()

    # Recovered without a restart: same processes, the message goes through, slots kept.
    reply = chat.say("my budget is $500")
    assert STORE_DOWN_TEXT not in reply and "up to $500" in reply and chat.cards(), chat.dump()
    now = chat.tracker()["slots"]
    assert now["budget"] == "500" and now["skills"] == slots["skills"]
    assert user_texts(chat.tracker()).count("my budget is $500") == 1  # the failed one: not stored
    r = httpx.get(f"{web}/api/credentials/search", params={"q": "excel"}, timeout=30)
    assert r.status_code == 200 and r.json()["results"], r.text
    r = httpx.get(config, params=tenant, headers={"Origin": web}, timeout=30)
    assert r.status_code == 200, r.text
    assert {name: p.pid for name, p in scaled.procs.items()} == pids
    assert not scaled.dead()


def test_rasa_replica_killed_during_a_message(scaled):
    chat = Chat(rasa_url(scaled))
    victim = preferred_replica(chat.sender)
    chat.say("hi")
    chat.say("I've done Excel for years and a bit of SQL")
    before = chat.tracker()["events"]

    answer: dict = {}

    def send() -> None:
        try:
            answer["reply"] = chat.say("I want to become a data analyst")
        except Exception as exc:  # noqa: BLE001 - asserted below
            answer["error"] = exc

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.3)
    scaled.kill(victim)  # SIGKILL while it handles the message
    sender.join(120)
    assert "error" not in answer and answer.get("reply"), (answer, chat.dump())

    reply = chat.say("my budget is $500")  # on the surviving replica
    assert reply, chat.dump()
    after = chat.tracker()
    assert after["events"][: len(before)] == before  # nothing lost
    assert user_texts(after) == [
        "hi",
        "I've done Excel for years and a bit of SQL",
        "I want to become a data analyst",
        "my budget is $500",
    ]  # nothing duplicated
    ids = [e["message_id"] for e in after["events"] if e["event"] == "user"]
    assert len(set(ids)) == len(ids)
    assert after["slots"]["budget"] == "500" and after["slots"]["goal_code"], chat.dump()
    assert scaled.dead() == [victim]


def run_action_server(index_dir, settings) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        STACKWISE_INDEX_DIR=str(index_dir),
        STACKWISE_VAR_DIR=str(settings.var_dir),
        STACKWISE_DATABASE_URL=settings.database_url,
    )
    return subprocess.run(
        [sys.executable, "-m", "bot.action_server", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_corrupt_or_mismatched_index_is_refused(built, settings, tmp_path):
    corrupt = tmp_path / "corrupt"
    shutil.copytree(settings.index_dir, corrupt)
    data = bytearray((corrupt / kindex.INDEX_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit in the vectors: still a readable index
    (corrupt / kindex.INDEX_FILE).write_bytes(bytes(data))
    done = run_action_server(corrupt, settings)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "refusing to start the action server" in done.stderr and "corrupt" in done.stderr

    stale = tmp_path / "stale"
    shutil.copytree(settings.index_dir, stale)
    meta = json.loads((stale / kindex.META_FILE).read_text())
    (stale / kindex.META_FILE).write_text(json.dumps(meta | {"fingerprint": "another-catalog"}))
    done = run_action_server(stale, settings)
    assert done.returncode == 2 and "is stale" in done.stderr, done.stderr[-2000:]

    # `stackwise serve` stops at start-up and says why.
    stack = Stack(
        dataclasses.replace(settings, index_dir=corrupt),
        Ports(rasa=free_port(), actions=free_port(), web=free_port()),
        tmp_path / "logs",
    )
    with pytest.raises(RuntimeError, match="action server exited with code 2.*corrupt"):
        stack.start(timeout=180)
    assert stack.procs == {}
