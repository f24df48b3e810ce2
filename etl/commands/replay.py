"""`run.py replay RUN`: a run's archived file taken again, through today's contract, as a new run.

The archived file is read through the archive, so a run in object storage is replayed as a
local one is: fetched into the inbox by the feed's run, into a private temp copy for a dry run.

`replay FEED FILE`, the form before run ids were enough, still works: FILE is then a run
id, the file's name (its newest run) or the start of its sha256, within FEED.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.entities import DocumentEntity
from etl.errors import EtlError
from etl.runtime import Runtime
from etl.to_norce.documents.replay import preview_documents
from etl.to_norce.masterdata.replay_preview import preview_masterdata
from etl.to_norce.records import FileOutcome
from etl.to_norce.replay import Archived, Preview, find_archived, queue_replay
from etl.to_norce.run import run_feed
from etl.transport.names import one_line, printable


def add_replay_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `replay` on the CLI's subparsers."""
    replay = sub.add_parser(
        "replay",
        help="take a run's archived file again through today's contract, as a new run "
        "(master data: only what differs from the current snapshot is sent; documents "
        "Norce already has are not sent again)",
    )
    replay.add_argument("run", metavar="RUN", help="the run id, as `run.py status` shows it")
    replay.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="older form `replay FEED FILE`: RUN is then the feed, FILE a run id, the file's "
        "name or the start of its sha256",
    )
    replay.add_argument("--why", default="", help="the reason, kept in the run's message")
    when = replay.add_mutually_exclusive_group()
    when.add_argument("--now", action="store_true", help="run the feed now, not on its next run")
    when.add_argument(
        "--dry-run",
        action="store_true",
        help="show the delta the replay would send; change nothing",
    )
    replay.set_defaults(handler=replay_command)


def replay_command(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    """Show (--dry-run) or queue the replay; with --now, run the feed at once."""
    feed, target = (args.run, args.file) if args.file else (None, args.run)
    rt = Runtime.open(settings)
    try:
        archived = find_archived(rt, contracts, target, feed)
        if args.dry_run:
            print(render_preview(archived, _local_preview(rt, archived)))
            return 0
        replay, new = queue_replay(rt, archived, one_line(args.why))
        said = "queued" if new else "already queued"
        when = "now" if args.now else "by the feed's next run"
        name = printable(archived.copy.name)
        print(f"{replay.feed}: {said}: replays run {replay.of_run} ({name}), taken {when}")
        if not args.now:
            return 0
        outcomes = run_feed(rt, _owner(archived.contract, contracts))
    finally:
        rt.close()
    for o in outcomes:
        print(_said(o))
    # As `once` says it: 1 to try again later, 3 when a person must act on the file.
    if any(o.outcome == "failed" for o in outcomes):
        return 1
    return 3 if any(o.outcome == "rejected" for o in outcomes) else 0


def _local_preview(rt: Runtime, archived: Archived) -> Preview:
    """The preview, read from a local copy of the archived file (fetched when in object storage)."""
    with rt.archive.opened(archived.copy.parent, archived.copy.name) as local:
        if local is None:
            raise EtlError(f"{archived.contract.name}: the archived copy {archived.copy} is gone")
        return _preview(rt, archived.contract, local)


def _preview(rt: Runtime, contract: FeedContract, copy: Path) -> Preview:
    if isinstance(contract.entity, DocumentEntity):
        return preview_documents(rt, contract, copy)
    return preview_masterdata(rt, contract, copy)


def render_preview(archived: Archived, preview: Preview) -> str:
    """The dry run as text: what it would take, what it would do, and that nothing changed."""
    feed, run = archived.contract.name, archived.run.run_id
    lines = [
        f"{feed}: dry run: a replay of run {run} ({printable(archived.copy.name)}) through "
        "today's contract would do:",
        f"  {one_line(preview.headline)}",
    ]
    for title, rows in preview.sections:
        lines += [f"  {title}:", *(f"    {one_line(r)}" for r in rows)]
    lines.append("nothing was changed: no run recorded, no snapshot, nothing sent")
    return "\n".join(lines)


def _owner(contract: FeedContract, contracts: dict[str, FeedContract]) -> FeedContract:
    """The feed whose run takes the replay: a feed reading another's file runs in its runs."""
    owner = contract.source.from_feed
    return contracts[owner] if owner is not None else contract


def _said(o: FileOutcome) -> str:
    return f"{o.feed}: {printable(o.name)}: {o.outcome}" + (
        f": {one_line(o.message)}" if o.message else ""
    )
