"""`run.py trace KEY`: what happened to one row, run by run, newest first.

It answers from the ledger and the archive alone (its runs on the disk or in object storage,
read through etl.state.base.Archive): the ledger lists a feed's runs and where each archived
its folder; a folder's manifest names the file, the Norce requests and the
approval, its `delta.parquet` (etl.to_norce.masterdata.trace) what the run did to the key and
its rejected-row report (etl.read.reports) why a row was refused. Only the key's rows are
read from each run (a filtered parquet scan), so a feed with years of runs stays cheap. A run
folder past its retention keeps only its manifest: the trail says how many runs that hides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from etl.config.contracts import FeedContract
from etl.console.trace_reports import Rejection, rejections
from etl.state.areas import from_ledger
from etl.state.base import Archive
from etl.state.blobs import StorageError
from etl.state.ledger.base import FeedLedger, RunRow
from etl.state.manifest import InputPart, Manifest, ManifestError
from etl.to_norce.masterdata.trace import NEW, OLD

# How many runs of a feed the ledger is asked for: all of them in practice.
_ALL_RUNS = 1_000_000
# What a request's label names (`0002-ImportProducts-change1`) for each action of the trail.
_CARRIED_BY = {"add": "add", "change": "change", "reactivate": "reactivate", "remove": "remove"}


@dataclass(frozen=True)
class Change:
    """One field a run changed: its value before and after."""

    field: str
    old: str | None
    new: str | None
    kept: bool = True  # False: the run's trail predates old and new values (names only)


@dataclass(frozen=True)
class Request:
    """A Norce request of the run that may have carried the row, and its job."""

    label: str
    job_id: str | None
    status: str | None
    location: str | None


@dataclass(frozen=True)
class Step:
    """What one run did with the key: an action of its trail, or a rejection of its file."""

    feed: str
    run_id: str
    at: str | None
    key: str
    action: str  # add | change | reactivate | remove | held | spared | rejected
    file: str | None = None
    line: int | None = None
    reason: str | None = None
    changes: tuple[Change, ...] = ()
    code: str | None = None
    message: str | None = None
    requests: tuple[Request, ...] = ()
    approves: str | None = None  # an approval: the run whose held removals it sent
    approved_by: str | None = None  # a hold: the run that sent its removals
    replay_of: str | None = None


@dataclass
class FeedTrail:
    """Every step of one feed for the key, newest first, and how far back the archive goes."""

    feed: str
    key_fields: tuple[str, ...]
    retention_days: int | None
    runs_read: int = 0
    runs_purged: int = 0  # folders past retention: only their manifest is left
    runs_missing: int = 0  # folders the ledger names that are gone or unreadable
    oldest_kept: str | None = None  # finished_at of the oldest run whose trail is still kept
    steps: list[Step] = field(default_factory=list)


def trace_feed(
    archive: Archive, home: Path, ledger: FeedLedger, contract: FeedContract, key: str
) -> FeedTrail:
    """The key's steps in every archived run of a master-data feed, newest first."""
    trail = FeedTrail(contract.name, contract.key_fields, contract.archive.retention_days)
    for run in ledger.runs(contract.name, _ALL_RUNS):
        if run.outcome != "committed" or run.archive_dir is None:
            continue
        folder = from_ledger(home, run.archive_dir)
        manifest = _manifest(archive, folder)
        if manifest is None or manifest.purged_at is not None:
            trail.runs_missing += manifest is None
            trail.runs_purged += manifest is not None
            continue
        trail.runs_read += 1
        trail.oldest_kept = run.finished_at
        trail.steps += run_steps(archive, folder, run, manifest, key)
    approvals = {s.approves: s.run_id for s in trail.steps if s.approves}
    trail.steps = [
        replace(s, approved_by=approvals.get(s.run_id)) if s.action == "held" else s
        for s in trail.steps
    ]
    return trail


def run_steps(
    archive: Archive, folder: Path, run: RunRow, manifest: Manifest, key: str
) -> list[Step]:
    """The key's rows in one run's trail, then its rejected rows."""
    with archive.opened(folder, "delta.parquet") as trail:
        rows = _trail_rows(trail, key)
    base = _base_step(run, manifest, key)
    parts = manifest.input.parts if manifest.input and manifest.input.parts else []
    requests = _requests(manifest)
    steps = [
        _in_part(_trail_step(base, row, requests), parts) for row in rows.iter_rows(named=True)
    ]
    found = rejections(archive, folder, manifest.reports or [], key)
    steps += [_rejected_step(base, r) for r in found]
    return steps


def _matches(column: str, key: str) -> pl.Expr:
    """The key itself, or every key it starts (a SKU finds its prices in every list)."""
    return (pl.col(column) == key) | pl.col(column).str.starts_with(key + " / ")


def _trail_rows(path: Path | None, key: str) -> pl.DataFrame:
    """Only the key's rows of a run's delta.parquet (none when the run wrote none)."""
    if path is None:
        return pl.DataFrame()
    return pl.scan_parquet(path, glob=False).filter(_matches("key", key)).collect()


def _manifest(archive: Archive, folder: Path) -> Manifest | None:
    try:
        return archive.read_manifest(folder)
    except (OSError, ManifestError, StorageError):
        return None


def _base_step(run: RunRow, manifest: Manifest, key: str) -> Step:
    """What every step of the run shares: feed, run, time, file, approval, replay."""
    name = manifest.input.name if manifest.input else None
    at = manifest.finished_at or run.finished_at
    return Step(
        run.feed,
        run.run_id,
        at,
        key,
        "",
        file=name,
        approves=manifest.approves,
        replay_of=manifest.replay_of,
    )


def _trail_step(base: Step, row: Mapping[str, object], requests: Sequence[Request]) -> Step:
    action = str(row["action"])
    line = row.get("line")
    kind = _CARRIED_BY.get(action)
    return Step(
        base.feed,
        base.run_id,
        base.at,
        str(row["key"]),
        action,
        file=base.file,
        line=line if isinstance(line, int) else None,
        reason=_text(row.get("reason")),
        changes=_changes(row),
        requests=_carried(row, requests, kind),
        approves=base.approves,
        replay_of=base.replay_of,
    )


def _carried(
    row: Mapping[str, object], requests: Sequence[Request], kind: str | None
) -> tuple[Request, ...]:
    """The request that carried the row; a trail from before `request` was kept: those of its kind."""
    label = row.get("request")
    if label is not None:
        return tuple(r for r in requests if r.label == label)
    if "request" in row:  # the trail knows: this row went in no request
        return ()
    return tuple(r for r in requests if kind is not None and _kind(r.label) == kind)


def _in_part(step: Step, parts: Sequence[InputPart]) -> Step:
    """A zip of several files numbers its lines on through them: the file and its own line."""
    inside = [p for p in parts if step.line is not None and step.line > p.lines_after]
    if not inside or step.line is None:
        return step
    part = max(inside, key=lambda p: p.lines_after)
    return replace(step, file=f"{step.file}: {part.name}", line=step.line - part.lines_after)


def _rejected_step(base: Step, rejection: Rejection) -> Step:
    return Step(
        base.feed,
        base.run_id,
        base.at,
        rejection.key,
        "rejected",
        file=f"{base.file}: {rejection.part}" if rejection.part else base.file,
        line=rejection.line,
        code=rejection.code,
        message=rejection.message,
        replay_of=base.replay_of,
    )


def _changes(row: Mapping[str, object]) -> tuple[Change, ...]:
    """Each changed field with its values, in the order the trail lists them."""
    named = _text(row.get("changed"))
    if not named:
        return ()
    return tuple(
        Change(f, _text(row.get(OLD + f)), _text(row.get(NEW + f)), kept=NEW + f in row)
        for f in named.split(",")
    )


def _requests(manifest: Manifest) -> list[Request]:
    calls = manifest.delivery.calls if manifest.delivery and manifest.delivery.calls else []
    return [Request(c.label, c.job_id, c.status, c.location) for c in calls]


def _kind(label: str) -> str:
    """`0002-ImportProducts-change1` -> `change`: the action a request carried."""
    kind = label.split("-", 2)[-1]
    return "change" if kind.startswith("change") else kind


def _text(value: object) -> str | None:
    return None if value is None else str(value)
