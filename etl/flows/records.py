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

from etl.contracts import FeedContract
from etl.errors import FileRejected, TransportError
from etl.flows.runtime import Runtime
from etl.flows.staging import delivery_summary
from etl.intake import Candidate, settle_remote
from etl.ledger import Commit
from etl.models import Validated
from etl.norce.calls import CallResult
from etl.reports import write_reports
from etl.validate import REJECTION_SCHEMA

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
    local: Path,
    sha: str,
    folder: Path,
    counts: dict[str, int],
) -> list[str]:
    if not validated.rejections.height:
        return []
    summary: dict[str, Any] = {
        "File": local.name,
        "Feed": contract.name,
        "Size (bytes)": local.stat().st_size,
        "SHA-256": sha,
        "Rows read": counts["rows"],
        "Rows accepted": counts["accepted"],
        "Rows rejected": counts["rejected"],
    }
    return [
        p.name
        for p in write_reports(validated.rejections, summary, folder, f"{local.stem}.rejected")
    ]


def manifest(
    rt: Runtime,
    contract: FeedContract,
    candidate: Candidate,
    local: Path,
    sha: str,
    run_id: str,
    counts: dict[str, int],
    results: list[CallResult],
    timer: Timer,
    base: tuple[str, str, int] | None,
    snapshot_path: str,
    hold_reason: str | None,
    reports: list[str],
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "feed": contract.name,
        "entity": contract.entity.name,
        "outcome": "committed",
        "finished_at": rt.stamp(),
        "contract": str(contract.path),
        "input": {
            "name": local.name,
            "remote_path": candidate.remote.path,
            "size": candidate.remote.size,
            "mtime": candidate.remote.mtime,
            "sha256": sha,
        },
        "counts": counts,
        "held_reason": hold_reason,
        "reports": reports,
        "snapshot": {"base": base[0] if base else None, "new": snapshot_path},
        "delivery": delivery_summary(rt, results),
        "timings_seconds": timer.laps,
        "peak_rss_mb": timer.peaks_mb,
    }


def record_duplicate(
    rt: Runtime,
    contract: FeedContract,
    candidate: Candidate,
    local: Path,
    sha: str,
    run_id: str,
    earlier: str,
) -> FileOutcome:
    message = f"same content as committed run {earlier}; not processed again"
    remote = candidate.remote
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
            file=(sha, remote.path, remote.size, remote.mtime),
            file_state="duplicate",
        )
    )
    store = rt.store(contract.source.store)
    settle_remote(store, contract.source, candidate, "committed")
    local.unlink(missing_ok=True)
    log.info("%s: %s: %s", contract.name, local.name, message)
    return FileOutcome(contract.name, local.name, "duplicate", run_id, message=message)


def record_rejection(
    rt: Runtime,
    contract: FeedContract,
    candidate: Candidate,
    local: Path,
    sha: str,
    run_id: str,
    exc: FileRejected,
) -> FileOutcome:
    feed = contract.name
    log.error("%s: %s: file rejected: %s", feed, local.name, exc)
    staged = rt.archive.stage(feed, rt.day(), run_id, rejected=True)
    rt.archive.keep_input(local, staged)
    cell = {"line": exc.line, "key": None, "field": None, "source_column": exc.column}
    cell |= {"code": exc.code, "message": str(exc), "value": None}
    rejection = pl.DataFrame([cell], schema=REJECTION_SCHEMA)
    summary = {"File": local.name, "Feed": feed, "SHA-256": sha, "File-level error": str(exc)}
    reports = [p.name for p in write_reports(rejection, summary, staged, f"{local.stem}.rejected")]
    rt.archive.write_json(
        staged / "manifest.json",
        {
            "run_id": run_id,
            "feed": feed,
            "outcome": "rejected",
            "error": str(exc),
            "code": exc.code,
            "line": exc.line,
            "column": exc.column,
            "reports": reports,
            "input": {
                "name": local.name,
                "remote_path": candidate.remote.path,
                "sha256": sha,
                "size": candidate.remote.size,
            },
        },
    )
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
            file=(sha, candidate.remote.path, candidate.remote.size, candidate.remote.mtime),
            file_state="rejected",
        )
    )
    after_commit(rt, contract, candidate, local, staged, "rejected")
    return FileOutcome(feed, local.name, "rejected", run_id, message=str(exc))


def after_commit(
    rt: Runtime,
    contract: FeedContract,
    candidate: Candidate,
    local: Path,
    staged: Path,
    outcome: str,
) -> None:
    """Steps that only tidy up: each is safe to redo, so a crash here loses nothing."""
    rt.archive.publish(staged)
    local.unlink(missing_ok=True)
    try:
        settle_remote(rt.store(contract.source.store), contract.source, candidate, outcome)
    except TransportError as exc:
        log.warning(
            "%s: committed, but could not move %s on the server yet: %s",
            contract.name,
            candidate.remote.path,
            exc,
        )
