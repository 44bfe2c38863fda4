"""`python -m bot.action_server --port 5155`: Rasa SDK's action server for `actions/`, which
first opens and checks the knowledge services.

The FAISS index is loaded and checked against its metadata and the knowledge DB (model,
dimension, catalog fingerprint, file checksum) and the encoder is warmed up before the port
opens, so a server with a corrupt or mismatched index refuses to start with a clear error
(exit code 2) instead of failing its first user, and `/health` answers only once it can serve.
Each server holds its own read-only copy of the index: action servers are stateless and any
number of them can run side by side (docs/deployment.md).
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bot.action_server", description=__doc__)
    p.add_argument("--port", type=int, default=5055)
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args(argv)

    from sqlalchemy.exc import SQLAlchemyError

    from knowledge.index import IndexError_
    from knowledge.services import get_services

    try:
        get_services().warm_up()
    except IndexError_ as exc:
        print(f"error: refusing to start the action server: {exc}", file=sys.stderr, flush=True)
        return 2
    except SQLAlchemyError as exc:
        print(
            f"error: refusing to start the action server: the knowledge DB is not usable: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0]}",
            file=sys.stderr,
            flush=True,
        )
        return 2

    from rasa_sdk.__main__ import main_from_args
    from rasa_sdk.endpoint import create_argument_parser

    os.environ["SANIC_HOST"] = args.host  # rasa_sdk binds 0.0.0.0 otherwise
    main_from_args(
        create_argument_parser().parse_args(["--actions", "actions", "--port", str(args.port)])
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
