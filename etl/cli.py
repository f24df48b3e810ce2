"""The commands. `run.py` parses nothing itself; everything starts here."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from etl.commands.orders import add_order_commands, order_status_lines
from etl.commands.parties import add_party_commands, export_all
from etl.commands.privacy import add_privacy_commands
from etl.config.contracts import FeedContract, load_contracts, order_of_runs
from etl.config.settings import DEFAULT_SETTINGS_FILE, Settings, load_settings
from etl.entities import DocumentEntity
from etl.errors import ConfigError, EtlError, FileRejected
from etl.logs import install as install_log_escaping
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
from etl.runtime import Runtime, utc_now
from etl.state.private_files import keep_private
from etl.state.purge import describe, purge_all, strays
from etl.status import render_holds, render_runs
from etl.to_norce.check_feeds import no_feed_message, pickup_feeds, readers, several_warning
from etl.to_norce.check_state import CheckState, hold_warning, marked_rows
from etl.to_norce.documents.book import DocumentBook
from etl.to_norce.documents.grouping import all_rejections, group
from etl.to_norce.documents.replay import add_replay_command
from etl.to_norce.documents.status import documents_status
from etl.to_norce.masterdata.approve import approve
from etl.to_norce.masterdata.flow import parse_and_validate, refuse_if_suspect, run_feed
from etl.to_norce.records import file_rejections, rejection_report, whole_file_counts
from etl.transport.names import one_line, printable

log = logging.getLogger("etl")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the process exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    install_log_escaping()  # every process starts here, the receiver too
    try:
        settings = _settings(args.config)
        keep_private(settings.home)
        contracts = load_contracts(settings)
        code = int(args.handler(args, settings, contracts))
        sys.stdout.flush()  # a reader that went away (`| head`) shows here, not at exit
        return code
    except BrokenPipeError:
        # As the Python docs advise for SIGPIPE: the rest of the output goes nowhere, quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return 2
    except EtlError as exc:
        log.error("%s", exc)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run.py", description="ERP <-> Norce Commerce batch integration"
    )
    parser.add_argument(
        "--config",
        type=Path,
        help=f"settings file (default: ./{DEFAULT_SETTINGS_FILE} if present, else $ETL_CONFIG, "
        "else the embedded default)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.set_defaults(handler=_serve)
    sub = parser.add_subparsers(title="commands")
    once = sub.add_parser(
        "once", help="run every feed (or one) once and exit; non-zero if any failed"
    )
    once.add_argument("--feed", help="only this feed")
    once.set_defaults(handler=_once)
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
    check.set_defaults(handler=_check)
    status = sub.add_parser("status", help="the last runs of each feed, and pending holds")
    status.add_argument("--feed", help="only this feed")
    status.add_argument("--limit", type=int, default=5, help="runs per feed (default 5)")
    status.set_defaults(handler=_status)
    appr = sub.add_parser("approve", help="release the removals a run's deletion guard held")
    appr.add_argument("run")
    appr.set_defaults(handler=_approve)
    feeds = sub.add_parser("feeds", help="list the feed contracts and where they pick up files")
    feeds.set_defaults(handler=_feeds)
    purging = sub.add_parser(
        "purge",
        help="personal data past its retention goes: archive folders keep only their manifest; "
        "snapshots, spools, ledger bodies and outbox files are reduced too",
    )
    purging.add_argument(
        "--dry-run", action="store_true", help="list what would be removed; remove nothing"
    )
    purging.set_defaults(handler=_purge)
    norce_check = sub.add_parser(
        "norce-check",
        help="before go-live: fetch a token and read one product, order and customer from the "
        "configured Norce tenant (writes nothing); non-zero if a step failed",
    )
    norce_check.set_defaults(handler=_norce_check)
    add_order_commands(sub)
    add_party_commands(sub)
    add_replay_command(sub)
    add_privacy_commands(sub)
    return parser


def _settings(path: Path | None) -> Settings:
    """--config, else ./etl.toml, else ETL_CONFIG, else the embedded default."""
    if path is None and Path(DEFAULT_SETTINGS_FILE).is_file():
        path = Path(DEFAULT_SETTINGS_FILE)
    if path is None and os.environ.get("ETL_CONFIG"):
        path = Path(os.environ["ETL_CONFIG"])
    return load_settings(path, os.environ)


def _serve(args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]) -> int:
    from etl.scheduler import serve

    rt = Runtime.open(settings)
    try:
        serve(rt, contracts)
    finally:
        rt.close()
    return 0


def _once(args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]) -> int:
    chosen = _chosen(contracts, args.feed)
    rt = Runtime.open(settings)
    seen: set[str] = set()
    try:
        for contract in chosen:
            outcomes = run_feed(rt, contract)
            if not outcomes:
                print(f"{contract.name}: no complete files waiting")
            for o in outcomes:
                counts = ", ".join(f"{k} {v}" for k, v in o.counts.items())
                print(
                    f"{o.feed}: {printable(o.name)}: {o.outcome}"
                    + (f" ({counts})" if counts else "")
                    + (f": {one_line(o.message)}" if o.message else "")
                )
                seen.add(o.outcome)
        if args.feed is None:
            seen |= _order_jobs(rt, settings)
    finally:
        rt.close()
    # 1: something failed and will be retried; 3: a whole file was rejected (needs a person).
    return 1 if "failed" in seen else 3 if "rejected" in seen else 0


def _order_jobs(rt: Runtime, settings: Settings) -> set[str]:
    """Poll Norce for orders (when configured), then export due orders to every layout."""
    from etl.to_erp.files.layouts import load_layouts
    from etl.to_erp.orders.jobs import describe_export, export_once, poll_once, polls

    seen: set[str] = set()
    if polls(rt):
        try:
            summary = poll_once(rt)
            print(f"orders <- Norce Query: {summary.read} read, {summary.spooled} new")
        except EtlError as exc:
            print(f"orders <- Norce Query: FAILED: {exc}")
            seen.add("failed")
    for layout in load_layouts(settings).values():
        export = export_once(rt, layout)
        print(describe_export(export))
        if export.error or export.stuck:
            seen.add("failed")
    for line, failed in export_all(rt):
        print(line)
        if failed:
            seen.add("failed")
    return seen


def _check(args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]) -> int:
    """Validate a file as a run would, for every feed that would read it, each said why.

    Without --feed: the feeds whose source.pattern takes the file's name (2 if none does).
    Prints each report's summary; 1 if anything was rejected by any of them.
    """
    path: Path = args.file
    if not path.is_file():
        raise EtlError(f"no such file: {path}")
    pickups = _chosen(contracts, args.feed) if args.feed else pickup_feeds(contracts, path.name)
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
        out = args.out or settings.folder("outbox") / "checks" / pickup
        # Two feeds picking up one file may share --out: each report is named by its feed.
        own = reader.contract.name == pickup and not (args.out and len(pickups) > 1)
        stem = f"{path.stem}.rejected" if own else f"{path.stem}.{reader.contract.name}.rejected"
        rejected |= _check_one(path, reader.contract, out, stem, state)
    return 1 if rejected else 0


def _check_one(path: Path, contract: FeedContract, out: Path, stem: str, state: CheckState) -> bool:
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


def _status(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    rt = Runtime.open(settings)
    try:
        feeds = [args.feed] if args.feed else list(contracts)
        runs = [run for feed in feeds for run in rt.ledger.runs(feed, args.limit)]
        print(render_runs(runs))
        holds = rt.ledger.pending_holds()
        if holds:
            print()
            print(render_holds(holds))
        print()
        print(order_status_lines(settings))
        print()
        documents = DocumentBook(rt.ledger.path)
        try:
            print(documents_status(documents))
        finally:
            documents.close()
    finally:
        rt.close()
    return 0


def _approve(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    rt = Runtime.open(settings)
    try:
        run_id = approve(rt, contracts, args.run)
    finally:
        rt.close()
    print(f"approved: removals held by {args.run} were sent in run {run_id}")
    return 0


def _feeds(args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]) -> int:
    for c in contracts.values():
        when = c.schedule.cron or f"every {c.schedule.interval_minutes:g} min"
        where = f"{c.source.store}:{c.source.folder}/{c.source.pattern}"
        if c.source.from_feed is not None:
            where, when = f"the files of feed {c.source.from_feed}", "in its runs"
        print(f"{c.name:<12} {c.entity.name:<8} {where}  ({c.format.type}, {when})  {c.path}")
    return 0


def _purge(args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]) -> int:
    """Remove personal data past its retention everywhere it rests; manifests keep hashes."""
    purged = purge_all(settings, contracts, utc_now(), dry_run=args.dry_run)
    for summary in purged.archive:
        for removal in summary.removals if args.dry_run else ():
            print(f"would remove {removal.path} ({removal.size:,} bytes)")
        print(describe(summary, dry_run=args.dry_run))
    for name in strays(settings, contracts):
        print(f"archive/{name}: no feed contract names it; left alone")
    for place in purged.places:
        print(place.line(dry_run=args.dry_run))
    print(purged.line())
    return 0


def _norce_check(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    from etl.norce.check import check_tenant

    report = check_tenant(settings, contracts)
    print("\n".join(report.lines()))
    return 1 if report.failed else 0


def _chosen(contracts: dict[str, FeedContract], feed: str | None) -> list[FeedContract]:
    if feed is None:
        return order_of_runs(contracts)
    if feed not in contracts:
        raise EtlError(f"no feed {feed!r}; known feeds: {', '.join(contracts)}")
    parent = contracts[feed].source.from_feed
    if parent is not None:
        raise EtlError(f"feed {feed!r} reads the files of feed {parent!r}: use --feed {parent}")
    return [contracts[feed]]
