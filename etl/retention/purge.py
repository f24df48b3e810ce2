"""`run.py purge`: archive folders past their retention keep only their manifest.

What a folder held is still answerable afterwards: before anything is removed, the folder's
manifest.json is rewritten with `purged_at` and each file's name, size and SHA-256. Areas:

- `archive/<feed>/<date>/<run>/` and `archive/<feed>/rejected/<date>/<run>/`: the contract's
  `[archive] retention_days`; a run's age is its manifest's `finished_at`, else the end of
  its date folder's day.
- `archive/orders/exported/<layout>/<day>/` and `archive/parties/exported/<layout>/<day>/`
  (order files, customer and company change files): settings `[archive]
  orders_retention_days`, from the end of that day; the day folder gets a manifest.json.
- `archive/orders/rejected/` and `archive/parties/rejected/` (bodies the receiver refused)
  and `archive/orders/retaken/` (those taken in again since): the same setting, from the
  time in each body's name; one manifest.json per folder lists every body and reason
  removed, each with its time.

Ages come from the clock the caller passes (never file mtimes). Symlinks are never followed
and a folder already purged is left as it is.

`purge_all` then does the same for every other place personal data rests (etl.retention):
removed people's snapshot rows, spooled order and party bodies, the document book's bodies,
`outbox/checks/` and file-mode `outbox/norce/`; `Purged.line` is the one-line summary.

With `[storage] backend = "s3"` the feeds' run folders are in the bucket and are purged
there by the same rule (etl.retention.stored_runs); so are the refused and retaken bodies
(etl.retention.stored_refused) and the day folders of the files the ERP got
(etl.retention.stored_exported).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.dates import moment, utc
from etl.errors import EtlError
from etl.retention.bodies import purge_documents, purge_spools
from etl.retention.outbox import purge_outbox
from etl.retention.place import Place
from etl.retention.snapshots import is_about_people, reduce_removed_rows
from etl.retention.stored_exported import purge_stored_exported
from etl.retention.stored_outbox import purge_stored_outbox
from etl.retention.stored_refused import purge_stored_refused
from etl.retention.stored_runs import purge_stored
from etl.retention.summary import AreaSummary, Removal, day_of, end_of, log_summary
from etl.runtime import ledger_at
from etl.state.areas import FILE_AREAS, PURGE_LOCK, Areas, FileArea
from etl.state.blob_archive import open_archive
from etl.state.blobs import StorageError
from etl.state.ledger.connection import ledger_exists
from etl.state.ledger.feed_runs import Ledger
from etl.state.locks import locks_held
from etl.state.manifest import MANIFEST, Manifest, ManifestError, read_manifest, write_manifest
from etl.state.refused_base import FOLDERS, Folder

log = logging.getLogger(__name__)

_REFUSED = re.compile(r"^(\d{8}T\d{6}Z)-[0-9a-f]{16}\.")  # etl.state.refused_base's names


def purge(
    settings: Settings,
    contracts: Mapping[str, FeedContract],
    now: dt.datetime,
    *,
    dry_run: bool = False,
) -> list[AreaSummary]:
    """Purge every archive folder past its retention; one summary per feed and order area.

    With `[storage] backend = "s3"` the feeds' runs are in the bucket: purged there as well
    (etl.retention.stored_runs), into the same summary as what is on the disk.
    """
    areas = Areas(settings.home)
    purger = _Purger(areas, now, dry_run)
    summaries = [purger.feed(c.name, c.archive.retention_days) for c in contracts.values()]
    if settings.storage.backend == "s3":
        archive = open_archive(settings.storage, areas.archive)
        for summary in summaries:
            purge_stored(archive, settings.home, summary, now, dry_run=dry_run)
            log_summary(summary, dry_run=dry_run)
    days = settings.archive.orders_retention_days
    files = [s for area in FILE_AREAS for s in purger.files(area, days)]
    if settings.storage.backend == "s3":  # the files the ERP got, in the bucket
        purge_stored_exported(settings.storage, areas, files, days, now, dry_run=dry_run)
    if settings.storage.backend == "s3":  # refused and retaken bodies in the bucket
        files += purge_stored_refused(settings, files, now, dry_run=dry_run)
    return summaries + files


@dataclass
class Purged:
    """What one `purge_all` did: the archive's areas and every other place."""

    archive: list[AreaSummary]
    places: list[Place]
    dry_run: bool = False

    def line(self) -> str:
        """One line: what went (or would go) where, counted per place."""
        files = sum(len(s.removals) for s in self.archive)
        parts = [f"archive {files} files in {sum(s.folders for s in self.archive)} folders"]
        for group, unit in (
            ("snapshots", "rows"),
            ("spool/orders", "bodies"),
            ("spool/parties", "bodies"),
            ("documents", "bodies"),
            ("outbox/checks", "files"),
            ("outbox/norce", "files"),
        ):
            count = sum(p.removed for p in self.places if _in_group(p.name, group))
            parts.append(f"{group} {count} {unit}")
        verb = "would remove" if self.dry_run else "removed"
        return f"purge {verb}: " + ", ".join(parts)


def purge_all(
    settings: Settings,
    contracts: Mapping[str, FeedContract],
    now: dt.datetime,
    *,
    dry_run: bool = False,
) -> Purged:
    """The archive, then every other place personal data rests, each by its retention.

    Under the purge's lock (etl.state.locks; on a PostgreSQL ledger across machines):
    another purge, or a `forget` masking what this would delete, makes it refuse.
    """
    areas, at = Areas(settings.home), ledger_at(settings)
    with locks_held(areas.locks, [PURGE_LOCK], at) as busy:
        if busy is not None:
            raise EtlError(
                "another purge or a forget is running right now (on this machine or, with "
                "the ledger on PostgreSQL, on another); run purge again when it finished"
            )
        return _purge_all(settings, contracts, now, dry_run)


def _purge_all(
    settings: Settings, contracts: Mapping[str, FeedContract], now: dt.datetime, dry_run: bool
) -> Purged:
    archive = purge(settings, contracts, now, dry_run=dry_run)
    places = purge_spools(settings, now, dry_run)
    places += purge_documents(settings, contracts, now, dry_run)
    places += purge_outbox(settings, contracts, now, dry_run)
    places += purge_stored_outbox(settings, contracts, now, dry_run)  # [storage] backend = "s3"
    people = [c for c in contracts.values() if is_about_people(c)]
    at = ledger_at(settings)
    if people and ledger_exists(at):
        ledger = Ledger(at)
        try:
            places += [reduce_removed_rows(settings, ledger, c, now, dry_run) for c in people]
        finally:
            ledger.close()
    result = Purged(archive, places, dry_run)
    log.info("%s", result.line())
    return result


def _in_group(name: str, group: str) -> bool:
    return name == group or name.startswith(group + "/")


def strays(settings: Settings, contracts: Mapping[str, FeedContract]) -> list[str]:
    """Folders in archive/ (and, with `[storage] backend = "s3"`, prefixes of the archive in
    the bucket) that no contract names (a feed removed since): never purged."""
    root = Areas(settings.home).archive
    found: set[str] = set()
    if root.is_dir():
        with os.scandir(root) as entries:
            found |= {e.name for e in entries if e.is_dir(follow_symlinks=False)}
    if settings.storage.backend == "s3":
        # A store that is down was named by the purge already; its strays wait for the next.
        with contextlib.suppress(StorageError):
            found |= set(open_archive(settings.storage, root).feeds())
    known = {*contracts, *FILE_AREAS}
    return sorted(name for name in found if name not in known and name[0] != ".")


def describe(summary: AreaSummary, *, dry_run: bool = False) -> str:
    """One line for the command's output."""
    days = summary.retention_days
    if days is None:
        where = (
            "[archive] retention_days in its contract"
            if summary.kind == "feed"
            else "[archive] orders_retention_days in the settings"
        )
        return f"{summary.area}: kept forever (no {where})"
    size = sum(r.size for r in summary.removals)
    verb = "would purge" if dry_run else "purged"
    parts = [
        f"{verb} {summary.folders} folder(s): {len(summary.removals)} file(s), {size:,} bytes",
        f"{summary.purged_before} purged before",
        f"{summary.younger} younger than {days} days",
    ]
    if summary.skipped:
        parts.append(f"{len(summary.skipped)} left alone: " + "; ".join(summary.skipped))
    return f"{summary.area}: " + ", ".join(parts)


class _Purger:
    """One purge over one archive root, at one moment."""

    def __init__(self, areas: Areas, now: dt.datetime, dry_run: bool) -> None:
        self.areas, self.root, self.now, self.dry_run = areas, areas.archive, utc(now), dry_run
        self.real = os.path.realpath(self.root)
        self.stamp = self.now.isoformat(timespec="seconds")

    # -- areas ---------------------------------------------------------------------------

    def feed(self, name: str, days: int | None) -> AreaSummary:
        """Every run folder of one feed, committed and rejected."""
        summary = AreaSummary(name, "feed", days)
        if days is None:
            return summary
        cutoff = self.now - dt.timedelta(days=days)
        rejected = self.areas.feed_rejected(name)
        for parent in (self.areas.feed_runs(name), rejected):
            for day_dir in self._dirs(parent, summary):
                if day_dir == rejected:
                    continue
                day = self._day(day_dir, summary)
                if day is not None:
                    for run in self._dirs(day_dir, summary):
                        self._run_folder(run, end_of(day), cutoff, summary)
        self._log(summary)
        return summary

    def _run_folder(
        self, run: Path, day_end: dt.datetime, cutoff: dt.datetime, summary: AreaSummary
    ) -> None:
        """A run's age: its manifest's finished_at, else the end of its date folder's day."""
        doc = self._manifest(run, summary, required=True)
        if doc is None:
            return
        if (moment(doc.finished_at) or day_end) > cutoff:
            summary.younger += 1
            return
        self._purge_folder(run, doc, summary)

    def files(self, area: FileArea, days: int | None) -> list[AreaSummary]:
        """Files written for the ERP (orders, parties) by layout and day, then refused bodies."""
        top = AreaSummary(f"{area}/exported", "orders", days)
        summaries = []
        for layout in self._dirs(self.areas.exported_layouts(area), top):
            summary = AreaSummary(f"{area}/exported/{layout.name}", "orders", days)
            if days is not None:
                cutoff = self.now - dt.timedelta(days=days)
                for day_dir in self._dirs(layout, summary):
                    day = self._day(day_dir, summary)
                    if day is None:
                        continue
                    if end_of(day) > cutoff:
                        summary.younger += 1
                        continue
                    doc = self._manifest(day_dir, summary, required=False)
                    if doc is not None:
                        doc = doc.updated(
                            layout=doc.layout or layout.name, day=doc.day or day_dir.name
                        )
                        self._purge_folder(day_dir, doc, summary)
            self._log(summary)
            summaries.append(summary)
        refused = [self.refused(area, folder, days) for folder in FOLDERS[area]]
        return [*([top] if top.skipped else []), *summaries, *refused]

    def refused(self, area: FileArea, kept_in: Folder, days: int | None) -> AreaSummary:
        """archive/<area>/rejected/ (bodies the receiver refused, with their reasons) or
        archive/orders/retaken/ (those `retake` took in since: the same personal data)."""
        summary = AreaSummary(f"{area}/{kept_in}", "orders", days)
        folder = self.areas.refused(area) if kept_in == "rejected" else self.areas.retaken
        if days is None or not self._usable_dir(folder, summary):
            return summary
        doc = self._manifest(folder, summary, required=False)
        if doc is None:
            return summary
        cutoff = self.now - dt.timedelta(days=days)
        due: list[Path] = []
        bodies: set[str] = set()
        for path in self._files(folder, summary, recurse=False):
            match = _REFUSED.match(path.name)
            if match is None:
                summary.skipped.append(f"{self._rel(path)}: not a refused order body")
            elif dt.datetime.strptime(match[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC) > cutoff:
                summary.younger += match[0] not in bodies
                bodies.add(match[0])
            else:
                summary.folders += match[0] not in bodies
                bodies.add(match[0])
                due.append(path)
        summary.removals += self._remove(folder, due, doc, summary, each_stamped=True)
        self._log(summary)
        return summary

    # -- one folder ----------------------------------------------------------------------

    def _purge_folder(self, folder: Path, doc: Manifest, summary: AreaSummary) -> None:
        """Everything but the manifest goes; a folder with nothing left to remove is not touched."""
        files = list(self._files(folder, summary, recurse=True))
        if not files:
            summary.purged_before += doc.purged_at is not None
            return
        summary.folders += 1
        summary.removals += self._remove(folder, files, doc, summary, each_stamped=False)
        if not self.dry_run:
            self._prune(folder)

    def _remove(
        self,
        folder: Path,
        files: list[Path],
        doc: Manifest,
        summary: AreaSummary,
        *,
        each_stamped: bool,
    ) -> list[Removal]:
        """Hash, record in the manifest, then delete: a crash in between loses no record.

        A file that cannot be read or removed leaves the folder for the next purge.
        """
        if not files or self.dry_run:
            return [Removal(p, os.lstat(p).st_size) for p in files]
        try:
            removals = [_hashed(p) for p in files]
            stamp = {"purged_at": self.stamp} if each_stamped else {}
            # The entries read go back as read: a later version's keys in them are kept.
            entries: list[Any] = [*(doc.purged or [])]
            entries += [r.record(folder) | stamp for r in removals]
            days = summary.retention_days
            record = doc.updated(purged_at=self.stamp, retention_days=days, purged=entries)
            write_manifest(folder / MANIFEST, record)
            for removal in removals:
                self._check_inside(removal.path)
                removal.path.unlink()
        except OSError as exc:
            summary.skipped.append(f"{self._rel(folder)}: {exc.strerror or exc} ({exc.filename})")
            return []
        return removals

    def _prune(self, folder: Path) -> None:
        """Remove subfolders the purge emptied (never the run folder itself)."""
        for top, dirs, _files in os.walk(folder, topdown=False, followlinks=False):
            for name in dirs:
                path = Path(top) / name
                if not path.is_symlink() and not any(path.iterdir()):
                    path.rmdir()

    # -- walking, safely -----------------------------------------------------------------

    def _dirs(self, parent: Path, summary: AreaSummary) -> Iterator[Path]:
        """Subfolders in name order; dot-named ones (runs being staged) and symlinks skipped."""
        if not self._usable_dir(parent, summary):
            return
        for entry in sorted(os.scandir(parent), key=lambda e: e.name):
            path = Path(entry.path)
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                summary.skipped.append(f"{self._rel(path)}: a symlink, not followed")
            elif entry.is_dir(follow_symlinks=False):
                yield path

    def _files(self, folder: Path, summary: AreaSummary, *, recurse: bool) -> Iterator[Path]:
        """Regular files in `folder` (and below, with `recurse`) except its own manifest.json.

        Symlinks are left alone. Without `recurse` (a shared folder) dot-named files, being
        written right now, are left too.
        """
        keep = folder / MANIFEST
        for top, dirs, names in os.walk(folder, followlinks=False):
            here = Path(top)
            for name in sorted([*dirs, *names]):
                path = here / name
                if path.is_symlink():
                    summary.skipped.append(f"{self._rel(path)}: a symlink, left alone")
                elif path.is_dir():
                    continue
                elif not path.is_file():
                    summary.skipped.append(f"{self._rel(path)}: not a regular file")
                elif path != keep and (recurse or not name.startswith(".")):
                    yield path
            if not recurse:
                return
            dirs.sort()

    def _usable_dir(self, path: Path, summary: AreaSummary) -> bool:
        if path.is_symlink():
            summary.skipped.append(f"{self._rel(path)}: a symlink, not followed")
            return False
        return path.is_dir() and self._inside(path)

    def _manifest(self, folder: Path, summary: AreaSummary, *, required: bool) -> Manifest | None:
        """The folder's manifest (empty when it has none and none is required); None: leave it."""
        path = folder / MANIFEST
        if path.is_symlink() or (path.exists() and not path.is_file()):
            summary.skipped.append(f"{self._rel(path)}: not a regular file")
            return None
        if not path.exists():
            if required:
                summary.skipped.append(f"{self._rel(folder)}: no manifest.json, not a run folder")
                return None
            return Manifest()
        try:
            return read_manifest(path)
        except ManifestError as exc:
            summary.skipped.append(f"{self._rel(path)}: {exc.reason}")
        except OSError as exc:
            summary.skipped.append(f"{self._rel(path)}: unreadable ({exc})")
        return None

    def _day(self, folder: Path, summary: AreaSummary) -> dt.date | None:
        day = day_of(folder.name)
        if day is not None:
            return day
        summary.skipped.append(f"{self._rel(folder)}: not a date folder (YYYY-MM-DD)")
        return None

    def _inside(self, path: Path) -> bool:
        real = os.path.realpath(path)
        return real == self.real or real.startswith(self.real + os.sep)

    def _check_inside(self, path: Path) -> None:
        """The last check before a file goes: a regular file whose folder is in the archive."""
        if not self._inside(path.parent) or not stat.S_ISREG(os.lstat(path).st_mode):
            raise EtlError(f"purge refused to remove {path}: not a file inside {self.root}")

    def _rel(self, path: Path) -> str:
        try:
            return str(Path("archive") / path.relative_to(self.root))
        except ValueError:
            return str(path)

    def _log(self, summary: AreaSummary) -> None:
        log_summary(summary, dry_run=self.dry_run)


def _hashed(path: Path) -> Removal:
    """Size and SHA-256 of a file, read without following a symlink put in its place."""
    digest, size = hashlib.sha256(), 0
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return Removal(path, size, digest.hexdigest())
