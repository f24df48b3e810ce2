"""What a finished file leaves behind: archive folder, manifest, reports, ledger row, tidy-up.

Used by the master-data flow for committed, rejected and duplicate files alike.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from etl.config.contracts import FeedContract
from etl.config.run_order import family_order
from etl.entities.calls import CallResult
from etl.errors import FileRejected, SuspectFile, TransportError
from etl.models import IS_ACTIVE, LINE, Delta, Merge, Part, Validated
from etl.read.deactivations import ignored_cells, marked_inactive
from etl.read.formats.raw import raw_records
from etl.read.reports import (
    FILE_REJECTED,
    ROWS_ALL_REJECTED,
    ROWS_IGNORED,
    ROWS_REJECTED,
    FileFacts,
    Report,
    RowCounts,
    summary,
    write_reports,
)
from etl.read.validate import REJECTION_SCHEMA
from etl.runtime import Runtime
from etl.state.ledger.base import Commit
from etl.state.manifest import Manifest
from etl.to_norce.intake import Fetched, settle_remote
from etl.to_norce.masterdata.staging import delivery_summary

log = logging.getLogger(__name__)


@dataclass
class FileOutcome:
    """What happened to one file, for the CLI and the scheduler's log."""

    feed: str
    name: str
    outcome: str  # committed, rejected, duplicate, failed, skipped
    run_id: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    message: str = ""


@dataclass
class Timer:
    """Seconds and peak memory per stage, for the manifest and the benchmark."""

    laps: dict[str, float] = field(default_factory=dict)
    peaks_mb: dict[str, float] = field(default_factory=dict)
    _last: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        _reset_peak_rss()

    def lap(self, stage: str) -> None:
        """Close the current stage: its seconds, and the process's peak RSS during it."""
        now = time.perf_counter()
        self.laps[stage] = round(now - self._last, 3)
        peak = _peak_rss_mb()
        if peak is not None:
            self.peaks_mb[stage] = peak
        _reset_peak_rss()
        self._last = time.perf_counter()


def _peak_rss_mb() -> float | None:
    """Peak resident memory since the last reset (Linux VmHWM); None where not available."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def _reset_peak_rss() -> None:
    """Start a new peak measurement (Linux: writing 5 to clear_refs resets VmHWM)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def write_rejections(
    validated: Validated,
    contract: FeedContract,
    fetched: Fetched,
    folder: Path,
    counts: dict[str, int],
) -> list[str]:
    """The rejected-row reports of a run, if any row was rejected; returns their names."""
    ignored = ignored_cells(validated.forgiven)
    if not validated.rejections.height and not ignored.height:
        return []
    # Cells not sent for rows deactivated all the same: listed, but no row is rejected.
    cells = validated.rejections
    if ignored.height:  # a document feed's Validated has no forgiven cells, nor their columns
        cells = pl.concat([cells, ignored]).sort("line", "field", nulls_last=True)
    report = rejection_report(
        fetched.local,
        contract,
        cells,
        facts=FileFacts.of(fetched.local, fetched.sha),
        outcome=(ROWS_REJECTED if counts["accepted"] else ROWS_ALL_REJECTED)
        if validated.rejections.height
        else ROWS_IGNORED,
        rows=RowCounts(
            counts["rows"], counts["accepted"], counts["rejected"], counts.get("merged", 0)
        ),
        scratch=fetched.local.parent,
        parts=validated.parts,
        merges=validated.merged.examples,
    )
    return [p.name for p in write_reports(report, folder, f"{fetched.local.stem}.rejected")]


def rejection_report(
    source: Path,
    contract: FeedContract,
    rejections: pl.DataFrame,
    *,
    facts: FileFacts,
    outcome: str,
    rows: RowCounts | None,
    scratch: Path,
    file_error: FileRejected | None = None,
    parts: tuple[Part, ...] = (),
    merges: tuple[Merge, ...] = (),
) -> Report:
    """A file's report: summary, rejected cells, and each rejected line as it was written.

    Shared by runs and `run.py check`, so both show the same thing for the same file.
    """
    # A workbook refused as a whole may be hostile, and calamine is safe only after the
    # reader's bounds check passed: it is opened again only when the file was read.
    read = file_error is None or isinstance(file_error, SuspectFile)
    if isinstance(file_error, SuspectFile):
        parts = tuple(p for p in file_error.parts if isinstance(p, Part))
    lines = rejections["line"].drop_nulls().to_list()
    # Rows about people show only the failing cell: the raw line would carry the whole person.
    about_people = contract.entity.personal is not None
    raw = (
        raw_records(source, contract, lines, scratch, parts)
        if (read or contract.format.type != "xlsx") and not about_people
        else {}
    )
    error = str(file_error) if file_error else None
    return Report(
        summary(facts, contract, outcome, rows, error),
        rejections,
        raw,
        contract.key_fields,
        parts,
        merges,
    )


def file_rejections(exc: FileRejected) -> pl.DataFrame:
    """The rejected cells of a file refused whole: its own error first, then any row's."""
    cell = {"line": exc.line, "key": None, "field": None, "source_column": exc.column}
    cell |= {"code": exc.code, "message": str(exc), "value": None}
    rejection = pl.DataFrame([cell], schema=REJECTION_SCHEMA)
    rows = getattr(exc, "rejections", None)  # row-level failures, when the file was read
    if isinstance(rows, pl.DataFrame) and rows.height:
        rejection = pl.concat([rejection, rows.select(REJECTION_SCHEMA.keys())])
    return rejection


def whole_file_counts(exc: FileRejected) -> RowCounts | None:
    """A file refused whole applies none of its rows; how many it had is known if it was read."""
    if isinstance(exc, SuspectFile) and exc.rows_read is not None:
        return RowCounts(exc.rows_read, 0, exc.rows_read)
    return None


# A manifest names this many lines that marked rows inactive; delta.parquet names them all.
SHOWN_LINES = 20


def inactive_counts(contract: FeedContract, validated: Validated, delta: Delta) -> dict[str, int]:
    """For a contract that maps is_active: rows added inactive, and cells not sent because
    their row was deactivated all the same (etl.read.deactivations); others count neither."""
    if IS_ACTIVE not in contract.field_sources():
        return {}
    return {
        "added_inactive": delta.adds.filter(marked_inactive(delta.adds)).height,
        "forgiven_cells": validated.forgiven.height,
    }


def removal_causes(delta: Delta) -> dict[str, Any]:
    """Why the run's removals (sent or held) go: missing from the file, or marked inactive."""
    marked = (
        delta.marked[LINE].sort()
        if LINE in delta.marked.columns
        else pl.Series(LINE, [], dtype=pl.Int64)
    )
    return {
        "missing_from_file": delta.removals.height + delta.held.height - marked.len(),
        "marked_inactive": marked.len(),
        "marked_inactive_lines": marked.head(SHOWN_LINES).to_list(),
    }


def manifest(
    rt: Runtime,
    contract: FeedContract,
    fetched: Fetched,
    run_id: str,
    counts: dict[str, int],
    results: list[CallResult],
    timer: Timer,
    snapshots: tuple[str | None, str],
    hold_reason: str | None,
    reports: list[str],
    removals: dict[str, Any] | None = None,
) -> Manifest:
    """The committed run's manifest: input, counts, why rows go, snapshots, calls, timings."""
    return Manifest.new(
        run_id=run_id,
        feed=contract.name,
        entity=contract.entity.name,
        outcome="committed",
        finished_at=rt.stamp(),
        contract=str(contract.path),
        input=fetched.describe(),
        counts=counts,
        held_reason=hold_reason,
        removals=removals,
        reports=reports,
        snapshot={"base": snapshots[0], "new": snapshots[1]},
        delivery=delivery_summary(rt, results),
        timings_seconds=timer.laps,
        peak_rss_mb=timer.peaks_mb,
    )


def record_duplicate(
    rt: Runtime, contract: FeedContract, fetched: Fetched, run_id: str, earlier: str
) -> FileOutcome:
    """Content already committed: remember the listing, tidy up, send nothing."""
    message = f"same content as committed run {earlier}; not processed again"
    rt.ledger.commit(
        Commit(
            run_id,
            contract.name,
            "duplicate",
            rt.stamp(),
            {},
            [],
            None,
            message,
            file=fetched.ledger_file(),
            file_state="duplicate",
        )
    )
    log.info("%s: %s: %s", contract.name, fetched.local.name, message)
    if not family_order(contract)[1]:
        release_file(rt, contract, fetched, "committed")
    return FileOutcome(contract.name, fetched.local.name, "duplicate", run_id, message=message)


def record_rejection(
    rt: Runtime, contract: FeedContract, fetched: Fetched, run_id: str, exc: FileRejected
) -> FileOutcome:
    """A whole file refused: archive it under rejected/ with a report saying why."""
    feed, name = contract.name, fetched.local.name
    log.error("%s: %s: file rejected: %s", feed, name, exc)
    staged = rt.archive.stage(feed, rt.day(), run_id, rejected=True)
    rt.archive.keep_input(fetched.local, staged)
    report = rejection_report(
        fetched.local,
        contract,
        file_rejections(exc),
        facts=FileFacts.of(fetched.local, fetched.sha),
        outcome=FILE_REJECTED,
        rows=whole_file_counts(exc),
        scratch=fetched.local.parent,
        file_error=exc,
    )
    stem = f"{fetched.local.stem}.rejected"
    reports = [p.name for p in write_reports(report, staged, stem)]
    document = Manifest.new(
        run_id=run_id,
        feed=feed,
        outcome="rejected",
        error=str(exc),
        code=exc.code,
        line=exc.line,
        column=exc.column,
        reports=reports,
        input=fetched.describe(),
    )
    rt.archive.write_manifest(staged, document)
    rt.ledger.commit(
        Commit(
            run_id,
            feed,
            "rejected",
            rt.stamp(),
            {},
            [],
            str(rt.archive.final(staged)),
            str(exc),
            file=fetched.ledger_file(),
            file_state="rejected",
        )
    )
    after_commit(rt, contract, fetched, staged, "rejected")
    return FileOutcome(feed, name, "rejected", run_id, message=str(exc))


def after_commit(
    rt: Runtime, contract: FeedContract, fetched: Fetched, staged: Path, outcome: str
) -> None:
    """Steps that only tidy up: each is safe to redo, so a crash here loses nothing.

    A feed that reads another feed's file leaves the file to that feed, and a feed whose
    file other feeds read after it leaves it to them (the run releases it once they are done).
    """
    rt.archive.publish(staged)
    if contract.source.from_feed is None and not family_order(contract)[1]:
        release_file(rt, contract, fetched, outcome)


def release_file(rt: Runtime, contract: FeedContract, fetched: Fetched, outcome: str) -> None:
    """The file is done with: drop the inbox copy, move the remote file (and marker) on."""
    fetched.local.unlink(missing_ok=True)
    try:
        settle_remote(rt.store(contract.source.store), contract.source, fetched.candidate, outcome)
    except TransportError as exc:
        log.warning(
            "%s: committed, but could not move %s on the server yet: %s",
            contract.name,
            fetched.remote.path,
            exc,
        )
