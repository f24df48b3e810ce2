"""Refused and retaken bodies on object storage, copied for `forget` and put back masked.

With `[storage] backend = "s3"` the bodies receivers refused are objects under
`<prefix>/archive/<area>/rejected/` (and `archive/orders/retaken/`), with their reasons
beside them (etl.state.blob_refused). For the time of an erasure each of them is copied into
the private folder `forget` already keeps the spools' copies in (etl.state.spool_copies),
at its home-relative path, so the sweep masks it as the disk's `archive/orders/` and names
the place alike; each copy the erasure changed is put back over its object, whole. The
folder goes with the spools' copies when `forget` ends (or, after a kill, at the next
`forget`, purge or receiver start).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from etl.state.areas import FILE_AREAS, Areas, FileArea
from etl.state.atomic import write_atomically
from etl.state.blob_refused import BlobRefused
from etl.state.blobs import BlobNotFound, StorageOptions, open_blobs
from etl.state.refused_base import FOLDERS, REASON

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Copy:
    store: BlobRefused
    key: str  # under the area's prefix: `<folder>/<name>`
    path: Path
    sha256: str


def refused_copies(copies: Path) -> list[Path]:
    """The folders under the copies' home that hold the copies (swept like `archive/`)."""
    return [Areas(copies).file_area(a) / f for a in FILE_AREAS for f in FOLDERS[a]]


@contextmanager
def refused_on_disk(storage: StorageOptions, areas: Areas, copies: Path) -> Iterator[None]:
    """The block sees every refused body in the bucket as a file under `copies`; changed
    copies are put back at its end (nothing when it fails, or on the local backend)."""
    if storage.backend != "s3":
        yield
        return
    made = [c for area in FILE_AREAS for c in _copied(storage, areas, copies, area)]
    yield
    changed = [c for c in made if _sha256(c.path.read_bytes()) != c.sha256]
    for copy in changed:
        copy.store.blobs.put(copy.key, copy.path.read_bytes())
    if changed:
        log.info("put %d masked refused bod(ies) back on object storage", len(changed))


def _copied(storage: StorageOptions, areas: Areas, copies: Path, area: FileArea) -> list[_Copy]:
    """Each body and reason of one area's bucket folders, written under `copies`."""
    root = areas.file_area(area)
    store = BlobRefused(open_blobs(storage, root.relative_to(areas.home).as_posix(), root))
    made = []
    for folder in FOLDERS[area]:
        target = Areas(copies).file_area(area) / folder
        for name in store.names(folder):
            for part in (name, name + REASON):
                key = f"{folder}/{part}"
                try:
                    data = store.blobs.read(key)
                except BlobNotFound:
                    continue  # no reason kept, or purged since the listing
                write_atomically(target / part, data)
                made.append(_Copy(store, key, target / part, _sha256(data)))
    return made


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
