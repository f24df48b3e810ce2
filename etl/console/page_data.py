"""What the console page shows, read from the ledger and the archive; nothing is changed.

The page (etl.console.page_html) shows today's and yesterday's runs per feed, the problems
that need a person (etl.console.sources), held removals, orders by state and the last
alerts, with links to each run's report files (read through the archive, so from object
storage too with `[storage] backend = "s3"`). Only report files are ever served: a run's
`manifest.json` and the rejected-row reports its manifest lists. The ERP's input file,
`delta.parquet` and order files are never served: they hold every row as sent (customer
names, addresses); a rejected-row report holds only the rows that were refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl.alerts.book import AlertRecord, recent_alerts
from etl.config.contracts import FeedContract
from etl.console.problems import Problem
from etl.console.sources import find_problems
from etl.runtime import Runtime
from etl.state.areas import Areas
from etl.state.base import Archive
from etl.state.blobs import StorageError
from etl.state.ledger.base import FeedLedger, RunRow
from etl.state.ledger.connection import LedgerAt
from etl.state.manifest import ManifestError
from etl.to_erp.orders.book import OrderBook

MANIFEST = "manifest.json"
# A feed's runs of two days are among its last runs (a feed that runs every minute shows
# its newest ones; the page is an overview, `status` and the archive have the rest).
RUNS_LOOKED_AT = 200


@dataclass(frozen=True)
class RunView:
    """One run as the page lists it, with the report files it can link to."""

    run: RunRow
    reports: tuple[str, ...]


@dataclass(frozen=True)
class PageData:
    """Everything on the page, as read at one moment."""

    now: dt.datetime
    days: tuple[str, ...]  # the UTC dates shown: today, yesterday
    runs: dict[str, list[RunView]]  # feed -> its runs of those days, newest first
    # feed -> its newest run, for a feed with none on those days (None: it never ran)
    last_runs: dict[str, RunView | None]
    problems: list[Problem]
    holds: list[dict[str, Any]]
    orders: dict[str, int]  # state -> orders
    alerts: list[AlertRecord]


def page_data(
    rt: Runtime, contracts: dict[str, FeedContract], now: dt.datetime, alerts_shown: int
) -> PageData:
    """Read the page's content from the ledger and the archive."""
    days = shown_days(now)
    home = rt.settings.home
    runs = {
        feed: [
            RunView(run, report_names(rt.archive, home, run))
            for run in runs_of(rt.ledger, feed, days)
        ]
        for feed in sorted(contracts)
    }
    last_runs = {
        feed: _last_run(rt.archive, rt.ledger, home, feed)
        for feed, shown in runs.items()
        if not shown
    }
    return PageData(
        now=now,
        days=days,
        runs=runs,
        last_runs=last_runs,
        problems=find_problems(rt, contracts, now),
        holds=rt.ledger.pending_holds(),
        orders=order_counts(rt.ledger.at),
        alerts=recent_alerts(rt.ledger.at, alerts_shown),
    )


def shown_days(now: dt.datetime) -> tuple[str, ...]:
    """Today's and yesterday's date in UTC, as the ledger's times begin."""
    today = now.astimezone(dt.UTC).date()
    return (today.isoformat(), (today - dt.timedelta(days=1)).isoformat())


def runs_of(ledger: FeedLedger, feed: str, days: Sequence[str]) -> list[RunRow]:
    """The feed's runs that started on one of `days`, newest first."""
    return [r for r in ledger.runs(feed, RUNS_LOOKED_AT) if r.started_at[:10] in days]


def _last_run(archive: Archive, ledger: FeedLedger, home: Path, feed: str) -> RunView | None:
    """The feed's newest run of any day, so a feed that stopped still has its row."""
    newest = ledger.runs(feed, 1)
    return RunView(newest[0], report_names(archive, home, newest[0])) if newest else None


def order_counts(ledger: LedgerAt) -> dict[str, int]:
    """Orders per state."""
    book = OrderBook(ledger)
    try:
        return book.counts()
    finally:
        book.close()


def report_names(archive: Archive, home: Path, run: RunRow) -> tuple[str, ...]:
    """The files of a run that may be served: its manifest and the reports it lists that the
    run's folder holds (on the disk or in object storage)."""
    folder = run_folder(home, run)
    if folder is None:
        return ()
    try:
        held = archive.files(folder)
        if MANIFEST not in held:
            return ()
        manifest = archive.read_manifest(folder)
    except (OSError, ManifestError, StorageError):
        return ()  # unreadable or out of reach: nothing is known to be a report
    reports = (n for n in manifest.reports or () if n in held and "/" not in n)
    return (MANIFEST, *reports)


def run_folder(home: Path, run: RunRow) -> Path | None:
    """The run's archive folder; None when it has none or it lies outside archive/."""
    if not run.archive_dir:
        return None
    root = Areas(home).archive.resolve()
    folder = home / run.archive_dir
    return folder if folder.resolve().is_relative_to(root) else None


def report_file(
    archive: Archive, home: Path, ledger: FeedLedger, run_id: str, name: str
) -> bytes | None:
    """The report `name` of run `run_id`, or None when it is not one that may be served.

    Only a name the run's manifest lists is served, and only a file directly in the run's
    folder that the archive holds: `../`, links and absolute names lead nowhere.
    """
    run = ledger.run(run_id)
    if run is None or name not in report_names(archive, home, run):
        return None
    folder = run_folder(home, run)
    if folder is None:
        return None
    with archive.opened(folder, name) as path:
        return path.read_bytes() if path is not None else None
