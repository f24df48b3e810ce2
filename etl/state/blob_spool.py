"""The spool on object storage: each received body an object, put create-only before OK.

Keys are `<[storage] prefix>/state/spool/<area>/<name>`, the local spool's home-relative
path, so `run.py migrate-state` copies a home's spool over by its relative paths and the
ledger's spool names resolve on either backend.

A body is put with create-only (S3: `If-None-Match: *`): of two receivers taking the same
body at the same moment exactly one writes it, and the other finds the key taken. The key
carries the body's hash (etl.state.spool_base.spool_name), so a taken key holds these very
bytes: the put is idempotent, and a retry, or the second receiver, goes on to book it. An
object is whole once the PUT is answered, so nothing is fsync'd here. A purge replaces a
body with its tombstone `<name>.purged` (put first, then the body deleted), an erasure
masks it by putting the masked bytes over it whole.

`open_spool` picks the spool of an area from `[storage]`: this one, or the local folder.
"""

from __future__ import annotations

import contextlib
import hashlib

from etl.state.areas import Areas, FileArea
from etl.state.blobs import BlobExists, BlobNotFound, Blobs, StorageOptions, open_blobs
from etl.state.spool import Spool
from etl.state.spool_base import (
    TOMBSTONE,
    BodySpool,
    Spooled,
    check_spool_name,
    is_body_name,
    purged_error,
    read_tombstone,
    spool_name,
    tombstone,
)


class BlobSpool:
    """Received bodies as objects of a blob store, one area's prefix."""

    def __init__(self, blobs: Blobs) -> None:
        self.blobs = blobs

    def __repr__(self) -> str:
        return f"BlobSpool({self.blobs!r})"

    def put(self, ref: str, body: bytes, kind: str) -> Spooled:
        """Put the body create-only; a key already taken holds the same bytes (its name)."""
        sha = hashlib.sha256(body).hexdigest()
        name = spool_name(ref, sha, kind)
        # Taken: a retry, or another receiver that took the same body first. The name is
        # the hash, so what is there is this body, durable already. Not written over: a body
        # masked by an erasure keeps its mask.
        with contextlib.suppress(BlobExists):
            self.blobs.put(name, body, create_only=True)
        return Spooled(name, sha, kind)

    def read(self, name: str) -> bytes:
        """The object's bytes; BodyPurged when only its tombstone is left."""
        try:
            return self.blobs.read(check_spool_name(name))
        except BlobNotFound as exc:
            gone = self.purged(name)
            if gone is not None:
                raise purged_error(name, gone) from exc
            raise FileNotFoundError(f"no spooled body {name} in {self.blobs!r}") from exc

    def exists(self, name: str) -> bool:
        """Whether the object is there (one HEAD)."""
        return self.blobs.stat(check_spool_name(name)) is not None

    def names(self) -> list[str]:
        """Every body under the area's prefix (one listing), sorted."""
        return sorted(b.name for b in self.blobs.list("").blobs if is_body_name(b.name))

    def purged(self, name: str) -> dict[str, object] | None:
        """The tombstone object's record; None while there is none."""
        try:
            data = self.blobs.read(check_spool_name(name) + TOMBSTONE)
        except BlobNotFound:
            return None
        return read_tombstone(data)

    def remove_body(self, name: str, at: str, retention_days: int) -> int:
        """Put the tombstone, then delete the body: a purge cut short leaves both, never neither."""
        try:
            body = self.blobs.read(check_spool_name(name))
        except BlobNotFound:
            return 0
        self.blobs.put(name + TOMBSTONE, tombstone(name, body, at, retention_days))
        self.blobs.delete(name)
        return len(body)

    def replace(self, name: str, body: bytes) -> None:
        """Put the masked body over the object, whole."""
        self.blobs.put(check_spool_name(name), body)


def open_spool(storage: StorageOptions, areas: Areas, area: FileArea) -> BodySpool:
    """The spool of `area` ("orders", "parties") where `[storage]` keeps it."""
    if storage.backend == "s3":
        relative = areas.spool(area).relative_to(areas.home).as_posix()
        return BlobSpool(open_blobs(storage, relative, areas.spool(area)))
    return Spool(areas.spool(area))
