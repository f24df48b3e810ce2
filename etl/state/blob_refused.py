"""Refused bodies on object storage: each body an object, put create-only before the answer.

Keys are `<[storage] prefix>/archive/<area>/rejected/<name>` (and `retaken/<name>`), the
local folders' home-relative paths, so `run.py migrate-state` copies a VM's refused bodies
over by their relative paths. The reason is an object beside the body,
`<name>.reason.txt`, holding what the local file holds.

The reason is put first, then the body create-only (S3: `If-None-Match: *`): a listing shows
bodies only, so a body listed always has its reason, and of two receivers refusing the same
body in the same second one writes it and the other finds the key taken (the name is the
body's hash, so it holds these very bytes). A store that fails raises StorageError before
the receiver answers: Norce gets 503 and pushes again, as when the spool is down.

There is no rename on an object store: `set_aside` puts the reason and the body under
`retaken/`, then deletes the body and its reason under `rejected/`. One cut short leaves the
body in both folders; a second `retake` of it is answered "already received" by the book
and finishes the move.

`open_refused` picks the refused bodies of an area from `[storage]`: these, or the folders.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from etl.state.areas import Areas, FileArea
from etl.state.blobs import BlobExists, BlobNotFound, Blobs, StorageOptions, open_blobs
from etl.state.blobs.base import join
from etl.state.refused_base import (
    REASON,
    Folder,
    RefusedBodies,
    check_refused_name,
    is_refused_name,
    read_reason,
    reason_text,
    refused_name,
)
from etl.state.refused_local import LocalRefused


class BlobRefused:
    """Refused bodies as objects under one area's prefix (`archive/<area>/`)."""

    def __init__(self, blobs: Blobs) -> None:
        self.blobs = blobs

    def __repr__(self) -> str:
        return f"BlobRefused({self.blobs!r})"

    def keep(self, body: bytes, kind: str, reason: str, at: dt.datetime) -> str:
        """Put the reason, then the body create-only; a body already there is the same bytes."""
        name = refused_name(body, kind, at)
        self.blobs.put(_key("rejected", name + REASON), reason_text(reason))
        with contextlib.suppress(BlobExists):
            self.blobs.put(_key("rejected", name), body, create_only=True)
        return name

    def names(self, folder: Folder = "rejected") -> list[str]:
        """Every body under the folder's prefix (one listing), sorted."""
        return sorted(b.name for b in self.blobs.list(folder).blobs if is_refused_name(b.name))

    def read(self, name: str, folder: Folder = "rejected") -> bytes:
        """The object's bytes; FileNotFoundError when there is none."""
        try:
            return self.blobs.read(_key(folder, check_refused_name(name)))
        except BlobNotFound as exc:
            raise FileNotFoundError(f"no refused body {name} in {self.blobs!r}") from exc

    def reason(self, name: str, folder: Folder = "rejected") -> str | None:
        """The reason object's text; None when there is none."""
        try:
            return read_reason(self.blobs.read(_key(folder, check_refused_name(name) + REASON)))
        except BlobNotFound:
            return None

    def set_aside(self, name: str) -> None:
        """Copy the reason and the body under `retaken/`, then delete them under `rejected/`."""
        body = self.read(name)
        reason = self.reason(name)
        if reason is not None:
            self.blobs.put(_key("retaken", name + REASON), reason_text(reason))
        self.blobs.put(_key("retaken", name), body)
        self.delete(name)

    def delete(self, name: str, folder: Folder = "rejected") -> None:
        """Delete the body, then its reason (deleting twice is deleting once)."""
        self.blobs.delete(_key(folder, check_refused_name(name)))
        self.blobs.delete(_key(folder, name + REASON))


def _key(folder: Folder, name: str) -> str:
    return join(folder, name)


def open_refused(storage: StorageOptions, areas: Areas, area: FileArea) -> RefusedBodies:
    """The refused bodies of `area` ("orders", "parties") where `[storage]` keeps them."""
    if storage.backend == "s3":
        root = areas.file_area(area)
        return BlobRefused(open_blobs(storage, root.relative_to(areas.home).as_posix(), root))
    return LocalRefused(areas.refused(area))
