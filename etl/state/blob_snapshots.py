"""Snapshots on object storage: every machine diffs against the snapshot the ledger points at.

A candidate snapshot is written to the local folder as always (`state/snapshots/<feed>/`),
then put in the store under the same relative key (`<prefix>/state/snapshots/<feed>/<run>.parquet`)
create-only, before the ledger commit: a run's name is unique, so exactly one object is
ever written under it. The commit then points at an object that is already whole in the
store, and there is no window in which the ledger names a snapshot no machine can get: a
worker killed after the upload and before the commit leaves an object no commit points at,
which every reader ignores (the ledger decides what is current) and `sweep` removes once
its run is over.

A run reads the current snapshot from the local folder, which is a cache here: before the
diff scans it, `path` checks the local copy against the store's object and fetches it when it
is missing or the object changed (a purge or a `forget` on another machine rewrote it). The
check is by the object's ETag, kept beside the copy (`.<run>.parquet.etag`, taken before the
fetch, so a copy is never older than its tag): a rewrite of the same size ("Karlsson" to
"[erased]") is fetched again, as is a copy with no tag. The diff then reads a local Parquet
file lazily, as it does with the local store.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from etl.state.atomic import write_atomically
from etl.state.blobs import (
    Blob,
    BlobExists,
    Blobs,
    StorageError,
    StorageOptions,
    open_blobs,
)
from etl.state.ledger.connection import LedgerAt
from etl.state.ledger.feed_runs import Ledger
from etl.state.snapshots import SnapshotStore

log = logging.getLogger(__name__)

AREA = "state/snapshots"  # keys go under "<[storage] prefix>/state/snapshots/"
SUFFIX = ".parquet"


class SnapshotMissing(StorageError):
    """The ledger's current snapshot is not in the store: nothing to diff against, run fails."""


class BlobSnapshotStore(SnapshotStore):
    """Snapshots kept in a blob store, with a verified local copy of each one read."""

    def __init__(self, root: Path, blobs: Blobs, ledger: LedgerAt) -> None:
        super().__init__(root)
        self.blobs = blobs
        self.ledger = ledger  # asked by `sweep` which runs are still going

    def path(self, relative: str) -> Path:
        """The local copy of the store's snapshot, fetched first unless it is the object's."""
        local = self.root / relative
        stored = self.blobs.stat(relative)
        if stored is None:
            raise SnapshotMissing(
                f"snapshot {relative} is current in the ledger but not in object storage: "
                "a run cannot diff against it. Copy the home's state over "
                "(`run.py migrate-state`) or restore the object"
            )
        if not is_copy_of(local, stored):
            self._fetch(relative, local, stored)
        return local

    def drop_copy(self, relative: str) -> None:
        """Remove this machine's copy of a snapshot (and its tag): the object stays."""
        local = self.root / relative
        local.unlink(missing_ok=True)
        _tag_file(local).unlink(missing_ok=True)

    def replace(self, relative: str, frame: pl.DataFrame) -> None:
        """Rewrite a committed snapshot here and in the store (purge: same rows, fewer values).

        Other machines' copies now carry another ETag than the object and are fetched again.
        """
        local = self.root / relative
        _tag_file(local).unlink(missing_ok=True)  # this copy is checked again when next read
        super().replace(relative, frame)
        self.blobs.put_file(relative, local)

    def sweep(self, feed: str, keep: set[str]) -> list[str]:
        """Remove the local copies and the objects of this feed that no commit points at.

        An object of a run still `running` stays: that run may be about to commit it (its
        machine's lock is not this one's). Once the run is marked over it goes next time.
        Called after a commit: a store that fails now is a WARNING, and the next sweep tries.
        """
        gone = super().sweep(feed, keep)
        for relative in gone:
            _tag_file(self.root / relative).unlink(missing_ok=True)
        try:
            return sorted({*gone, *self._sweep_store(feed, keep)})
        except StorageError as exc:
            log.warning(
                "%s: old snapshots stay in object storage until the next commit: %s", feed, exc
            )
            return gone

    def _sweep_store(self, feed: str, keep: set[str]) -> list[str]:
        """Delete the feed's objects no commit points at whose run is over; their keys."""
        listed = [b for b in self.blobs.list(feed).blobs if b.name.endswith(SUFFIX)]
        unkept = [b for b in listed if b.key not in keep]
        if not unkept:
            return []
        ledger = Ledger(self.ledger)
        try:
            ended = [b.key for b in unkept if not _running(ledger, b.name.removesuffix(SUFFIX))]
        finally:
            ledger.close()
        for key in ended:
            self.blobs.delete(key)
        return ended

    def _written(self, relative: str) -> None:
        """Put the candidate in the store, create-only, before the commit may point at it."""
        local = self.root / relative
        try:
            self.blobs.put_file(relative, local, create_only=True)
            _note_tag(local, self.blobs.stat(relative))  # the name is this run's alone
        except BlobExists:
            # Only this run writes its name; an object of the same size is its own earlier put.
            stored = self.blobs.stat(relative)
            if stored is None or stored.size != local.stat().st_size:
                raise StorageError(
                    f"snapshot {relative} is in object storage with other content: not "
                    "replaced; this run fails and the file is taken again"
                ) from None

    def _fetch(self, relative: str, local: Path, stored: Blob) -> None:
        """The object as the local copy, in pieces, checked against the size the store listed."""
        _tag_file(local).unlink(missing_ok=True)
        got = self.blobs.get_file(relative, local)
        if got != stored.size:
            local.unlink(missing_ok=True)
            raise StorageError(
                f"snapshot {relative}: fetched {got} bytes from object storage, expected "
                f"{stored.size} (rewritten meanwhile?); the run is tried again"
            )
        # The tag read before the GET: a rewrite in between only makes the next read fetch.
        _note_tag(local, stored)
        log.info("snapshot %s fetched from object storage (%d bytes)", relative, stored.size)
        _drop_older_copies(local)


def _tag_file(copy: Path) -> Path:
    """Where the ETag of the object a local copy was fetched from is kept (hidden, beside it)."""
    return copy.with_name(f".{copy.name}.etag")


def _note_tag(copy: Path, stored: Blob | None) -> None:
    """Keep the object's ETag beside its copy; none known: no tag (the next read fetches)."""
    if stored is not None and stored.etag:
        write_atomically(_tag_file(copy), stored.etag.encode())


def is_copy_of(copy: Path, stored: Blob) -> bool:
    """Whether the local copy is the object as it is now: same ETag (same size if none)."""
    if not copy.is_file() or copy.stat().st_size != stored.size:
        return False
    if not stored.etag:
        return True  # a store that gives no tag: the size is all there is to compare
    tag = _tag_file(copy)
    return tag.is_file() and tag.read_bytes().decode() == stored.etag


def _drop_older_copies(fetched: Path) -> None:
    """Remove this machine's copies of the feed's snapshots older than the one just fetched.

    A machine that reads a feed (its references, say) but never commits it would otherwise
    keep a copy of every snapshot it ever fetched. Run ids start with their time, so an older
    name is an older run's: never a candidate a run of this machine is writing now (the
    feed's lock keeps those newer than the current snapshot).
    """
    for copy in fetched.parent.glob(f"*{SUFFIX}"):
        if copy.name < fetched.name:
            copy.unlink(missing_ok=True)
            _tag_file(copy).unlink(missing_ok=True)


def _running(ledger: Ledger, run_id: str) -> bool:
    """Whether the run that named a snapshot is still going (an unknown run is not)."""
    run = ledger.run(run_id)
    return run is not None and run.outcome == "running"


def open_snapshots(settings: StorageOptions, root: Path, ledger: LedgerAt) -> SnapshotStore:
    """The snapshots the settings ask for: a local folder, or that folder as a cache of S3."""
    if settings.backend == "s3":
        return BlobSnapshotStore(root, open_blobs(settings, AREA, root), ledger)
    return SnapshotStore(root)
