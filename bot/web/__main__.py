"""`python -m bot.web --port 8000`: run the web app (started by `stackwise serve`)."""

from __future__ import annotations

import argparse

from bot.web.app import create_app
from knowledge.config import get_settings


def main() -> None:
    settings = get_settings()
    p = argparse.ArgumentParser(prog="python -m bot.web")
    p.add_argument("--host", default=settings.web_host)
    p.add_argument("--port", type=int, default=settings.web_port)
    args = p.parse_args()
    create_app().run(host=args.host, port=args.port, access_log=False, workers=1, motd=False)


if __name__ == "__main__":
    main()
