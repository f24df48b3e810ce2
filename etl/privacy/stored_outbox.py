"""Erasure in the Norce outbox kept in object storage (`[storage] backend = "s3"`).

File mode writes each call as it would be posted; those bodies hold names, addresses and
e-mails. In the bucket they lie under `<prefix>/outbox/norce/<feed>/`: a master-data run's
calls as batches `<batch>/` with a mark `<batch>.published` (etl.state.blob_batches), a
document's calls and buyer numbers put one by one with no mark (etl.norce.bucket_calls), and
files `migrate-state` copied as they were on the disk. So every object under the area is
looked at, as the disk's `outbox/norce/` is walked whole (etl.privacy.places.files_under):
each is fetched into a private temp folder, masked there by the same rule and, unless a dry
run, put back whole. A mark is not a call: it is skipped, and a batch whose files changed
gets its sizes brought up to date, so it still describes the batch. Places and files are
named as on the disk (`outbox/norce`), so the erasure log reads the same for either backend.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from etl.norce.file_delivery import AREA
from etl.privacy.masking import Masker
from etl.privacy.places import Sweep, maskable, masked_in, place_of
from etl.state.areas import Areas
from etl.state.blob_batches import MARK, BlobBatches
from etl.state.blobs import BlobNotFound, Blobs, StorageOptions, open_blobs
from etl.state.blobs.base import join


def sweep_stored_outbox(
    storage: StorageOptions, home: Path, masker: Masker, write: bool, found: Sweep
) -> None:
    """Mask the person in every object of the Norce outbox in the store; counts to `found`."""
    if storage.backend != "s3":
        return
    folder = Areas(home).outbox / "norce"
    batches = BlobBatches(open_blobs(storage, AREA, folder))
    marked: set[str] = set()
    masked: dict[str, dict[str, int]] = {}  # batch -> its files put back, with their sizes
    # Dot-named under the home, 0700: the person's values never leave the product's folders.
    with tempfile.TemporaryDirectory(dir=home, prefix=".forget-") as temp:
        for n, key in enumerate(_keys(batches.blobs, "", marked)):
            local = Path(temp) / f"{n}-{PurePosixPath(key).name}"
            twin = folder / key
            values = masked_object(batches.blobs, key, local, twin, masker, write, found)
            if not values:
                continue
            found.count(place_of(home, twin), twin, values)
            if write:
                batches.blobs.put_file(key, local)
                batch = _batch_of(key, marked)
                if batch is not None:
                    masked.setdefault(batch, {})[key[len(batch) + 1 :]] = local.stat().st_size
            local.unlink(missing_ok=True)
    for batch, sizes in sorted(masked.items()):
        _update_mark(batches, batch, sizes)


def _keys(blobs: Blobs, prefix: str, marked: set[str]) -> Iterator[str]:
    """Every object key under `prefix` but the marks, whose batches go into `marked`."""
    listing = blobs.list(prefix)
    for blob in listing.blobs:
        if blob.name.endswith(MARK):
            marked.add(join(prefix, blob.name.removesuffix(MARK)))
        else:
            yield blob.key
    for sub in listing.folders:
        yield from _keys(blobs, join(prefix, sub), marked)


def _batch_of(key: str, marked: set[str]) -> str | None:
    """The published batch the object belongs to, None for a document's unstaged call."""
    parts = key.split("/")
    for depth in range(len(parts) - 1, 0, -1):
        if (batch := "/".join(parts[:depth])) in marked:
            return batch
    return None


def _update_mark(batches: BlobBatches, batch: str, sizes: dict[str, int]) -> None:
    """The mark's sizes brought up to date; not create-only: the batch stays its run's."""
    mark = batches.mark(batch)
    if mark is None:
        return  # replaced or purged since the listing
    files: dict[str, Any] = dict(mark.get("files", {}))
    text = json.dumps({**mark, "files": files | sizes}, indent=2, ensure_ascii=False)
    batches.blobs.put(batch + MARK, text.encode())


def masked_object(
    blobs: Blobs, key: str, local: Path, twin: Path, masker: Masker, write: bool, found: Sweep
) -> int:
    """Fetch one object into `local` and mask it there, as the disk's file; values it held."""
    if not maskable(twin, found):
        return 0
    try:
        blobs.get_file(key, local)
    except BlobNotFound:
        return 0  # gone since the listing (a purge): nothing of theirs left in it
    return masked_in(twin, local, masker, write, found)
