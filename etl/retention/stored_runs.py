"""Purge of feeds' runs in object storage (`[storage] backend = "s3"`): the disk's rule, there.

A published run past its feed's `[archive] retention_days` keeps only its manifest, as a run
folder on the disk does: its age is the manifest's `finished_at`, else the end of its date
folder's day. Order of work, so a crash loses nothing and never shows a listed run half gone:

1. each file is read and hashed (name, size, SHA-256);
2. the manifest is put again, whole, with `purged_at` and those records: from here on the run
   says it is purged, and what it held;
3. the archive's `remove` puts the run's mark again naming only the manifest, then deletes
   the other objects. A purge that dies here leaves objects its mark no longer names; the
   next purge finds them (a run's objects are listed, not read from the mark) and deletes them.

The run and its mark stay: `trace` still counts it as purged, as on the disk. A store that
fails leaves the run as it is, named among the summary's skipped, for the next purge.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from etl.dates import moment, utc
from etl.retention.summary import AreaSummary, Removal, day_of, end_of
from etl.state.base import Archive
from etl.state.blobs import StorageError
from etl.state.manifest import MANIFEST, ManifestError

_CHUNK = 1 << 20


def purge_stored(
    archive: Archive, home: Path, summary: AreaSummary, now: dt.datetime, *, dry_run: bool
) -> None:
    """Purge the summary's feed's published runs past its retention; counts go to `summary`."""
    if summary.retention_days is None:
        return
    cutoff = utc(now) - dt.timedelta(days=summary.retention_days)
    try:
        runs = [*archive.runs(summary.area), *archive.runs(summary.area, rejected=True)]
    except StorageError as exc:
        summary.skipped.append(f"archive/{summary.area} in object storage: {exc}")
        return
    stamp = utc(now).isoformat(timespec="seconds")
    for run in runs:
        try:
            _purge_run(archive, run, cutoff, stamp, summary, dry_run=dry_run)
        except (StorageError, ManifestError, OSError) as exc:
            summary.skipped.append(f"{_named(home, run)}: {exc}")


def _purge_run(
    archive: Archive,
    run: Path,
    cutoff: dt.datetime,
    stamp: str,
    summary: AreaSummary,
    *,
    dry_run: bool,
) -> None:
    """One run: younger, purged before, or purged now (the record first, the objects after)."""
    day = day_of(run.parent.name)
    if day is None:
        raise ManifestError(run, "not in a date folder (YYYY-MM-DD)")
    doc = archive.read_manifest(run)
    if (moment(doc.finished_at) or end_of(day)) > cutoff:
        summary.younger += 1
        return
    files = {n: size for n, size in archive.files(run).items() if n != MANIFEST}
    if not files:
        summary.purged_before += doc.purged_at is not None
        return
    if dry_run:
        summary.folders += 1
        summary.removals += [Removal(run / n, size) for n, size in files.items()]
        return
    removals = [_hashed(archive, run, name, size) for name, size in files.items()]
    # The entries read go back as read: a later version's keys in them are kept.
    entries = [*(doc.purged or []), *(r.record(run) for r in removals)]
    days = summary.retention_days
    archive.rewrite_manifest(run, doc.updated(purged_at=stamp, retention_days=days, purged=entries))
    archive.remove(run, list(files))
    summary.folders += 1
    summary.removals += removals


def _hashed(archive: Archive, run: Path, name: str, size: int) -> Removal:
    """The object's size and SHA-256, read from a local copy in pieces."""
    with archive.opened(run, name) as local:
        if local is None:  # gone since the listing: nothing left to record but its name
            return Removal(run / name, size)
        digest, read = hashlib.sha256(), 0
        with local.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                read += len(chunk)
    return Removal(run / name, read, digest.hexdigest())


def _named(home: Path, run: Path) -> str:
    """The run as the ledger names it (`archive/<feed>/<day>/<run>`)."""
    try:
        return run.relative_to(home).as_posix()
    except ValueError:
        return str(run)
