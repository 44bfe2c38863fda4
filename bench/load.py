"""Load test: N concurrent scripted advising conversations against the real stack, with stock
``rasa init`` (moodbot) measured in the same run as the reference.

`python -m bench.load` (part of `make bench`):

1. cold start: starts actions + Rasa + web on free ports (model and knowledge DB already built)
   and times how long until all three answer; reports each process's resident memory;
2. REST: for each concurrency level (8 and 64 by default), virtual users run the advising script
   below over ``POST /webhooks/rest/webhook``, each conversation with a fresh sender id, for a
   fixed time; every request's latency is recorded;
3. socket.io: the same script through the web widget's path (``/api/widget-config`` token, then
   socket.io ``user_uttered``); latency is time to the first ``bot_uttered`` of each turn;
4. moodbot: ``rasa init --no-prompt`` into var/bench/moodbot (trained once, then reused), served
   by ``rasa run``, driven by the same generator with moodbot's own script.

Results: bench/results/load.json (targets: 8 concurrent -> 0 errors, p95 <= 250 ms, >= 40 msg/s;
64 concurrent -> 0 errors; cold start <= 30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MOODBOT_DIR = ROOT / "var" / "bench" / "moodbot"

ADVISING_SCRIPT = [
    "hi",
    "I know Excel, customer service and a bit of SQL",
    "I want to become a data analyst",
    "under $500",
    "10 hours a week",
    "online",
    "some college",
    "does the first one count toward a degree?",
    "do employers recognize it?",
    "thanks, bye",
]
MOODBOT_SCRIPT = ["hello", "I am feeling very sad", "yes", "great, thanks", "bye"]

TARGET_P95_MS = 250.0
TARGET_THROUGHPUT = 40.0
TARGET_COLD_START_S = 30.0


@dataclass
class LoadResult:
    name: str
    channel: str
    concurrency: int
    seconds: float
    messages: int = 0
    errors: int = 0
    empty_replies: int = 0
    conversations: int = 0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    error_samples: list[str] = field(default_factory=list)
    # CPU milliseconds per answered message, per server process (robust on a shared machine).
    cpu_ms_per_message: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float | None:
            if not lat:
                return None
            return round(lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))], 1)

        out = {k: v for k, v in asdict(self).items() if k != "latencies_ms"}
        out.update(
            p50_ms=pct(50),
            p95_ms=pct(95),
            p99_ms=pct(99),
            mean_ms=round(statistics.fmean(lat), 1) if lat else None,
            throughput_msg_s=round(self.messages / self.seconds, 1) if self.seconds else 0.0,
        )
        out["error_samples"] = self.error_samples[:5]
        return out


async def _rest_user(session, base: str, script: list[str], stop_at: float, result: LoadResult):
    import aiohttp

    while time.perf_counter() < stop_at:
        sender = f"load-{uuid.uuid4().hex[:12]}"
        for text in script:
            if time.perf_counter() >= stop_at:
                return
            started = time.perf_counter()
            try:
                async with session.post(
                    f"{base}/webhooks/rest/webhook",
                    json={"sender": sender, "message": text},
                    timeout=aiohttp.ClientTimeout(total=60),
                ) as resp:
                    body = await resp.json(content_type=None)
                    elapsed = (time.perf_counter() - started) * 1000
                    if resp.status != 200 or not isinstance(body, list):
                        result.errors += 1
                        result.error_samples.append(f"HTTP {resp.status}: {str(body)[:120]}")
                        break
                    result.latencies_ms.append(elapsed)
                    result.messages += 1
                    result.empty_replies += not body
            except Exception as exc:  # any failure of a request is an error in the report
                result.errors += 1
                result.error_samples.append(f"{type(exc).__name__}: {exc}"[:160])
                break
        else:
            result.conversations += 1


async def run_rest(
    name: str, base: str, script: list[str], concurrency: int, seconds: float
) -> LoadResult:
    import aiohttp

    result = LoadResult(name, "rest", concurrency, seconds)
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        stop_at = time.perf_counter() + seconds
        started = time.perf_counter()
        await asyncio.gather(
            *(_rest_user(session, base, script, stop_at, result) for _ in range(concurrency))
        )
        result.seconds = round(time.perf_counter() - started, 2)
    return result


async def _socket_user(web: str, script: list[str], stop_at: float, result: LoadResult) -> None:
    import aiohttp
    import socketio

    while time.perf_counter() < stop_at:
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.post(f"{web}/api/widget-config", json={}, headers={"Origin": web}) as resp,
            ):
                config = await resp.json()
            sio = socketio.AsyncClient(reconnection=False)
            replies: asyncio.Queue[dict] = asyncio.Queue()
            sio.on("bot_uttered", replies.put_nowait)
            await sio.connect(
                config["socket"]["url"],
                socketio_path=config["socket"]["path"],
                auth={"token": config["socket"]["token"]},
                headers={"Origin": web},
                transports=["polling"],  # websocket: python-engineio 4.x needs a newer aiohttp
                # The client's default gives the namespace handshake 1 s, which a busy stack can
                # exceed while it answers the other users; the widget waits much longer.
                wait_timeout=10,
            )
            session_id = config["session_id"]
            # Like the widget: messages only after the server confirmed the session (joined
            # its room); a reply to a message sent before that goes to a room nobody is in.
            confirmed = asyncio.Event()
            sio.on("session_confirm", lambda *_, ev=confirmed: ev.set())
            await sio.emit("session_request", {"session_id": session_id})
            await asyncio.wait_for(confirmed.wait(), timeout=30)
        except Exception as exc:
            result.errors += 1
            result.error_samples.append(f"connect: {type(exc).__name__}: {exc}"[:160])
            await asyncio.sleep(0.5)
            continue
        try:
            for text in script:
                if time.perf_counter() >= stop_at:
                    return
                while not replies.empty():  # late extra bubbles of the previous turn
                    replies.get_nowait()
                started = time.perf_counter()
                try:
                    await sio.emit(
                        "user_uttered",
                        {"message": text, "session_id": session_id, "metadata": config["metadata"]},
                    )
                    await asyncio.wait_for(replies.get(), timeout=60)
                except asyncio.TimeoutError:
                    result.errors += 1
                    result.error_samples.append(f"no reply to {text!r} in 60 s")
                    break
                except Exception as exc:  # the connection dropped mid-conversation
                    result.errors += 1
                    result.error_samples.append(f"send: {type(exc).__name__}: {exc}"[:160])
                    break
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                result.messages += 1
                # The rest of this turn's bubbles arrive within a few ms; don't overlap turns.
                await asyncio.sleep(0.05)
            else:
                result.conversations += 1
        finally:
            await sio.disconnect()


async def run_socketio(web: str, script: list[str], concurrency: int, seconds: float) -> LoadResult:
    result = LoadResult("stackwise", "socket.io", concurrency, seconds)
    stop_at = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(_socket_user(web, script, stop_at, result) for _ in range(concurrency)))
    result.seconds = round(time.perf_counter() - started, 2)
    return result


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (Linux /proc), in MB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its direct children so far (Linux /proc), in s."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def measured_rest(
    name: str, base: str, script: list[str], level: int, seconds: float, pids: dict[str, int]
) -> LoadResult:
    """A REST run, with the CPU milliseconds per answered message of each server process in
    ``pids`` and of this process (the load generator) attached."""
    before = {proc: cpu_seconds(pid) for proc, pid in pids.items()}
    own = time.process_time()
    run = asyncio.run(run_rest(name, base, script, level, seconds))
    per = 1000 / max(run.messages, 1)
    run.cpu_ms_per_message = {
        proc: round((cpu_seconds(pid) - before[proc]) * per, 1) for proc, pid in pids.items()
    }
    run.cpu_ms_per_message["load generator"] = round((time.process_time() - own) * per, 1)
    return run


def _wait_url(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}) before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer in {timeout:.0f} s")


def moodbot_model() -> Path:
    """Stock `rasa init` project, trained once and reused."""
    models = MOODBOT_DIR / "models"
    existing = sorted(models.glob("*.tar.gz")) if models.exists() else []
    if existing:
        return existing[-1]
    MOODBOT_DIR.mkdir(parents=True, exist_ok=True)
    rasa = str(Path(sys.executable).with_name("rasa"))
    print("training the stock moodbot (rasa init, once) ...", flush=True)
    subprocess.run(
        [rasa, "init", "--no-prompt", "--init-dir", str(MOODBOT_DIR)],
        cwd=MOODBOT_DIR,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return sorted(models.glob("*.tar.gz"))[-1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 64])
    ap.add_argument("--seconds", type=float, default=30.0, help="per level and channel")
    ap.add_argument("--skip-moodbot", action="store_true")
    ap.add_argument("--skip-socketio", action="store_true")
    args = ap.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bot.supervisor import Ports, Stack, free_port
    from knowledge.config import get_settings

    settings = get_settings()
    report: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "seconds_per_level": args.seconds,
        "script_messages": len(ADVISING_SCRIPT),
    }
    runs: list[LoadResult] = []

    ports = Ports(rasa=free_port(), actions=free_port(), web=free_port())
    stack = Stack.embedded(settings, ports, settings.var_dir / "logs" / "bench-load")
    started = time.perf_counter()
    stack.start(timeout=300)
    report["cold_start_s"] = round(time.perf_counter() - started, 1)
    try:
        base = f"http://127.0.0.1:{ports.rasa}"
        web = f"http://127.0.0.1:{ports.web}"
        asyncio.run(run_rest("warm-up", base, ADVISING_SCRIPT, 2, 5))
        pids = {name: p.pid for name, p in stack.procs.items()}
        for level in args.concurrency:
            runs.append(
                measured_rest("stackwise", base, ADVISING_SCRIPT, level, args.seconds, pids)
            )
            print(json.dumps(runs[-1].summary()), flush=True)
        if not args.skip_socketio:
            runs.append(asyncio.run(run_socketio(web, ADVISING_SCRIPT, 8, args.seconds)))
            print(json.dumps(runs[-1].summary()), flush=True)
        report["memory_mb"] = {name: rss_mb(p.pid) for name, p in stack.procs.items()}
    finally:
        stack.stop()

    if not args.skip_moodbot:
        model = moodbot_model()
        port = free_port()
        rasa = str(Path(sys.executable).with_name("rasa"))
        log = open(ROOT / "var" / "bench" / "moodbot.log", "wb")  # noqa: SIM115
        t = time.perf_counter()
        proc = subprocess.Popen(
            [rasa, "run", "-i", "127.0.0.1", "-p", str(port), "-m", str(model)],
            cwd=MOODBOT_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_url(f"http://127.0.0.1:{port}/", proc, 300)
            report["moodbot_cold_start_s"] = round(time.perf_counter() - t, 1)
            base = f"http://127.0.0.1:{port}"
            asyncio.run(run_rest("warm-up", base, MOODBOT_SCRIPT, 2, 5))
            for level in args.concurrency:
                runs.append(
                    measured_rest(
                        "moodbot", base, MOODBOT_SCRIPT, level, args.seconds, {"rasa": proc.pid}
                    )
                )
                print(json.dumps(runs[-1].summary()), flush=True)
            report["moodbot_memory_mb"] = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
            log.close()

    report["runs"] = [r.summary() for r in runs]
    ours = {r.concurrency: r for r in runs if r.name == "stackwise" and r.channel == "rest"}
    mood = {r.concurrency: r for r in runs if r.name == "moodbot"}
    checks: dict[str, bool] = {"cold_start": report["cold_start_s"] <= TARGET_COLD_START_S}
    if 8 in ours:
        s = ours[8].summary()
        checks["c8_no_errors"] = s["errors"] == 0
        checks["c8_p95"] = (s["p95_ms"] or 1e9) <= TARGET_P95_MS
        checks["c8_throughput"] = s["throughput_msg_s"] >= TARGET_THROUGHPUT
        if 8 in mood:
            m = mood[8].summary()
            report["ratio_vs_moodbot_c8"] = {
                "throughput": round(s["throughput_msg_s"] / max(m["throughput_msg_s"], 1e-9), 2),
                "p95": round((s["p95_ms"] or 0) / max(m["p95_ms"] or 1e-9, 1e-9), 2),
            }
    if 64 in ours:
        checks["c64_no_errors"] = ours[64].errors == 0
    report["checks"] = checks
    report["met"] = all(checks.values())
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=2))
    return 0 if report["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
