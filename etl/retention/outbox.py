"""`outbox/checks/<feed>/` reports and file-mode `outbox/norce/<feed>/` calls past retention.

Both are written once and never changed, so a file's age is its modification time. Each
feed folder keeps a manifest.json listing every file removed (name, size, SHA-256, when),
as an archive folder does. Folders no contract names, symlinks and dot files (being written)
are left alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.retention.place import Place, cutoff
from etl.state.areas import NAMES
from etl.state.manifest import MANIFEST, Manifest, read_manifest, write_manifest


def purge_outbox(
    settings: Settings,
    contracts: Mapping[str, FeedContract],
    now: dt.datetime,
    dry_run: bool,
) -> list[Place]:
    """One place per feed folder of `outbox/checks/` and `outbox/norce/`."""
    places = []
    for area in (NAMES.checks, NAMES.norce_outbox):  # relative to home, as places are named
        root = settings.home / area
        if root.is_symlink() or not root.is_dir():
            continue
        for folder in sorted(root.iterdir(), key=lambda p: p.name):
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            contract = contracts.get(folder.name)
            days = contract.archive.retention_days if contract else None
            place = Place(f"{area.as_posix()}/{folder.name}", "files", days)
            if folder.is_symlink():
                place.skipped.append("a symlink, not followed")
            elif contract is None:
                place.skipped.append("no feed contract names it")
            elif days is not None:
                _purge_folder(folder, cutoff(now, days), now, dry_run, place)
            places.append(place)
    return places


def _purge_folder(
    folder: Path, before: dt.datetime, now: dt.datetime, dry_run: bool, place: Place
) -> None:
    due = []
    for path in _files(folder):
        written = dt.datetime.fromtimestamp(path.lstat().st_mtime, dt.UTC)
        if written < before:
            due.append(path)
        else:
            place.kept += 1
    place.removed = len(due)
    if dry_run or not due:
        return
    entries = [_entry(folder, p, now) for p in due]
    _record(folder / MANIFEST, entries)
    for path in due:
        path.unlink()
    _prune(folder)


def _files(folder: Path) -> list[Path]:
    """Regular files below `folder`, its manifest and dot files aside; symlinks never followed."""
    found = []
    for top, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(top) / name
            if name.startswith(".") or path == folder / MANIFEST or path.is_symlink():
                continue
            if path.is_file():
                found.append(path)
    return found


def _entry(folder: Path, path: Path, now: dt.datetime) -> dict[str, Any]:
    data = path.read_bytes()
    return {
        "name": path.relative_to(folder).as_posix(),
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "purged_at": now.isoformat(timespec="seconds"),
    }


def _record(manifest: Path, entries: list[dict[str, Any]]) -> None:
    """Append to the folder's manifest before anything goes: a crash loses no record."""
    doc = Manifest()
    if manifest.is_file() and not manifest.is_symlink():
        doc = read_manifest(manifest)
    # The entries read go back as read: a later version's keys in them are kept.
    write_manifest(manifest, doc.updated(purged=[*(doc.purged or []), *entries]))


def _prune(folder: Path) -> None:
    """Remove the batch folders the purge emptied (never the feed folder itself)."""
    for top, dirs, _names in os.walk(folder, topdown=False, followlinks=False):
        for name in dirs:
            path = Path(top) / name
            if not path.is_symlink() and not any(path.iterdir()):
                path.rmdir()
