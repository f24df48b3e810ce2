"""The folders a reader of the bucket sees only by their mark, and the marks themselves.

An object store has no rename, so two kinds of folder are published there by one object
put create-only after all of theirs: a feed's archive run (`<run>.published`, the names and
sizes it holds; etl.state.blob_archive) and a file-mode Norce batch (`<batch>.published`,
the run and the files; etl.state.blob_batches). The move puts a mark beside each such folder
it copied, so `status`, `trace` and every reader of the bucket find it.

A process that died between its ledger commit and the rename that publishes its folder left
it staged (`.<run>.part`); on the VM its feed's next run would have published it. The move
does that here, from the ledger's word that the run committed: its files go under the
folder's final key, then its mark. A staged folder of a run that never committed is left.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from etl.state import staged as staging
from etl.state.areas import FILE_AREAS, NAMES
from etl.state.atomic import TEMP_GLOB
from etl.state.blob_archive import MARK as RUN_MARK
from etl.state.blob_batches import MARK as BATCH_MARK
from etl.state.blobs import BlobExists, Blobs
from etl.state.blobs.base import join
from etl.state.migrate.folders import copy_file, files_under, subfolders

RUNS, BATCHES = "archive runs", "Norce batches"
# No run of the new installation has this id: one that publishes such a batch again (a
# replay of the same input) replaces it, as it would replace another run's batch.
MIGRATED_BY = "migrate-state"


@dataclass(frozen=True)
class Published:
    """A folder published by a mark `<key><mark>` put after its files."""

    path: Path  # where its files are on this disk
    key: str  # its home-relative key once published
    kind: str  # RUNS or BATCHES
    fields: dict[str, str] = field(default_factory=dict)  # what its mark says besides files
    staged: bool = False  # its run committed and died before publishing it: copied here

    @property
    def mark(self) -> str:
        """Its mark's key."""
        return self.key + (RUN_MARK if self.kind == RUNS else BATCH_MARK)


def published_folders(home: Path, committed: Collection[str]) -> list[Published]:
    """Every archive run and Norce batch of the home, those left staged by a committed run too.

    A staged batch of a committed run replaces the published batch of its name (a replay's).
    """
    found = [*_archive_runs(home, committed), *_norce_batches(home, committed)]
    replaced = {p.key for p in found if p.staged}
    return [p for p in found if p.staged or p.key not in replaced]


def committed_runs(ledger: sqlite3.Connection) -> set[str]:
    """The runs whose staged folders count as published: their commit happened."""
    places = ", ".join("?" for _ in staging.PUBLISHED)
    query = f"SELECT run_id FROM runs WHERE outcome IN ({places})"  # noqa: S608 (placeholders)
    rows = ledger.execute(query, staging.PUBLISHED)
    return {str(row[0]) for row in rows.fetchall()}


def put_marks(home: Path, folders: list[Published], blobs: Blobs) -> tuple[int, int]:
    """Each folder's mark, create-only, after its files; (marked now, marked before)."""
    marked = already = 0
    for folder in folders:
        files = list(files_under(folder.path, [], home))
        names = {p.relative_to(folder.path).as_posix(): p.stat().st_size for p in files}
        if folder.staged:  # the area's copy left its hidden folder alone
            for path, name in zip(files, names, strict=True):
                copy_file(join(folder.key, name), path, blobs)
        body = json.dumps({**folder.fields, "files": names}, indent=2, ensure_ascii=False)
        try:
            blobs.put(folder.mark, body.encode(), create_only=True)
            marked += 1
        except BlobExists:
            already += 1
    return marked, already


def _archive_runs(home: Path, committed: Collection[str]) -> list[Published]:
    """The feeds' run folders, committed and rejected (published or left staged)."""
    found = []
    for feed in subfolders(home / NAMES.archive):
        if feed.name in FILE_AREAS:
            continue
        rejected = feed / "rejected"
        days = [d for d in subfolders(feed) if d != rejected] + subfolders(rejected)
        for day in days:
            found += [Published(run, _key(home, run), RUNS) for run in subfolders(day)]
            found += [
                Published(s, _key(home, day / staging.run_of(s)), RUNS, staged=True)
                for s in _staged(day, committed)
            ]
    return found


def _norce_batches(home: Path, committed: Collection[str]) -> list[Published]:
    """File-mode Norce batches `outbox/norce/<feed>/<batch>/`, and those left staged."""
    outbox = home / NAMES.norce_outbox
    found = [
        Published(batch, _key(home, batch), BATCHES, {"run": MIGRATED_BY})
        for feed in subfolders(outbox)
        for batch in subfolders(feed)
    ]
    for staged in _staged(home / NAMES.norce_staging, committed):
        run = staging.run_of(staged)
        for batch in (b for feed in subfolders(staged) for b in subfolders(feed)):
            final = outbox / batch.relative_to(staged)
            found.append(Published(batch, _key(home, final), BATCHES, {"run": run}, staged=True))
    return found


def _staged(parent: Path, committed: Collection[str]) -> list[Path]:
    """The staged folders in `parent` of runs that committed (or rejected their file)."""
    if not parent.is_dir():
        return []
    return sorted(
        p for p in parent.glob(TEMP_GLOB) if p.is_dir() and staging.run_of(p) in committed
    )


def _key(home: Path, folder: Path) -> str:
    return folder.relative_to(home).as_posix()
