"""`run.py purge` of refused and retaken bodies on object storage (`[storage] backend = "s3"`).

The same rule as on the disk (etl.retention.purge, `_Purger.refused`): settings `[archive]
orders_retention_days`, counted from the time in each body's name. Every machine purges the
bucket's `<prefix>/archive/<area>/rejected/` (orders and parties) and
`<prefix>/archive/orders/retaken/`, whichever receiver refused them:

1. each due body and its reason is read, for its size and SHA-256;
2. the folder's `manifest.json` object is put again, whole, with each one's record stamped
   `purged_at` (as the disk's folder manifest): from here on the removal is on record;
3. then the body and its reason are deleted.

A purge cut short after 2 leaves bodies the manifest already names; the next purge records
them again and deletes them. A store that fails stops the area with one line in the
summary (`skipped`); the rest of the purge goes on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from etl.config.settings import Settings
from etl.retention.summary import AreaSummary, Removal, log_summary
from etl.state.areas import FILE_AREAS, Areas
from etl.state.blob_refused import BlobRefused
from etl.state.blobs import BlobNotFound, StorageError, open_blobs
from etl.state.manifest import MANIFEST, Manifest
from etl.state.refused_base import FOLDERS, REASON, Folder, refused_at


def purge_stored_refused(
    settings: Settings, summaries: list[AreaSummary], now: dt.datetime, *, dry_run: bool
) -> list[AreaSummary]:
    """Purge the bucket's refused and retaken bodies into the summaries of the same names
    (`<area>/rejected`, made when missing); returns the summaries it made."""
    made: list[AreaSummary] = []
    days = settings.archive.orders_retention_days
    areas = Areas(settings.home)
    for area in FILE_AREAS:
        root = areas.file_area(area)
        store = BlobRefused(open_blobs(settings.storage, _key(areas, root), root))
        for folder in FOLDERS[area]:
            summary = _summary(summaries, made, f"{area}/{folder}", days)
            if days is not None:
                _purge_folder(store, folder, summary, now, dry_run)
                log_summary(summary, dry_run=dry_run)
    return made


def _purge_folder(
    store: BlobRefused, folder: Folder, summary: AreaSummary, now: dt.datetime, dry_run: bool
) -> None:
    """One folder of the bucket: what is due recorded in its manifest, then deleted."""
    where = Path("archive") / summary.area  # as the disk's summary names files
    days = summary.retention_days or 0
    cutoff = now - dt.timedelta(days=days)
    try:
        due = []
        for name in store.names(folder):
            if refused_at(name) > cutoff:
                summary.younger += 1
            else:
                due.append(name)
        if not due:
            return
        summary.folders += len(due)
        if dry_run:
            summary.removals += [Removal(where / n, _size(store, folder, n)) for n in due]
            return
        stamp = now.astimezone(dt.UTC).isoformat(timespec="seconds")
        summary.removals += _remove(store, folder, due, where, (stamp, days))
    except StorageError as exc:
        summary.skipped.append(f"{where} in the bucket: {exc}")


def _remove(
    store: BlobRefused, folder: Folder, due: list[str], where: Path, when: tuple[str, int]
) -> list[Removal]:
    """Hash, record in the folder's manifest object, then delete: a record is never lost."""
    removals = []
    for name in due:
        for part in (name, name + REASON):
            data = _read(store, folder, part)
            if data is not None:
                removals.append(Removal(where / part, len(data), hashlib.sha256(data).hexdigest()))
    _record(store, folder, removals, where, when)
    for name in due:
        store.delete(name, folder)
    return removals


def _record(
    store: BlobRefused, folder: Folder, removals: list[Removal], where: Path, when: tuple[str, int]
) -> None:
    """The folder's manifest object, put again with the records of `removals` added."""
    key = f"{folder}/{MANIFEST}"
    try:
        doc = Manifest.model_validate_json(store.blobs.read(key))
    except BlobNotFound:
        doc = Manifest()
    entries: list[object] = [*(doc.purged or [])]
    stamp, days = when
    entries += [r.record(where) | {"purged_at": stamp} for r in removals]
    record = doc.updated(purged_at=stamp, retention_days=days, purged=entries)
    store.blobs.put(key, json.dumps(record.as_json(), indent=2, ensure_ascii=False).encode())


def _read(store: BlobRefused, folder: Folder, part: str) -> bytes | None:
    try:
        return store.blobs.read(f"{folder}/{part}")
    except BlobNotFound:
        return None  # a reason never written, or deleted by another purge meanwhile


def _size(store: BlobRefused, folder: Folder, name: str) -> int:
    found = store.blobs.stat(f"{folder}/{name}")
    return 0 if found is None else found.size


def _summary(
    summaries: list[AreaSummary], made: list[AreaSummary], area: str, days: int | None
) -> AreaSummary:
    """The disk's summary of `area`, or a new one (kept in `made`)."""
    for summary in [*summaries, *made]:
        if summary.area == area:
            return summary
    made.append(AreaSummary(area, "orders", days))
    return made[-1]


def _key(areas: Areas, root: Path) -> str:
    return root.relative_to(areas.home).as_posix()
