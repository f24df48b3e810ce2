"""The ERP outbox on object storage: what one machine prepared, any machine can finish.

With `[storage] backend = "s3"` each file the export renders is also put in the bucket under
its home-relative path, `<prefix>/outbox/erp/<layout>/<name>`, before the ledger records the
export as begun; the moment the ERP's server has renamed it into place, an empty mark goes to
`<prefix>/outbox/erp/<layout>/sent/<name>` (the local `sent/` folder's twin); both go once the
export is committed. A worker that dies anywhere in between leaves, for a worker on another
machine: the bytes the ledger's export recorded (uploaded again, the same bytes), and whether
the server had it under its final name (then it is not uploaded again, even when the ERP has
taken it away meanwhile). The local folders stay what they were: the machine's working copy
that the upload reads and the archive is moved from.

An object store has no rename, so "sent" is the mark's presence, not a move. The mark is
empty, one small PUT in the window between the server's rename and the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from etl.state.blobs import BlobNotFound, Blobs, StorageOptions, open_blobs
from etl.state.blobs.base import join

AREA = "outbox/erp"  # keys go under "<[storage] prefix>/outbox/erp/", as the folder under home
SENT = "sent"
_THREADS = 16  # object-store requests wait on the network, not the CPU: a batch's go together

T = TypeVar("T")


class SharedOutbox:
    """One layout's outbox files and sent marks in a blob store."""

    def __init__(self, blobs: Blobs, layout: str) -> None:
        self.blobs, self.layout = blobs, layout

    def __repr__(self) -> str:
        return f"SharedOutbox({self.blobs!r}, {self.layout!r})"

    def put_batch(self, files: Mapping[str, bytes]) -> None:
        """Store each rendered file (name -> bytes); all stored, or StorageError."""
        _each(lambda item: self.blobs.put(self._key(item[0]), item[1]), files.items())

    def mark_sent(self, name: str) -> None:
        """The server has the file under its final name."""
        self.blobs.put(self._key(SENT, name), b"")

    def was_sent(self, name: str) -> bool:
        """Whether a machine saw the server rename the file into place."""
        return self.blobs.stat(self._key(SENT, name)) is not None

    def read(self, name: str) -> bytes | None:
        """The file's bytes as prepared (a copied-over `sent/` file's too); None if not stored."""
        for key in (self._key(name), self._key(SENT, name)):
            try:
                data = self.blobs.read(key)
            except BlobNotFound:
                continue
            if data:  # an empty object under sent/ is a mark, not the file
                return data
        return None

    def names(self) -> set[str]:
        """Names of the files and marks stored for the layout."""
        top = self.blobs.list(self.layout).blobs
        return {b.name for b in top} | {b.name for b in self.blobs.list(self._key(SENT)).blobs}

    def drop(self, names: Iterable[str]) -> None:
        """Remove the files and marks of these names (the exports are committed)."""
        keys = [k for n in names for k in (self._key(SENT, n), self._key(n))]
        _each(self.blobs.delete, keys)

    def _key(self, *parts: str) -> str:
        return join(self.layout, *parts)


def open_shared_outbox(storage: StorageOptions, outboxes: Path, layout: str) -> SharedOutbox | None:
    """The layout's outbox in the bucket with `[storage] backend = "s3"`; None when local."""
    if storage.backend != "s3":
        return None
    return SharedOutbox(open_blobs(storage, AREA, outboxes), layout)


def _each(action: Callable[[T], None], items: Iterable[T]) -> None:
    """`action` on every item, side by side; the first failure is raised after all ran."""
    todo = list(items)
    if len(todo) <= 1:
        for item in todo:
            action(item)
        return
    with ThreadPoolExecutor(min(_THREADS, len(todo))) as pool:
        for future in [pool.submit(action, item) for item in todo]:
            future.result()
