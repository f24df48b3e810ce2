"""Problems a feed's files leave: the latest file rejected whole (or quarantined), too many
rejected rows in the latest committed file, and removals the deletion guard holds.

Each lasts as long as it is true of the ledger: a later file of the feed that commits ends a
rejection and a rejected-rows problem (the report of the old file stays in the archive), an
approval ends a hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from etl.config.contracts import FeedContract
from etl.console.problems import Problem
from etl.state.ledger.base import FeedLedger, RunRow
from etl.transport.names import one_line, printable

MESSAGE_CHARS = 500
_QUARANTINED = "quarantined"  # how a quarantined file's message begins (etl.to_norce.feed)


def file_problems(ledger: FeedLedger, contracts: Iterable[FeedContract]) -> list[Problem]:
    """The latest file of each feed, rejected whole or with too many rejected rows."""
    found: list[Problem] = []
    for contract in contracts:
        latest = ledger.latest_file_run(contract.name)
        if latest is None:
            continue
        if latest.outcome == "rejected":
            found.append(_rejected(latest))
        elif (problem := _rejected_rows(contract, latest)) is not None:
            found.append(problem)
    return found


def held_problems(ledger: FeedLedger) -> list[Problem]:
    """One `held_removals` problem per hold waiting for an operator."""
    return [_held(h) for h in ledger.pending_holds()]


def _rejected(run: RunRow) -> Problem:
    message = one_line(run.message or "")[:MESSAGE_CHARS]
    quarantined = message.startswith(_QUARANTINED)
    archived = (
        f"archived it with a report in {run.archive_dir}"
        if run.archive_dir
        else ("left it where it is on the server")
    )
    return Problem(
        # Per feed, not per file: a newer file rejected too is the same problem going on,
        # not a resolved one and a new one; it ends when a file of the feed commits.
        key=f"{'quarantined' if quarantined else 'rejected'}:{run.feed}",
        kind="quarantined" if quarantined else "rejected_file",
        subject=f"feed {run.feed}, file {_name(run)}",
        what=message if quarantined else f"the whole file was rejected: {message}",
        did=f"applied nothing of it and {archived}; later files go on",
        # A contract that was wrong: fix it, then take the archived file again as it is; a
        # file that is wrong: only a corrected export helps, checked before it is dropped.
        command=(
            "ask the ERP for a corrected export; try it first with run.py check FILE"
            if quarantined
            else f"if the contract was wrong: fix it, then run.py replay {run.run_id} --why ...; "
            "if the file was: ask the ERP for a corrected export; run.py check FILE tries it"
        ),
        since=run.started_at,
    )


def _rejected_rows(contract: FeedContract, run: RunRow) -> Problem | None:
    limit = contract.checks.alert_rejected_rows
    rejected = run.counts.get("rejected", 0)
    if limit is None or rejected <= limit:
        return None
    rows = run.counts.get("rows")
    of = f" of {rows}" if rows is not None else ""
    return Problem(
        key=f"rejected-rows:{run.feed}",  # per feed, as a rejected file
        kind="rejected_rows",
        subject=f"feed {run.feed}, file {_name(run)}",
        what=f"{rejected}{of} rows were rejected, more than the contract's "
        f"checks.alert_rejected_rows ({limit})",
        did="applied the other rows; each rejected row keeps its last accepted state; the "
        f"rejected-row report is in {run.archive_dir}",
        # The rows come right with the ERP's next file; a contract that was too strict is
        # fixed and the file taken again.
        command=f"run.py trace KEY shows a row's story; after a contract fix: run.py replay {run.run_id}",
        since=run.started_at,
    )


def _held(hold: dict[str, Any]) -> Problem:
    run_id = str(hold["run_id"])
    return Problem(
        key=f"held:{run_id}",
        kind="held_removals",
        subject=f"feed {hold['feed']}",
        what=f"{hold['removals']} removals held by the deletion guard: "
        f"{one_line(str(hold['reason']))}",
        did="sent the adds and changes; the removals wait for an operator",
        command=f"run.py approve {run_id}",
        since=str(hold["created_at"]),
    )


def _name(run: RunRow) -> str:
    return printable((run.remote_path or run.kind).rsplit("/", 1)[-1])
