"""The notification worker: sends hand-off notifications from the outbox (knowledge/notifications.py).

``python -m bot.notify_worker`` runs until SIGTERM / Ctrl-C; ``stackwise serve`` starts it as one
more supervised child (restarted if it dies), so its work is apart from the action servers' and
there is one sender however many action servers run. Several workers are safe (rows are claimed
atomically), e.g. one per machine of a scaled deployment.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading

import httpx

from knowledge import notifications as nt
from knowledge.config import get_settings
from knowledge.db import make_engine
from knowledge.tenants import get_tenant

log = logging.getLogger("stackwise.notify")


def tenant_namer(knowledge_url: str, app_engine):
    engine = make_engine(knowledge_url)

    def name(tenant_id: str) -> str:
        try:
            found = get_tenant(engine, tenant_id, app_engine)
        except Exception:  # noqa: BLE001 - a name is nice to have; the id does as well
            return tenant_id
        return found.name if found else tenant_id

    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between outbox polls")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = get_settings()
    try:
        config = nt.NotifyConfig.from_env()
    except nt.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app_engine = make_engine(settings.app_database_url)
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with httpx.Client(timeout=config.policy.timeout_s, follow_redirects=False) as http:
        deliverer = nt.Deliverer(
            app_engine, config, tenant_namer(settings.database_url, app_engine), http
        )
        log.info(
            "notification worker %s: e-mail %s",
            worker_id,
            "on" if config.smtp else "off (STACKWISE_SMTP_URL not set)",
        )
        while not stop.is_set():
            try:
                nt.run_once(deliverer, worker_id)
            except Exception as exc:  # noqa: BLE001 - e.g. the DB is briefly unreachable
                log.error("outbox pass failed: %s: %s", type(exc).__name__, exc)
            if args.once:
                break
            stop.wait(args.poll)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
