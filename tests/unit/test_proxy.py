"""bot/proxy.py against fake action servers and fake Rasa replicas (aiohttp servers on free
ports): failover, the graceful answer when no action server is up, exactly-once REST delivery
when a replica dies mid-message, socket.io stickiness, and the settings that feed it."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.endpoints import redis_lock_store, runtime_endpoints
from bot.proxy import (
    DELIVERY_KEY,
    FAILED_TEXT,
    UNAVAILABLE_TEXT,
    Backend,
    Pool,
    Proxy,
    replies_after,
)
from bot.supervisor import Child, Ports, Stack, free_port


async def serve(app: web.Application, port: int | None = None) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = port or free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


def action_server(
    name: str, calls: list[str], status: int = 200, die: bool = False
) -> web.Application:
    app = web.Application()

    async def webhook(request: web.Request) -> web.Response:
        await request.json()
        calls.append(name)
        if die:  # killed while running the action
            request.transport.close()
            await asyncio.sleep(1)
        if status != 200:
            return web.json_response({"error": "boom", "action_name": "x"}, status=status)
        return web.json_response(
            {"events": [{"event": "slot", "name": "s", "value": name}], "responses": []}
        )

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_post("/webhook", webhook)
    app.router.add_get("/health", health)
    return app


def action_call(message_id: str = "m1", sender: str = "alice") -> dict:
    return {
        "next_action": "action_recommend",
        "sender_id": sender,
        "tracker": {"sender_id": sender, "latest_message": {"message_id": message_id}},
        "version": "3.6.21",
    }


@pytest.fixture
async def proxy_with(request) -> AsyncIterator:
    """Factory: a Proxy over the given backend URLs, its action and Rasa fronts served."""
    made: list = []

    async def make(actions: list[str], rasa: list[str] | None = None):
        proxy = Proxy(actions, rasa or [])
        await proxy.start()
        a_runner, a_url = await serve(proxy.actions_app())
        made.extend([a_runner])
        r_url = None
        if rasa:
            r_runner, r_url = await serve(proxy.rasa_app())
            made.append(r_runner)
        made.append(proxy)
        return proxy, a_url, r_url

    yield make
    for thing in reversed(made):
        if isinstance(thing, Proxy):
            await thing.close()
        else:
            await thing.cleanup()


async def post(url: str, payload: dict, **kw) -> tuple[int, dict | list]:
    async with (
        aiohttp.ClientSession() as s,
        s.post(url, json=payload, timeout=aiohttp.ClientTimeout(total=30), **kw) as r,
    ):
        return r.status, await r.json(content_type=None)


async def test_actions_round_robin_and_failover(proxy_with):
    calls: list[str] = []
    one, url1 = await serve(action_server("one", calls))
    two, url2 = await serve(action_server("two", calls))
    proxy, front, _ = await proxy_with([url1, url2])
    for i in range(4):
        status, body = await post(f"{front}/webhook", action_call(f"m{i}"))
        assert status == 200 and body["events"][0]["event"] == "slot"
    assert sorted(calls) == ["one", "one", "two", "two"]
    await one.cleanup()  # killed: calls go to the other, none is lost
    calls.clear()
    for i in range(3):
        status, body = await post(f"{front}/webhook", action_call(f"n{i}"))
        assert status == 200 and body["events"][0]["value"] == "two"
    assert calls == ["two"] * 3
    assert not proxy.actions.backends[0].healthy
    await two.cleanup()


async def test_an_action_server_dying_during_a_call_is_not_called_twice(proxy_with):
    calls: list[str] = []
    dying, url1 = await serve(action_server("dying", calls, die=True))
    fine, url2 = await serve(action_server("fine", calls))
    proxy, front, _ = await proxy_with([url1, url2])
    proxy.actions._rr = iter(range(100))  # the first call goes to the first server
    status, body = await post(f"{front}/webhook", action_call("m0"))
    # The action may have written something: answered, not repeated elsewhere.
    assert status == 200 and body == {"events": [], "responses": [{"text": UNAVAILABLE_TEXT}]}
    assert calls == ["dying"]
    status, body = await post(f"{front}/webhook", action_call("m1"))
    assert body["events"][0]["value"] == "fine"  # marked down: the next call goes elsewhere
    await dying.cleanup()
    await fine.cleanup()


async def test_no_action_server_gives_the_message_once_per_turn(proxy_with):
    dead = f"http://127.0.0.1:{free_port()}"
    _proxy, front, _ = await proxy_with([dead])
    status, body = await post(f"{front}/webhook", action_call("turn-1"))
    assert status == 200
    assert body == {"events": [], "responses": [{"text": UNAVAILABLE_TEXT}]}
    # Another action in the same turn: no events, no second message.
    status, body = await post(f"{front}/webhook", action_call("turn-1"))
    assert body == {"events": [], "responses": []}
    # A slot-mapping action (Rasa drops its bot messages): not told there, but in the next call.
    mapping = action_call("turn-0") | {
        "next_action": "action_extract_skills",
        "domain": {
            "slots": {
                "skills": {"mappings": [{"type": "custom", "action": "action_extract_skills"}]}
            }
        },
    }
    assert (await post(f"{front}/webhook", mapping))[1] == {"events": [], "responses": []}
    assert (await post(f"{front}/webhook", action_call("turn-0")))[1]["responses"]
    # Next turn (and another conversation): told again.
    assert (await post(f"{front}/webhook", action_call("turn-2")))[1]["responses"]
    assert (await post(f"{front}/webhook", action_call("turn-1", "bob")))[1]["responses"]
    # Rasa may compress the call (deflate).
    raw = zlib.compress(json.dumps(action_call("turn-3")).encode())
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{front}/webhook",
            data=raw,
            headers={"Content-Type": "application/json", "Content-Encoding": "deflate"},
        ) as r,
    ):
        assert (await r.json())["responses"] == [{"text": UNAVAILABLE_TEXT}]
    async with aiohttp.ClientSession() as s, s.get(f"{front}/health") as r:
        assert (await r.json()) == {"status": "ok", "backends": 1, "healthy": 0}


async def test_action_errors_are_answered_and_rejections_pass_through(proxy_with):
    calls: list[str] = []
    broken, url = await serve(action_server("broken", calls, status=500))
    _proxy, front, _ = await proxy_with([url])
    status, body = await post(f"{front}/webhook", action_call())
    assert status == 200 and body == {"events": [], "responses": [{"text": FAILED_TEXT}]}
    await broken.cleanup()
    rejecting, url = await serve(action_server("rejecting", calls, status=400))
    _proxy, front, _ = await proxy_with([url])
    status, body = await post(f"{front}/webhook", action_call())
    assert status == 400 and body["action_name"] == "x"  # Rasa needs the rejection itself
    await rejecting.cleanup()


def rasa_replica(name: str, log: list, tracker: dict, *, die_on_message: bool = False):
    app = web.Application()

    async def rest(request: web.Request) -> web.StreamResponse:
        message = await request.json()
        log.append((name, message))
        if die_on_message:
            # Recorded, then the replica dies before it answers.
            tracker.setdefault(message["sender"], []).extend(
                [
                    {"event": "user", "text": message["message"], "metadata": message["metadata"]},
                    {"event": "bot", "text": "stored reply", "data": {"buttons": [{"t": 1}]}},
                ]
            )
            request.transport.close()
            await asyncio.sleep(1)
        return web.json_response([{"recipient_id": message["sender"], "text": f"from {name}"}])

    async def get_tracker(request: web.Request) -> web.Response:
        return web.json_response({"events": tracker.get(request.match_info["sid"], [])})

    async def hello(_request: web.Request) -> web.Response:
        return web.Response(text=f"Hello from {name}")

    async def engineio(request: web.Request) -> web.StreamResponse:
        log.append((name, request.query.get("sid")))
        if request.headers.get("Upgrade", "").lower() == "websocket":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for msg in ws:
                await ws.send_str(f"{name}:{msg.data}:{request.headers.get('Origin')}")
            return ws
        if "sid" not in request.query:
            return web.Response(text=f'0{{"sid":"sid-{name}","upgrades":["websocket"]}}')
        return web.Response(text=f"ok {name}")

    app.router.add_post("/webhooks/rest/webhook", rest)
    app.router.add_get("/conversations/{sid}/tracker", get_tracker)
    app.router.add_get("/", hello)
    app.router.add_route("*", "/socket.io/", engineio)
    return app


async def test_rest_message_is_delivered_exactly_once_when_a_replica_dies(proxy_with):
    log: list = []
    tracker: dict = {}
    a, url_a = await serve(rasa_replica("a", log, tracker, die_on_message=True))
    b, url_b = await serve(rasa_replica("b", log, tracker))
    proxy, _front, rasa = await proxy_with([url_b], [url_a, url_b])
    sender = next(f"s{i}" for i in range(100) if proxy.rasa.ordered(f"s{i}")[0].url == url_a)
    status, replies = await post(
        f"{rasa}/webhooks/rest/webhook", {"sender": sender, "message": "hi", "metadata": {"k": 1}}
    )
    # A recorded it before dying: the reply comes from the shared tracker, B never gets it.
    assert status == 200
    assert replies == [{"recipient_id": sender, "text": "stored reply", "buttons": [{"t": 1}]}]
    assert [who for who, _ in log] == ["a"]
    assert log[0][1]["metadata"]["k"] == 1 and DELIVERY_KEY in log[0][1]["metadata"]
    await a.cleanup()
    # A is gone (connection refused): delivered to B.
    status, replies = await post(
        f"{rasa}/webhooks/rest/webhook", {"sender": sender, "message": "2"}
    )
    assert replies == [{"recipient_id": sender, "text": "from b"}]
    assert [who for who, _ in log] == ["a", "b"]
    await b.cleanup()
    status, body = await post(f"{rasa}/webhooks/rest/webhook", {"sender": sender, "message": "3"})
    assert status == 503 and "no dialogue server is reachable" in body["error"]


async def test_an_oversize_rest_body_is_refused_by_the_proxy_as_the_replica_would(proxy_with):
    """413 with the channel's message, the replica never bothered and not marked down (a replica
    answering 413 early while the body was still being sent looked like one that died)."""
    from bot.web.guard import MAX_BODY

    log: list = []
    a, url_a = await serve(rasa_replica("a", log, {}))
    proxy, _front, rasa = await proxy_with([url_a], [url_a])
    async with aiohttp.ClientSession() as session:
        for body in (b"[" * 70_000, json.dumps({"sender": "s", "message": "x" * 70_000}).encode()):
            async with session.post(f"{rasa}/webhooks/rest/webhook", data=body) as resp:
                assert resp.status == 413
                assert await resp.json() == {
                    "error": f"request body is larger than {MAX_BODY} bytes"
                }

        # Without a length: read, then refused all the same.
        async def chunks():
            for _ in range(70):
                yield b"[" * 1000

        async with session.post(f"{rasa}/webhooks/rest/webhook", data=chunks()) as resp:
            assert resp.status == 413
    assert log == [] and all(b.healthy for b in proxy.rasa.backends)
    status, replies = await post(f"{rasa}/webhooks/rest/webhook", {"sender": "s", "message": "hi"})
    assert status == 200 and replies == [{"recipient_id": "s", "text": "from a"}]
    await a.cleanup()


async def test_replies_after_matches_the_delivery_id():
    events = [
        {"event": "user", "text": "x", "metadata": {DELIVERY_KEY: "d0"}},
        {"event": "bot", "text": "old"},
        {"event": "user", "text": "y", "metadata": {DELIVERY_KEY: "d1"}},
        {"event": "action", "name": "utter_x"},
        {"event": "bot", "text": "new", "data": {"custom": {"cards": []}, "image": None}},
        {"event": "bot", "data": {"custom": {"cards": [1]}}},
        {"event": "user", "text": "z", "metadata": {}},
        {"event": "bot", "text": "later"},
    ]
    assert replies_after(events, "s", "d1") == [
        {"recipient_id": "s", "text": "new", "custom": {"cards": []}},
        {"recipient_id": "s", "custom": {"cards": [1]}},
    ]
    assert replies_after(events, "s", "nope") is None


async def test_socketio_polling_is_sticky_and_websockets_are_relayed(proxy_with):
    log: list = []
    a, url_a = await serve(rasa_replica("a", log, {}))
    b, url_b = await serve(rasa_replica("b", log, {}))
    _proxy, _front, rasa = await proxy_with([url_a], [url_a, url_b])
    async with aiohttp.ClientSession() as s:
        sids = []
        for _ in range(4):  # handshakes spread over both replicas
            async with s.get(f"{rasa}/socket.io/?EIO=4&transport=polling") as r:
                sids.append(json.loads((await r.text())[1:])["sid"])
        assert set(sids) == {"sid-a", "sid-b"}
        log.clear()
        for sid in sids:  # each session stays on the replica that opened it
            async with s.get(f"{rasa}/socket.io/?EIO=4&transport=polling&sid={sid}") as r:
                assert await r.text() == f"ok {sid.removeprefix('sid-')}"
        async with s.get(f"{rasa}/socket.io/?EIO=4&transport=polling&sid=unknown") as r:
            assert r.status == 400  # Engine.IO's "unknown session": the client reconnects
        async with s.ws_connect(
            f"{rasa.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket&sid=sid-b",
            headers={"Origin": "https://college.example"},
        ) as ws:
            await ws.send_str("2probe")
            assert (await ws.receive_str()) == "b:2probe:https://college.example"
    await a.cleanup()
    await b.cleanup()


async def test_pool_order_is_sticky_by_key_and_skips_unhealthy_backends():
    pool = Pool("x", [Backend("http://a"), Backend("http://b"), Backend("http://c")], "/")
    first = pool.ordered("conversation-1")[0]
    assert all(pool.ordered("conversation-1")[0] is first for _ in range(5))
    pool.mark(first, False)
    order = pool.ordered("conversation-1")
    assert order[0] is not first and order[-1] is first  # still tried, last
    assert {pool.ordered()[0].url for _ in range(6)} == {"http://b", "http://c", "http://a"} - {
        first.url
    }


def test_lock_store_from_url(settings):
    assert redis_lock_store("redis://127.0.0.1:6379/3?key_prefix=stackwise") == {
        "type": "bot.lock_store.StackwiseLockStore",
        "url": "127.0.0.1",
        "port": 6379,
        "db": 3,
        "use_ssl": False,
        "key_prefix": "stackwise",
    }
    assert redis_lock_store("rediss://:s%40cret@cache")["password"] == "s@cret"
    for bad in ("postgresql://x/1", "redis://host/notanumber", "redis://h/0?key_prefix=a-b"):
        with pytest.raises(ValueError, match="STACKWISE_LOCK_STORE_URL"):
            redis_lock_store(bad)
    embedded = runtime_endpoints(settings, "http://127.0.0.1:1/webhook")["lock_store"]
    assert embedded == {
        "type": "bot.lock_store.MachineLockStore",
        "directory": str(settings.var_dir / "run" / "locks"),
    }
    import dataclasses

    scaled = dataclasses.replace(
        settings,
        scaling=dataclasses.replace(settings.scaling, lock_store_url="redis://127.0.0.1:6379/2"),
    )
    endpoints = runtime_endpoints(scaled, "http://127.0.0.1:1/webhook")
    assert endpoints["lock_store"]["db"] == 2 and endpoints["lock_store"]["lease_s"] == 10
    # Rasa builds it from the endpoints file (a custom class gets the whole endpoint config).
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    from bot.lock_store import StackwiseLockStore

    store = LockStore.create(EndpointConfig.from_dict(endpoints["lock_store"]))
    assert isinstance(store, StackwiseLockStore) and store.lease_s == 10
    assert store.red.connection_pool.connection_kwargs["db"] == 2
    assert endpoints["action_endpoint"]["url"] == "http://127.0.0.1:1/webhook"


def test_supervise_restarts_with_backoff(settings, tmp_path):
    stack = Stack(settings, Ports(free_port(), free_port(), free_port()), tmp_path)
    tmp_path.mkdir(exist_ok=True)
    import sys

    stack.children["flaky"] = Child([sys.executable, "-c", "raise SystemExit(3)"], {}, "", "flaky")
    stack._popen("flaky", now=0.0)
    stack.procs["flaky"].wait()
    assert stack.supervise(now=100.0) == [
        f"flaky exited with code 3; restarting it in 1s (log: {tmp_path / 'flaky.log'})"
    ]
    assert stack.supervise(now=100.5) == []  # waiting
    assert stack.supervise(now=101.0) == ["flaky restarted"]
    stack.procs["flaky"].wait()
    # Died again right away: the wait doubles.
    assert "restarting it in 2s" in stack.supervise(now=101.5)[0]
    assert stack.supervise(now=103.5) == ["flaky restarted"]
    stack.procs["flaky"].wait()
    assert "in 4s" in stack.supervise(now=104.0)[0]
    stack.stop()


def test_a_new_conversation_goes_to_the_least_busy_replica_and_stays_there():
    proxy = Proxy([], ["http://a", "http://b"])
    a, b = proxy.rasa.backends
    a.inflight, b.inflight = 3, 1
    assert proxy.rest_backends("new-1")[0] is b  # least busy when the conversation starts
    a.inflight, b.inflight = 0, 5
    assert proxy.rest_backends("new-1") == [b, a]  # then sticky, however busy
    assert proxy.rest_backends("new-2")[0] is a
    b.healthy = False  # its replica is down: it moves, for good
    assert proxy.rest_backends("new-1")[0] is a
    b.healthy = True
    assert proxy.rest_backends("new-1")[0] is a
    # Equally busy: the hash of the sender decides, as before.
    a.inflight = b.inflight = 0
    for i in range(20):
        sender = f"s{i}"
        assert proxy.rest_backends(sender)[0] is proxy.rasa.ordered(sender)[0]
