"""Load test: N concurrent scripted advising conversations against the real stack, with stock
``rasa init`` (moodbot) measured in the same run as the reference.

`python -m bench.load` (part of `make bench`):

1. cold start: starts the embedded stack (`stackwise serve`'s: action server, Rasa process(es),
   web app, proxy) on free ports (model and knowledge DB already built) and times how long until
   all answer; reports each process's resident memory;
2. moodbot: ``rasa init --no-prompt`` into var/bench/moodbot (trained once, then reused), served
   by ``rasa run`` alongside, driven by the same generator with moodbot's own script;
3. REST: virtual users run the advising script below over ``POST /webhooks/rest/webhook``, each
   conversation with a fresh sender id, for a fixed time; every request's latency is recorded.
   At 8 concurrent, ``--rounds`` (3) rounds alternate ours and moodbot's (the machine's speed
   drifts by tens of percent within minutes); then 64 concurrent, ours and moodbot's;
4. socket.io: the same script through the web widget's path (``/api/widget-config`` token, then
   socket.io ``user_uttered``); latency is time to the first ``bot_uttered`` of each turn.

Results: bench/results/load.json (``--script learner``: load-learner.json). Targets: 8
concurrent -> 0 errors, p95 <= 250 ms, >= 40 msg/s, and, as ratios to moodbot in the same run
(median over the rounds), p95 <= 0.5x and throughput >= 2x moodbot's; 64 concurrent and
socket.io -> 0 errors; cold start <= 30 s.
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

# An advising conversation in the answer-first design (issue 16): the goal is answered with
# recommendations at once; constraints given later narrow them (each turn searches again);
# follow-ups on what was shown. Same length as the old form-filling script (10 messages).
ADVISING_SCRIPT = [
    "hi",
    "I know Excel, customer service and a bit of SQL",
    "I want to become a data analyst",
    "under $500",
    "online only",
    "I'm in Houston",
    "show me more options",
    "does the first one count toward a degree?",
    "do employers recognize it?",
    "thanks, bye",
]
# A learner's conversation as people have it (issue 16): a goal, then questions, no form to fill.
LEARNER_SCRIPT = [
    "hi",
    "I know Excel and SQL",
    "I want to become a data analyst",
    "what do you recommend?",
    "does it count toward a degree?",
    "thanks, bye",
]
SCRIPTS = {"advising": ADVISING_SCRIPT, "learner": LEARNER_SCRIPT}
MOODBOT_SCRIPT = ["hello", "I am feeling very sad", "yes", "great, thanks", "bye"]

TARGET_P95_MS = 250.0
TARGET_THROUGHPUT = 40.0
# The same targets relative to the stock moodbot figures the issue gives (p95 482 ms, 34 msg/s),
# held against moodbot measured in the same run: this machine's speed varies by tens of percent.
# Issues 15 and 16: at 8 concurrent, p95 <= 0.5x moodbot's and throughput >= 2x, in one run
# (stricter than the first load issue's 250/482 and 40/34).
TARGET_P95_RATIO = 0.5
TARGET_THROUGHPUT_RATIO = 2.0
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


def _pooled(runs: list[LoadResult]) -> LoadResult:
    """Several runs of one name/channel/level as one (latencies and counts together)."""
    first = runs[0]
    pooled = LoadResult(first.name, first.channel, first.concurrency, 0.0)
    for r in runs:
        pooled.seconds += r.seconds
        pooled.messages += r.messages
        pooled.errors += r.errors
        pooled.empty_replies += r.empty_replies
        pooled.conversations += r.conversations
        pooled.latencies_ms += r.latencies_ms
        pooled.error_samples += r.error_samples
    pooled.seconds = round(pooled.seconds, 2)
    return pooled


def start_moodbot(log_path: Path) -> tuple[subprocess.Popen, str, float]:
    """Stock moodbot served by `rasa run` on a free port: (process, base URL, cold start s)."""
    from bot.supervisor import free_port

    model = moodbot_model()
    port = free_port()
    rasa = str(Path(sys.executable).with_name("rasa"))
    started = time.perf_counter()
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [rasa, "run", "-i", "127.0.0.1", "-p", str(port), "-m", str(model)],
            cwd=MOODBOT_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    _wait_url(f"{base}/", proc, 300)
    return proc, base, round(time.perf_counter() - started, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 64])
    ap.add_argument("--seconds", type=float, default=30.0, help="per level, channel and round")
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds at 8 concurrent, ours and moodbot's alternating (the machine's speed drifts)",
    )
    ap.add_argument("--skip-moodbot", action="store_true")
    ap.add_argument("--skip-socketio", action="store_true")
    ap.add_argument(
        "--script",
        choices=sorted(SCRIPTS),
        default="advising",
        help="our conversation: the advising script (results/load.json) or the learner's "
        "(results/load-learner.json)",
    )
    args = ap.parse_args(argv)
    script = SCRIPTS[args.script]

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bot.supervisor import Ports, Stack, free_port
    from knowledge.config import get_settings

    settings = get_settings()
    report: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "seconds_per_level": args.seconds,
        "rounds_at_8": args.rounds,
        "script": args.script,
        "script_messages": len(script),
        "rasa_processes": settings.scaling.local_rasa_processes,
    }
    runs: list[LoadResult] = []

    ports = Ports(rasa=free_port(), actions=free_port(), web=free_port())
    stack = Stack.embedded(settings, ports, settings.var_dir / "logs" / "bench-load")
    started = time.perf_counter()
    stack.start(timeout=300)
    report["cold_start_s"] = round(time.perf_counter() - started, 1)
    mood: tuple[subprocess.Popen, str, float] | None = None
    log_path = ROOT / "var" / "bench" / "moodbot.log"
    try:
        base = f"http://127.0.0.1:{ports.rasa}"
        web = f"http://127.0.0.1:{ports.web}"
        pids = {name: p.pid for name, p in stack.procs.items()}
        if not args.skip_moodbot:
            # Both stay up; each is measured while the other idles, in alternating rounds.
            log_path.parent.mkdir(parents=True, exist_ok=True)
            mood = start_moodbot(log_path)
            report["moodbot_cold_start_s"] = mood[2]
            asyncio.run(run_rest("warm-up", mood[1], MOODBOT_SCRIPT, 2, 5))
        asyncio.run(run_rest("warm-up", base, script, 2, 5))

        def ours(level: int) -> None:
            runs.append(measured_rest("stackwise", base, script, level, args.seconds, pids))
            print(json.dumps(runs[-1].summary()), flush=True)

        def theirs(level: int) -> None:
            if mood is None:
                return
            runs.append(
                measured_rest(
                    "moodbot", mood[1], MOODBOT_SCRIPT, level, args.seconds, {"rasa": mood[0].pid}
                )
            )
            print(json.dumps(runs[-1].summary()), flush=True)

        for level in args.concurrency:
            for _ in range(args.rounds if level == 8 else 1):
                ours(level)
                theirs(level)
        if not args.skip_socketio:
            runs.append(asyncio.run(run_socketio(web, script, 8, args.seconds)))
            print(json.dumps(runs[-1].summary()), flush=True)
        report["memory_mb"] = {name: rss_mb(p.pid) for name, p in stack.procs.items()}
        if mood is not None:
            report["moodbot_memory_mb"] = rss_mb(mood[0].pid)
    finally:
        stack.stop()
        if mood is not None:
            mood[0].terminate()
            mood[0].wait(30)

    report["runs"] = [r.summary() for r in runs]
    c8 = [r for r in runs if r.channel == "rest" and r.concurrency == 8]
    ours8 = [r for r in c8 if r.name == "stackwise"]
    mood8 = [r for r in c8 if r.name == "moodbot"]
    checks: dict[str, bool] = {"cold_start": report["cold_start_s"] <= TARGET_COLD_START_S}
    if ours8:
        s = _pooled(ours8).summary()
        report["stackwise_c8_all_rounds"] = s
        checks["c8_no_errors"] = s["errors"] == 0
        checks["c8_p95"] = (s["p95_ms"] or 1e9) <= TARGET_P95_MS
        checks["c8_throughput"] = s["throughput_msg_s"] >= TARGET_THROUGHPUT
        if mood8:
            # Each round against the moodbot round right after it; the median of the rounds.
            pairs = [(o.summary(), m.summary()) for o, m in zip(ours8, mood8, strict=False)]
            per_round = [
                {
                    "throughput": round(
                        o["throughput_msg_s"] / max(m["throughput_msg_s"], 1e-9), 2
                    ),
                    "p95": round((o["p95_ms"] or 0) / max(m["p95_ms"] or 1e-9, 1e-9), 2),
                }
                for o, m in pairs
            ]
            ratio = {
                key: round(statistics.median(r[key] for r in per_round), 2)
                for key in ("throughput", "p95")
            }
            report["moodbot_c8_all_rounds"] = _pooled(mood8).summary()
            report["ratio_vs_moodbot_c8_rounds"] = per_round
            report["ratio_vs_moodbot_c8"] = ratio
            # The targets as ratios to moodbot measured in the same run.
            checks["c8_p95_ratio"] = ratio["p95"] <= TARGET_P95_RATIO
            checks["c8_throughput_ratio"] = ratio["throughput"] >= TARGET_THROUGHPUT_RATIO
    c64 = [r for r in runs if r.name == "stackwise" and r.channel == "rest" and r.concurrency == 64]
    if c64:
        checks["c64_no_errors"] = all(r.errors == 0 for r in c64)
    sio = [r for r in runs if r.channel == "socket.io"]
    if sio:
        checks["socketio_no_errors"] = all(r.errors == 0 for r in sio)
    report["checks"] = checks
    report["met"] = all(checks.values())
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "load.json" if args.script == "advising" else f"load-{args.script}.json"
    (RESULTS / name).write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=2))
    return 0 if report["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
