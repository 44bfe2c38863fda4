"""Start the action server, the Rasa server and the web app; stop them all together.

Used by `stackwise serve` (and so `make run`) and by the integration tests, which pass free
ports. A port already in use is a clear error naming the port.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
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

SOCKET_CHANNEL = "bot.web.socket_channel.StackwiseSocketIO"
PURGE_EVERY_S = 24 * 3600  # `stackwise serve` purges expired data once a day
REST_CHANNEL = "bot.web.rest_channel.StackwiseRest"


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


def _wait_http(url: str, deadline: float, proc: subprocess.Popen, name: str) -> None:
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{name} exited with code {proc.returncode} during start-up (see its log)"
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
class Stack:
    settings: Settings
    ports: Ports
    log_dir: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def chat_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.web}/"

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.procs[name] = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=env,
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
        )
        self._spawn(
            "actions",
            [
                sys.executable,
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "-p",
                str(self.ports.actions),
            ],
            # Only Rasa calls the action server (rasa_sdk binds 0.0.0.0 unless told otherwise).
            dict(env, SANIC_HOST="127.0.0.1"),
        )
        self._spawn(
            "rasa",
            [
                # `rasa`, with --auth-token from STACKWISE_RASA_TOKEN (never on a command line).
                sys.executable,
                "-m",
                "bot.rasa_run",
                "run",
                "--enable-api",
                "-i",
                self.settings.security.rasa_host,
                "-p",
                str(self.ports.rasa),
                "-m",
                str(model),
                "--credentials",
                str(credentials),
                "--endpoints",
                str(endpoints),
            ],
            env,
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
        )
        deadline = time.time() + timeout
        try:
            _wait_http(
                f"http://127.0.0.1:{self.ports.actions}/health",
                deadline,
                self.procs["actions"],
                "action server",
            )
            _wait_http(
                f"http://127.0.0.1:{self.ports.web}/healthz", deadline, self.procs["web"], "web app"
            )
            _wait_http(
                rasa_local_url(self.settings, self.ports.rasa) + "/",
                deadline,
                self.procs["rasa"],
                "Rasa server",
            )
        except BaseException:
            self.stop()
            raise

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


def serve_forever(settings: Settings) -> int:
    ports = Ports(settings.rasa_port, settings.actions_port, settings.web_port)
    stack = Stack(settings, ports, settings.var_dir / "logs")
    started = time.perf_counter()
    print(
        f"Starting actions :{ports.actions}, Rasa :{ports.rasa}, web :{ports.web} (logs in {stack.log_dir}) ...",
        flush=True,
    )

    def _interrupt(signum, _frame):
        raise KeyboardInterrupt

    # Installed explicitly: a shell that starts us in the background sets SIGINT to "ignore",
    # and Ctrl-C, `kill`, or a closed terminal must still stop every child, even mid-start.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
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
            dead = stack.dead()
            if dead:
                print(
                    f"{', '.join(dead)} stopped unexpectedly; shutting down (see {stack.log_dir})",
                    file=sys.stderr,
                )
                return 1
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
