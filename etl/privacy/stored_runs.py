"""Erasure in the runs the archive keeps in object storage (`[storage] backend = "s3"`).

The same rule as on the disk (etl.privacy.places), run by run: each file of a published run
is fetched into a private temp copy, masked there by the same rewriter, and, unless a dry run,
put back whole in place of the old object (`Archive.replace`: one PUT, so a reader sees the
old object or the new one). A dry run masks nothing and counts the same way. Places are named
as on the disk (`archive/<feed>`) and files by their run folder's path, so the erasure log and
the command's lines read the same whichever backend a home uses. Each run whose files were
masked gets its manifest's erasure entry (the request, the new sizes and hashes) as a local
run folder does (`note_stored`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from etl.privacy.masking import Masker
from etl.privacy.places import Sweep, erasure_record, maskable, masked_in, place_of
from etl.state.areas import Areas
from etl.state.base import Archive
from etl.state.blob_archive import open_archive
from etl.state.blobs import StorageOptions
from etl.state.manifest import MANIFEST

Notes = dict[Path, list[dict[str, object]]]  # run folder -> the files masked in it


def stored_archive(storage: StorageOptions, home: Path) -> Archive | None:
    """The archive on object storage the settings name; None when it is on the disk."""
    return open_archive(storage, Areas(home).archive) if storage.backend == "s3" else None


def sweep_stored(
    archive: Archive | None, home: Path, masker: Masker, write: bool, found: Sweep
) -> Notes:
    """Mask the person in every published run in the store; counts go to `found`."""
    notes: Notes = {}
    if archive is None:
        return notes
    for feed in archive.feeds():
        for run in [*archive.runs(feed), *archive.runs(feed, rejected=True)]:
            for name in archive.files(run):
                _mask_one(archive, home, run, name, masker, write, found, notes)
    return notes


def _mask_one(
    archive: Archive,
    home: Path,
    run: Path,
    name: str,
    masker: Masker,
    write: bool,
    found: Sweep,
    notes: Notes,
) -> None:
    """One object: fetched, masked as its kind, put back whole when it held the person."""
    twin = run / name  # its path had the run been on the disk: how places and logs name it
    if not maskable(twin, found):
        return
    with archive.opened(run, name) as local:
        if local is None:
            return  # gone since the listing (a purge): nothing of theirs left in it
        values = masked_in(twin, local, masker, write, found)
        if not values:
            return
        found.count(place_of(home, twin), twin, values)
        if write:
            archive.replace(run, name, local)
            if name != MANIFEST:
                notes.setdefault(run, []).append(erasure_record(name, local))


def note_stored(archive: Archive | None, notes: Notes, request: str, at: dt.datetime) -> None:
    """Each stored run whose files were masked: its manifest records the erasure."""
    if archive is None:
        return
    for run, files in notes.items():
        document = archive.read_manifest(run)
        entry = {"at": at.isoformat(), "request": request, "files": files}
        # The entries read go back as read: a later version's keys in them are kept.
        erasures = [*(document.erasures or []), entry]
        archive.rewrite_manifest(run, document.updated(erasures=erasures))
