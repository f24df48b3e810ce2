"""`run.py worker`: run the jobs of a pass from the task queue shared in PostgreSQL."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.lazy import imported_when_called
from etl.runtime import Runtime

if TYPE_CHECKING:
    from etl.worker.serve import serve_worker
else:  # procrastinate and psycopg: a third of a second of every other command's start
    serve_worker = imported_when_called("etl.worker.serve", "serve_worker")


def add_worker_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `worker` on the CLI's subparsers."""
    worker = sub.add_parser(
        "worker",
        help="run feeds, order polls and exports, party exports and purges from the task "
        "queue in PostgreSQL, shared with every other worker, until SIGTERM/SIGINT",
    )
    worker.add_argument(
        "--concurrency",
        type=_at_least_one,
        default=1,
        help="how many jobs this worker runs at a time (default 1)",
    )
    worker.set_defaults(handler=worker_command)


def worker_command(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    """Run as one of the workers until stopped."""
    rt = Runtime.open(settings)
    try:
        serve_worker(rt, contracts, args.concurrency)
    finally:
        rt.close()
    return 0


def _at_least_one(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number
