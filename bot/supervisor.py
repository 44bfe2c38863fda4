"""Start the action server, the Rasa server and the web app; stop them all together.

Rasa reaches the action server(s) through bot/proxy.py, which answers for them while none is
up; `stackwise serve` restarts a child that dies (with backoff). `--scaled` runs several Rasa
replicas and action servers behind the proxy (docs/deployment.md).

Used by `stackwise serve` (and so `make run`) and by the integration tests, which pass free
ports. A port already in use is a clear error naming the port.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.endpoints import write_runtime_endpoints
from bot.training import model_path
from knowledge.config import REPO_ROOT, Settings

# The web app's channels (bot/web/), answering the learner when a message fails (bot/channels.py).
SOCKET_CHANNEL = "bot.channels.ResilientSocketIO"
REST_CHANNEL = "bot.channels.ResilientRest"
PURGE_EVERY_S = 24 * 3600  # `stackwise serve` purges expired data once a day


class PortInUse(RuntimeError):
    pass


class InsecureConfig(RuntimeError):
    """A configuration `stackwise serve` refuses to start with."""


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def check_rasa_exposure(settings: Settings) -> None:
    """Rasa's HTTP API (model, trackers, events) outside loopback only with a token."""
    sec = settings.security
    if not is_loopback(sec.rasa_host) and not sec.rasa_token:
        raise InsecureConfig(
            f"STACKWISE_RASA_HOST={sec.rasa_host} exposes Rasa's HTTP API beyond this machine: "
            "set STACKWISE_RASA_TOKEN to a long random secret (e.g. `openssl rand -hex 32`), "
            "or keep STACKWISE_RASA_HOST=127.0.0.1"
        )


def rasa_local_url(settings: Settings, port: int) -> str:
    """Where the other processes reach Rasa: its bind address, or 127.0.0.1 for a wildcard."""
    host = settings.security.rasa_host.strip("[]")
    if host in ("0.0.0.0", "::", "") or is_loopback(host):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass(frozen=True)
class Ports:
    rasa: int
    actions: int
    web: int


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_tail(log: Path, offset: int) -> str:
    """The error line (or the last lines) a child wrote to its log since ``offset``."""
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    errors = [line for line in lines if line.startswith("error:")]
    # Otherwise the last exception line of a traceback ("TypeError: ..."), or the last lines.
    raised = [line for line in lines if re.match(r"^[\w.]*(Error|Exception)\b.*:", line)]
    return " | ".join(errors[-1:] or raised[-1:] or lines[-3:])


def _wait_http(
    url: str,
    deadline: float,
    proc: subprocess.Popen,
    name: str,
    log: Path | None = None,
    offset: int = 0,
) -> None:
    while time.time() < deadline:
        if proc.poll() is not None:
            tail = _log_tail(log, offset) if log is not None else ""
            raise RuntimeError(
                f"{name} exited with code {proc.returncode} during start-up"
                + (f": {tail}" if tail else " (see its log)")
                + (f" ({log})" if log is not None else "")
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{name} did not answer at {url} in time")


def runtime_credentials(source: Path, target: Path) -> Path:
    """credentials.yml for this run: Rasa's plain `socketio` channel is replaced by the widget's
    (same settings; it checks the web app's socket token and sends credential cards), and `rest`
    by one that checks input and rate limits (bot.web.rest_channel)."""
    creds = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    if "socketio" in creds:
        creds[SOCKET_CHANNEL] = creds.pop("socketio") or {}
    if "rest" in creds:
        creds[REST_CHANNEL] = creds.pop("rest") or {}
    target.write_text(yaml.safe_dump(creds, sort_keys=False), encoding="utf-8")
    return target


@dataclass
class Child:
    """How a child process was started, so it can be started again."""

    cmd: list[str]
    env: dict[str, str]
    health: str
    label: str
    started: float = 0.0
    log_offset: int = 0
    failures: int = 0
    retry_at: float | None = None


@dataclass
class Stack:
    settings: Settings
    ports: Ports
    log_dir: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    # `stackwise serve --scaled`: several Rasa replicas behind bot/proxy.py; action servers are
    # always behind it (it answers for them when none is up).
    rasa_replicas: int = 1
    action_servers: int = 1
    children: dict[str, Child] = field(default_factory=dict)

    @classmethod
    def embedded(cls, settings: Settings, ports: Ports, log_dir: Path) -> Stack:
        """`stackwise serve`: one action server, ``STACKWISE_LOCAL_RASA_PROCESSES`` Rasa
        processes (default one; more sit behind the proxy, with shared lock files)."""
        return cls(settings, ports, log_dir, rasa_replicas=settings.scaling.local_rasa_processes)

    @classmethod
    def scaled(cls, settings: Settings, ports: Ports, log_dir: Path) -> Stack:
        scaling = settings.scaling
        return cls(
            settings,
            ports,
            log_dir,
            rasa_replicas=scaling.rasa_replicas,
            action_servers=scaling.action_servers,
        )

    @property
    def chat_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.web}/"

    def _spawn(
        self,
        name: str,
        cmd: list[str],
        env: dict[str, str],
        *,
        health: str = "",
        label: str = "",
    ) -> None:
        self.children[name] = Child(cmd, env, health, label or name)
        self._popen(name)

    def _popen(self, name: str, now: float | None = None) -> None:
        child = self.children[name]
        child.started, child.retry_at = time.time() if now is None else now, None
        path = self.log_dir / f"{name}.log"
        child.log_offset = path.stat().st_size if path.exists() else 0
        log = open(path, "ab")  # noqa: SIM115 - owned by the child
        self.procs[name] = subprocess.Popen(
            child.cmd,
            cwd=REPO_ROOT,
            env=child.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self, timeout: float = 240.0) -> None:
        check_rasa_exposure(self.settings)
        for label, port in (
            ("Rasa", self.ports.rasa),
            ("actions", self.ports.actions),
            ("web", self.ports.web),
        ):
            if not port_free(port):
                raise PortInUse(
                    f"port {port} ({label}) is already in use: stop whatever is listening there "
                    f"or set STACKWISE_{label.upper()}_PORT"
                )
        model = model_path(self.settings)
        if not model.exists():
            raise FileNotFoundError(f"no trained model at {model}; run 'stackwise train'")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        run_dir = self.settings.var_dir / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        endpoints = write_runtime_endpoints(
            self.settings,
            f"http://127.0.0.1:{self.ports.actions}/webhook",
            run_dir / f"endpoints-{self.ports.rasa}.yml",
        )
        credentials = runtime_credentials(
            REPO_ROOT / "credentials.yml", run_dir / f"credentials-{self.ports.rasa}.yml"
        )
        env = dict(os.environ)
        # One server secret for all three processes (signed widget metadata, socket tokens).
        env.setdefault("STACKWISE_SECRET_KEY", secrets.token_hex(32))
        # Servers handle many small requests concurrently: a BLAS/OpenMP thread pool per process
        # only spins (OpenBLAS's idle thread was ~20% of Rasa's CPU per message under load).
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
        env.update(
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            TOKENIZERS_PARALLELISM="false",
            STACKWISE_RASA_URL=rasa_local_url(self.settings, self.ports.rasa),
            STACKWISE_WEB_PORT=str(self.ports.web),
            STACKWISE_VAR_DIR=str(self.settings.var_dir),
            STACKWISE_DATABASE_URL=self.settings.database_url,
            STACKWISE_INDEX_DIR=str(self.settings.index_dir),
            # No access logs (Rasa, action server): URLs can carry conversation ids and queries.
            SANIC_ACCESS_LOG="false",
            # Nothing leaves the machine; Rasa's telemetry also re-reads the model at start-up.
            RASA_TELEMETRY_ENABLED="false",
        )
        self._launch(env, model, credentials, endpoints, timeout)

    def _launch(
        self, env: dict[str, str], model: Path, credentials: Path, endpoints: Path, timeout: float
    ) -> None:
        """Action servers and the proxy in front of them (Rasa's action endpoint), Rasa (one
        replica, or several behind the proxy), the web app; then wait until each answers."""
        env.update(
            STACKWISE_APP_DATABASE_URL=self.settings.app_database_url,
            STACKWISE_TRACKER_STORE_URL=self.settings.tracker_store_url,
        )
        if self.settings.scaling.lock_store_url:
            env.update(STACKWISE_LOCK_STORE_URL=self.settings.scaling.lock_store_url)
        actions = []
        for name in self._names("actions", self.action_servers):
            port = free_port()
            actions.append(f"http://127.0.0.1:{port}")
            self._spawn(
                name,
                [sys.executable, "-m", "bot.action_server", "--port", str(port)],
                # Only Rasa calls the action server (rasa_sdk binds 0.0.0.0 unless told otherwise).
                dict(env, SANIC_HOST="127.0.0.1"),
                health=f"{actions[-1]}/health",
                label="action server",
            )
        replicas = self._names("rasa", self.rasa_replicas)
        # One Rasa binds the public Rasa port itself; replicas sit behind the proxy there.
        rasa_ports = [self.ports.rasa] if len(replicas) == 1 else [free_port() for _ in replicas]
        proxy = [sys.executable, "-m", "bot.proxy", "--actions-port", str(self.ports.actions)]
        proxy += [arg for url in actions for arg in ("--action", url)]
        if len(replicas) > 1:
            proxy += ["--rasa-host", self.settings.security.rasa_host]
            proxy += ["--rasa-port", str(self.ports.rasa)]
            proxy += [arg for p in rasa_ports for arg in ("--rasa", f"http://127.0.0.1:{p}")]
        self._spawn(
            "proxy",
            proxy,
            env,
            health=f"http://127.0.0.1:{self.ports.actions}/health",
            label="proxy",
        )
        for name, port in zip(replicas, rasa_ports, strict=True):
            host = self.settings.security.rasa_host if len(replicas) == 1 else "127.0.0.1"
            self._spawn(
                name,
                [
                    # `rasa`, with --auth-token from STACKWISE_RASA_TOKEN (never on a command line).
                    sys.executable,
                    "-m",
                    "bot.rasa_run",
                    "run",
                    "--enable-api",
                    "-i",
                    host,
                    "-p",
                    str(port),
                    "-m",
                    str(model),
                    "--credentials",
                    str(credentials),
                    "--endpoints",
                    str(endpoints),
                ],
                env,
                health=rasa_local_url(self.settings, port) + "/"
                if len(replicas) == 1
                else f"http://127.0.0.1:{port}/",
                label="Rasa server",
            )
        self._spawn(
            "web",
            [
                sys.executable,
                "-m",
                "bot.web",
                "--host",
                self.settings.web_host,
                "--port",
                str(self.ports.web),
            ],
            env,
            health=f"http://127.0.0.1:{self.ports.web}/healthz",
            label="web app",
        )
        # Hand-off notifications from the outbox (bot/notify_worker.py): one sender however
        # many action servers run, and never on the chat's path. It serves no port.
        self._spawn(
            "notify", [sys.executable, "-m", "bot.notify_worker"], env, label="notification worker"
        )
        deadline = time.time() + timeout
        try:
            for name in list(self.children):
                self.wait_ready(name, deadline)
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _names(kind: str, n: int) -> list[str]:
        return [kind] if n == 1 else [f"{kind}-{i}" for i in range(1, n + 1)]

    def wait_ready(self, name: str, deadline: float) -> None:
        child = self.children[name]
        if not child.health:  # no port to ask: running is ready
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{child.label} exited with code {proc.returncode} at start "
                    f"(log: {self.log_dir / (name + '.log')})"
                )
            return
        _wait_http(
            child.health,
            deadline,
            self.procs[name],
            child.label,
            self.log_dir / f"{name}.log",
            child.log_offset,
        )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill one child (its whole process group) and reap it: for fault tests."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(30)

    def restart(self, name: str, *, wait: float | None = None) -> None:
        """Start a child again as it was started; with ``wait``, until it answers."""
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            self.kill(name, signal.SIGTERM)
        self._popen(name)
        if wait is not None:
            self.wait_ready(name, time.time() + wait)

    def supervise(self, now: float | None = None) -> list[str]:
        """Restart children that died, with backoff (1 s, 2 s, 4 s ... 30 s; back to 1 s after
        a minute up). Returns what happened, for the console."""
        now = time.time() if now is None else now
        events = []
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                continue
            child = self.children[name]
            if child.retry_at is None:
                child.failures = 0 if now - child.started > 60 else child.failures + 1
                delay = min(30.0, 2.0**child.failures)
                child.retry_at = now + delay
                events.append(
                    f"{name} exited with code {proc.returncode}; restarting it in {delay:.0f}s "
                    f"(log: {self.log_dir / (name + '.log')})"
                )
            elif now >= child.retry_at:
                self._popen(name, now)
                events.append(f"{name} restarted")
        return events

    def stop(self, timeout: float = 15.0) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.time() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()

    def dead(self) -> list[str]:
        return [name for name, p in self.procs.items() if p.poll() is not None]


def scheduled_purge(settings: Settings) -> None:
    """Purge what is past the retention period; a failure is reported, never fatal."""
    from knowledge.privacy import configured_stores, purge_expired

    try:
        with configured_stores(settings) as stores:
            report = purge_expired(older_than_days=settings.retention_days, **stores.kwargs())
        print(f"Retention purge ({settings.retention_days} days): {report.summary()}", flush=True)
    except Exception as exc:  # noqa: BLE001 - the servers keep running; tried again tomorrow
        print(f"Retention purge failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)


def serve_forever(settings: Settings, *, scaled: bool = False) -> int:
    ports = Ports(settings.rasa_port, settings.actions_port, settings.web_port)
    log_dir = settings.var_dir / "logs"
    stack = (Stack.scaled if scaled else Stack.embedded)(settings, ports, log_dir)
    started = time.perf_counter()
    if scaled:
        print(
            f"Starting {stack.action_servers} action servers (behind :{ports.actions}), "
            f"{stack.rasa_replicas} Rasa replicas (behind :{ports.rasa}), web :{ports.web} "
            f"(logs in {stack.log_dir}) ...",
            flush=True,
        )
    else:
        rasa = (
            f"Rasa :{ports.rasa}"
            if stack.rasa_replicas == 1
            else f"{stack.rasa_replicas} Rasa processes (behind :{ports.rasa})"
        )
        print(
            f"Starting actions :{ports.actions}, {rasa}, web :{ports.web} "
            f"(logs in {stack.log_dir}) ...",
            flush=True,
        )

    def _interrupt(signum, _frame):
        raise KeyboardInterrupt

    # Installed explicitly: a shell that starts us in the background sets SIGINT to "ignore",
    # and Ctrl-C, `kill`, or a closed terminal must still stop every child, even mid-start.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        if scaled:
            from bot.scaled import prepare

            prepare(settings, log=lambda line: print(line, flush=True))
        stack.start()
        print(f"Stackwise is up in {time.perf_counter() - started:.1f}s.", flush=True)
        print(f"Chat with the advisor at {stack.chat_url}   (Ctrl-C stops everything)", flush=True)
        last_purge: float | None = None
        while True:
            if settings.retention_days > 0 and (
                last_purge is None or time.time() - last_purge >= PURGE_EVERY_S
            ):
                last_purge = time.time()
                scheduled_purge(settings)
            # A child that dies is started again (with backoff); meanwhile the proxy answers for
            # a missing action server and the other replicas carry the conversations.
            for line in stack.supervise():
                print(line, file=sys.stderr, flush=True)
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    except (PortInUse, FileNotFoundError, TimeoutError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        print("Stopping Stackwise ...", flush=True)
        stack.stop()
    return 0
