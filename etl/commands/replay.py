"""The replay command of `run.py`: an archived document file taken again, after its contract was fixed."""

from __future__ import annotations

import argparse
from pathlib import Path

from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.errors import EtlError
from etl.runtime import Runtime
from etl.to_norce.documents.replay import queue_replay
from etl.to_norce.run import run_feed
from etl.transport.names import one_line, printable


def add_replay_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `replay` on the CLI's subparsers."""
    replay = sub.add_parser(
        "replay",
        help="take an archived document file again (after fixing its contract); documents "
        "Norce already has are not sent again",
    )
    replay.add_argument("feed")
    replay.add_argument("file", help="run id, file name, or the start of the file's sha256")
    replay.add_argument("--now", action="store_true", help="run the feed now, not on its next run")
    replay.set_defaults(handler=replay_command)


def replay_command(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    """Queue the replay; with --now, run the feed at once."""
    contract = contracts.get(args.feed)
    if contract is None:
        raise EtlError(f"no feed {args.feed!r}; known feeds: {', '.join(contracts)}")
    rt = Runtime.open(settings)
    try:
        earlier, replay, new = queue_replay(rt, contract, args.file)
        name = printable(Path(replay.input).name)
        said = "queued" if new else "already queued"
        when = "now" if args.now else "by the feed's next run"
        print(f"{contract.name}: {said}: replays run {earlier.run_id} ({name}), taken {when}")
        if not args.now:
            return 0
        outcomes = run_feed(rt, contract)
    finally:
        rt.close()
    for o in outcomes:
        print(f"{o.feed}: {printable(o.name)}: {o.outcome}"
              + (f": {one_line(o.message)}" if o.message else ""))  # fmt: skip
    return 1 if any(o.outcome == "failed" for o in outcomes) else 0
