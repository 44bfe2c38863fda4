"""`stackwise serve`: a busy port is a clear error naming it; Ctrl-C stops every child."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.supervisor import PortInUse, Ports, Stack, free_port, port_free

pytestmark = pytest.mark.integration
STACKWISE = str(Path(sys.executable).with_name("stackwise"))


def test_busy_port_is_named(built, settings):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        stack = Stack(
            settings,
            Ports(rasa=port, actions=free_port(), web=free_port()),
            settings.var_dir / "logs",
        )
        with pytest.raises(PortInUse, match=f"port {port} \\(Rasa\\) is already in use"):
            stack.start()
        assert stack.procs == {}


def test_serve_prints_url_and_ctrl_c_stops_everything(built, settings):
    ports = Ports(rasa=free_port(), actions=free_port(), web=free_port())
    env = dict(
        os.environ,
        STACKWISE_RASA_PORT=str(ports.rasa),
        STACKWISE_ACTIONS_PORT=str(ports.actions),
        STACKWISE_WEB_PORT=str(ports.web),
        PYTHONUNBUFFERED="1",
    )
    proc = subprocess.Popen(
        [STACKWISE, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Chat with the advisor at" in line:
                break
        assert any(f"http://127.0.0.1:{ports.web}/" in line for line in lines), "".join(lines)
        assert (
            not port_free(ports.rasa) and not port_free(ports.web) and not port_free(ports.actions)
        )
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(0.5)
    for port in (ports.rasa, ports.actions, ports.web):
        assert port_free(port), f"port {port} still held after Ctrl-C"
