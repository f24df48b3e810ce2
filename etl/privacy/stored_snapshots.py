"""Snapshots on object storage, copied to a private folder of this machine for `forget`.

With `[storage] backend = "s3"` the snapshot folder is only a cache: every machine reads the
object (etl.state.blob_snapshots fetches it again when its ETag changed), so masking the
local copy alone would be undone by the next run. For the time of the erasure every object
of the people feeds (`<prefix>/state/snapshots/<feed>/<run>.parquet`, current or not swept
yet) is fetched into the private copies' folder (etl.state.spool_copies: removed afterwards,
and by the next `forget` or `purge` when a `forget` was killed), where the erasure finds and
masks it as on a disk; each copy the erasure changed is then put back over its object, whole
(one PUT: a reader sees the old object or the new one). This machine's cache of those feeds
is then removed: it may hold the person unmasked, and the next run fetches the masked
snapshot. An erasure that fails puts nothing back (it is run again).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from etl.state.blob_snapshots import AREA, SUFFIX
from etl.state.blobs import Blobs, StorageOptions, open_blobs

log = logging.getLogger(__name__)

Copy = tuple[str, Path, str]  # the object's key, its local copy, the copy's SHA-256 as fetched


@contextmanager
def snapshots_on_disk(
    storage: StorageOptions, cache: Path, copies: Path, feeds: list[str]
) -> Iterator[int]:
    """The block sees every stored snapshot of `feeds` as a file under `copies`; yields how many.

    `cache`: this machine's snapshot folder, whose copies of `feeds` are removed afterwards.
    """
    if storage.backend != "s3":
        yield 0
        return
    blobs = open_blobs(storage, AREA, copies)
    fetched = [c for feed in sorted(set(feeds)) for c in _fetched(blobs, copies, feed)]
    yield len(fetched)
    changed = [(key, path) for key, path, sha in fetched if _sha256(path) != sha]
    for key, path in changed:
        blobs.put_file(key, path)
    if changed:
        log.info("put %d masked snapshot(s) back on object storage", len(changed))
    for feed in sorted(set(feeds)):
        # Only a cache: what another run fetched before may hold the person unmasked.
        shutil.rmtree(cache / feed, ignore_errors=True)


def _fetched(blobs: Blobs, root: Path, feed: str) -> list[Copy]:
    """Each snapshot object of the feed fetched over its local copy, with its hash."""
    copies = []
    for blob in blobs.list(feed).blobs:
        if not blob.name.endswith(SUFFIX):
            continue
        local = root / blob.key
        blobs.get_file(blob.key, local)
        copies.append((blob.key, local, _sha256(local)))
    return copies


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for piece in iter(lambda: handle.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()
