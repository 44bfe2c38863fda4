"""Start the real stack (action server, Rasa server, web app) on free ports, once per session."""

from __future__ import annotations

import os
import secrets

import pytest

from bot.supervisor import Ports, Stack, free_port
from bot.training import model_path

# One server key for the stack and the tests, so tests can hold sessions' proofs
# (tenants.session_secret) as the web app issues them.
os.environ.setdefault("STACKWISE_SECRET_KEY", secrets.token_hex(32))


@pytest.fixture(scope="session")
def stack(built, settings):
    if not model_path(settings).exists():
        pytest.fail(f"no trained Rasa model at {model_path(settings)}: run 'make train' first")
    ports = Ports(rasa=free_port(), actions=free_port(), web=free_port())
    s = Stack.embedded(settings, ports, settings.var_dir / "logs")
    s.start(timeout=300)
    yield s
    s.stop()
