"""Purge of the files the ERP got, in object storage (`[storage] backend = "s3"`).

The disk's rule (etl.retention.purge, `_Purger.files`), there: each day folder
`archive/<area>/exported/<layout>/<day>/` past settings `[archive] orders_retention_days`,
counted from the end of that day, keeps only its manifest.json. Order of work, so a purge
that dies loses no record: each file is fetched and hashed, the day folder's manifest is put
whole with `purged_at` and those records, then the objects are deleted (a purge cut short
leaves objects the next one deletes; the manifest already names them). The summaries are the
disk's: one per layout, `<area>/exported/<layout>`, the bucket's counts added to the disk's
when both hold the layout (a VM's leftovers after `migrate-state`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from pathlib import Path

from etl.dates import utc
from etl.retention.summary import AreaSummary, Removal, day_of, end_of, log_summary
from etl.state.areas import FILE_AREAS, Areas
from etl.state.blob_exported import BlobExported, open_blob_exported
from etl.state.blobs import StorageError, StorageOptions
from etl.state.manifest import Manifest, ManifestError

_CHUNK = 1 << 20


def purge_stored_exported(
    storage: StorageOptions,
    areas: Areas,
    summaries: list[AreaSummary],
    days: int | None,
    now: dt.datetime,
    *,
    dry_run: bool,
) -> None:
    """Purge every area's exported files in the bucket; into `summaries` (the disk's)."""
    for area in FILE_AREAS:
        stored = open_blob_exported(storage, areas, area)
        try:
            layouts = stored.layouts()
        except StorageError as exc:
            top = _summary(summaries, f"{area}/exported", days)
            top.skipped.append(f"archive/{area}/exported in object storage: {exc}")
            continue
        for layout in layouts:
            summary = _summary(summaries, f"{area}/exported/{layout}", days)
            before = len(summary.removals)
            _ExportedPurge(stored, areas.home, summary, now, dry_run).layout(layout)
            if len(summary.removals) > before:
                log_summary(summary, dry_run=dry_run)


def _summary(summaries: list[AreaSummary], name: str, days: int | None) -> AreaSummary:
    """The disk's summary of that name, else a new one placed before the area's refused one."""
    for summary in summaries:
        if summary.area == name:
            return summary
    summary = AreaSummary(name, "orders", days)
    refused = name.split("/", 1)[0] + "/rejected"
    at = next((i for i, s in enumerate(summaries) if s.area == refused), len(summaries))
    summaries.insert(at, summary)
    return summary


class _ExportedPurge:
    """One layout's day folders in the bucket, purged at one moment."""

    def __init__(
        self,
        stored: BlobExported,
        home: Path,
        summary: AreaSummary,
        now: dt.datetime,
        dry_run: bool,
    ) -> None:
        self.stored, self.home, self.summary, self.dry_run = stored, home, summary, dry_run
        self.now = utc(now)
        self.stamp = self.now.isoformat(timespec="seconds")

    def layout(self, layout: str) -> None:
        """Each day folder of the layout: younger, purged before, or purged now."""
        days = self.summary.retention_days
        if days is None:
            return
        cutoff = self.now - dt.timedelta(days=days)
        try:
            folders = self.stored.days(layout)
        except StorageError as exc:
            self.summary.skipped.append(f"{self._named(layout)}: {exc}")
            return
        for name in folders:
            day = day_of(name)
            if day is None:
                self.summary.skipped.append(f"{self._named(layout, name)}: not a date folder "
                                            "(YYYY-MM-DD)")  # fmt: skip
            elif end_of(day) > cutoff:
                self.summary.younger += 1
            else:
                try:
                    self._day(layout, name)
                except (StorageError, ManifestError, OSError) as exc:
                    self.summary.skipped.append(f"{self._named(layout, name)}: {exc}")

    def _day(self, layout: str, day: str) -> None:
        """Everything but the manifest goes: the record first, the objects after."""
        files = self.stored.files(layout, day)
        doc = self.stored.read_manifest(layout, day) or Manifest()
        if not files:
            self.summary.purged_before += doc.purged_at is not None
            return
        self.summary.folders += 1
        folder = self.stored.twin(layout, day)
        if self.dry_run:
            self.summary.removals += [Removal(folder / n, size) for n, size in files.items()]
            return
        removals = [self._hashed(layout, day, name, size) for name, size in files.items()]
        # The entries read go back as read: a later version's keys in them are kept.
        entries = [*(doc.purged or []), *(r.record(folder) for r in removals)]
        record = doc.updated(
            layout=doc.layout or layout,
            day=doc.day or day,
            purged_at=self.stamp,
            retention_days=self.summary.retention_days,
            purged=entries,
        )
        self.stored.write_manifest(layout, day, record)
        for name in files:
            self.stored.delete(layout, day, name)
        self.summary.removals += removals

    def _hashed(self, layout: str, day: str, name: str, size: int) -> Removal:
        """The object's size and SHA-256, read from a private temp copy in pieces."""
        path = self.stored.twin(layout, day, name)
        self.home.mkdir(parents=True, exist_ok=True)
        # Dot-named under the home, 0700: the buyers' data never leaves the product's folders.
        with tempfile.TemporaryDirectory(dir=self.home, prefix=".purge-") as temp:
            local = Path(temp) / "object"
            if not self.stored.fetch(layout, day, name, local):
                return Removal(path, size)  # gone since the listing: only its name to record
            digest, read = hashlib.sha256(), 0
            with local.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
                    read += len(chunk)
        return Removal(path, read, digest.hexdigest())

    def _named(self, layout: str, day: str = "") -> str:
        """The folder as the disk names it: `archive/<area>/exported/<layout>/<day>`."""
        folder = self.stored.twin(layout, day) if day else self.stored.root / layout
        return folder.relative_to(self.home).as_posix()
