"""Erasure in the ERP outbox kept in object storage (`[storage] backend = "s3"`).

The export puts each file it renders under `<prefix>/outbox/erp/<layout>/<name>`, and an
empty mark under `.../sent/<name>` once the ERP's server has it (etl.to_erp.files.shared_outbox).
Both stay until the export is committed and archived: a file committed while the archive's
upload failed waits there, and the next export on any machine archives those bytes. So each
object with content is fetched into a private temp folder, masked there by the same rule as
the disk's `outbox/erp/` and, unless a dry run, put back whole. An order file the ERP has
not received yet is never reached (forget refuses while its orders are not exported); a party
file keeps its structure (same columns, same elements) and, no longer matching its recorded
hash, is dropped by the next export and its parties fetched afresh, as with the disk's masked
copy. Marks are empty: skipped.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from etl.privacy.masking import Masker
from etl.privacy.places import Sweep, place_of
from etl.privacy.stored_outbox import masked_object
from etl.state.areas import Areas
from etl.state.blobs import Blobs, StorageOptions, open_blobs
from etl.state.blobs.base import join
from etl.to_erp.files.shared_outbox import AREA


def sweep_stored_erp_outbox(
    storage: StorageOptions, home: Path, masker: Masker, write: bool, found: Sweep
) -> None:
    """Mask the person in every file of the ERP outbox in the store; counts to `found`."""
    if storage.backend != "s3":
        return
    folder = Areas(home).erp_outboxes
    blobs = open_blobs(storage, AREA, folder)
    # Dot-named under the home, 0700: the person's values never leave the product's folders.
    with tempfile.TemporaryDirectory(dir=home, prefix=".forget-") as temp:
        for n, key in enumerate(_files(blobs, "")):
            local = Path(temp) / f"{n}-{PurePosixPath(key).name}"
            twin = folder / key  # named as the disk's file, so the log reads the same
            values = masked_object(blobs, key, local, twin, masker, write, found)
            if not values:
                continue
            found.count(place_of(home, twin), twin, values)
            if write:
                blobs.put_file(key, local)
            local.unlink(missing_ok=True)


def _files(blobs: Blobs, prefix: str) -> Iterator[str]:
    """Every object key under `prefix` that holds bytes (a `sent/` mark is empty)."""
    listing = blobs.list(prefix)
    yield from (blob.key for blob in listing.blobs if blob.size > 0)
    for sub in listing.folders:
        yield from _files(blobs, join(prefix, sub))
