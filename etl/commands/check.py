"""`run.py check FILE`: a file validated as every feed that would read it does, writing no state."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from etl.config.contracts import FeedContract
from etl.config.settings import (
    Settings,
)
from etl.entities import DocumentEntity
from etl.errors import EtlError, FileRejected
from etl.jobs import chosen_feeds
from etl.models import Merge, Part
from etl.read.deactivations import ignored_cells
from etl.read.reports import (
    CHECK_ALL_ROWS,
    CHECK_CLEAN,
    CHECK_FILE,
    CHECK_ROWS,
    FileFacts,
    RowCounts,
    summary_lines,
    write_reports,
)
from etl.state.areas import Areas
from etl.to_norce.check_feeds import no_feed_message, pickup_feeds, readers, several_warning
from etl.to_norce.check_state import CheckState, hold_warning, marked_rows
from etl.to_norce.documents.grouping import all_rejections, group
from etl.to_norce.feed import parse_and_validate, refuse_if_suspect
from etl.to_norce.records import file_rejections, rejection_report, whole_file_counts


def add_check_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `check` on the CLI's subparsers."""
    check = sub.add_parser(
        "check",
        help="validate a file as every feed that would read it does, without changing any state",
    )
    check.add_argument("file", type=Path)
    check.add_argument(
        "--feed", help="check against this feed (default: every feed whose pattern takes the name)"
    )
    check.add_argument(
        "--out", type=Path, help="folder for the reports (default: outbox/checks/<feed>)"
    )
    check.set_defaults(handler=check_command)


def check_command(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    """Validate a file as a run would, for every feed that would read it, each said why.

    Without --feed: the feeds whose source.pattern takes the file's name (2 if none does).
    Prints each report's summary; 1 if anything was rejected by any of them.
    """
    path: Path = args.file
    if not path.is_file():
        raise EtlError(f"no such file: {path}")
    pickups = (
        chosen_feeds(contracts, args.feed) if args.feed else pickup_feeds(contracts, path.name)
    )
    if not pickups:
        print("\n".join(no_feed_message(contracts, path.name)), file=sys.stderr)
        return 2
    if len(pickups) > 1:
        print(several_warning(pickups, path.name))
    rejected = False
    # Each feed's rows are held against what the feeds checked before it would leave.
    state = CheckState(settings)
    for n, reader in enumerate(r for p in pickups for r in readers(p, path.name)):
        if n:
            print()
        print("\n".join(reader.header()))
        pickup = reader.contract.source.from_feed or reader.contract.name
        out = args.out or Areas(settings.home).feed_checks(pickup)
        # Two feeds picking up one file may share --out: each report is named by its feed.
        own = reader.contract.name == pickup and not (args.out and len(pickups) > 1)
        stem = f"{path.stem}.rejected" if own else f"{path.stem}.{reader.contract.name}.rejected"
        rejected |= check_one(path, reader.contract, out, stem, state)
    return 1 if rejected else 0


def check_one(path: Path, contract: FeedContract, out: Path, stem: str, state: CheckState) -> bool:
    """Check `path` against one feed's contract; prints the summary; True if anything was rejected."""
    error: FileRejected | None = None
    parts: tuple[Part, ...] = ()
    merges: tuple[Merge, ...] = ()
    warning = None
    try:
        validated = parse_and_validate(path, contract, out)
        parts = validated.parts
        document = isinstance(contract.entity, DocumentEntity)
        if not document:  # references and deactivations, against the snapshots (see CheckState)
            validated = state.settle(validated, contract)
        refuse_if_suspect(validated, contract, path.name)
        # A document feed holds back whole documents a run would not send (a line rejected,
        # a status code the contract does not map): the check says so as the run's report would.
        held = group(validated, contract).rejections if document else None
        if not document:
            warning = hold_warning(validated, contract, state.remember(validated, contract))
    except FileRejected as exc:
        error, rejections = exc, file_rejections(exc)
        outcome, rows, cells = CHECK_FILE, whole_file_counts(exc), rejections
    else:
        rejections = all_rejections(validated, held) if held is not None else validated.rejections
        cells = rejections
        merged = validated.merged
        bad_lines = int(rejections["line"].n_unique()) if rejections.height else 0
        accepted = validated.valid.height if held is None else validated.rows_read - bad_lines
        outcome = CHECK_CLEAN
        if rejections.height:  # "the other rows" only when there are some
            outcome = CHECK_ROWS if accepted else CHECK_ALL_ROWS
        rows = RowCounts(
            validated.rows_read, accepted, bad_lines, merged.count, marked_rows(validated, contract)
        )
        merges = merged.examples
        # Cells of rows taken as deactivations all the same: listed as a run's report lists
        # them, but no row is rejected for them.
        ignored = ignored_cells(validated.forgiven) if held is None else None
        if ignored is not None and ignored.height:
            cells = pl.concat([rejections, ignored]).sort("line", "field", nulls_last=True)
    report = rejection_report(
        path,
        contract,
        cells,
        facts=FileFacts.of(path),
        outcome=outcome,
        rows=rows,
        scratch=out,
        file_error=error,
        parts=parts,
        merges=merges,
    )
    print("\n".join(summary_lines(report)))
    if warning:
        print(warning)
    if not cells.height:
        # An earlier check's report of this file would say it is still bad.
        for stale in (out / f"{stem}.xlsx", out / f"{stem}.csv"):
            if stale.is_file():
                stale.unlink()
                print(f"Removed the earlier report {stale}: the file is clean now")
        return False
    for written in write_reports(report, out, stem):
        print(f"Report: {written}")
    return bool(rejections.height)
