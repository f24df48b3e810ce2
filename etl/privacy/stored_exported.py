"""Erasure in the files the ERP got, kept in object storage (`[storage] backend = "s3"`).

The disk's rule (etl.privacy.places.sweep over `archive/`), there: every object under
`<prefix>/archive/<area>/exported/` is fetched into a private temp folder, masked by the same
rewriter (an order file with the order-records rule, as `archive/orders` on the disk) and,
unless a dry run, put back whole. Places and files are named as on the disk
(`archive/orders`, `archive/orders/exported/<layout>/<day>/<name>`), so the erasure log, the
command's lines and the list of files on the ERP's server read the same for either backend.
A day folder that has a manifest (a purge wrote one) gets the erasure noted in it, as on the
disk: its masked files are returned for `note_stored`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from etl.privacy.masking import Masker
from etl.privacy.places import (
    ORDER_PLACES,
    Sweep,
    erasure_record,
    maskable,
    masked_in,
    place_of,
)
from etl.privacy.stored_runs import Notes
from etl.state.areas import FILE_AREAS, Areas
from etl.state.blob_exported import BlobExported, open_blob_exported
from etl.state.blobs import StorageOptions


def sweep_stored_exported(
    storage: StorageOptions, home: Path, masker: Masker, write: bool, found: Sweep
) -> Notes:
    """Mask the person in every exported file in the bucket; counts go to `found`."""
    notes: Notes = {}
    if storage.backend != "s3":
        return notes
    in_orders = masker.in_orders()
    # Dot-named under the home, 0700: the person's values never leave the product's folders.
    with tempfile.TemporaryDirectory(dir=home, prefix=".forget-") as temp:
        for area in FILE_AREAS:
            stored = open_blob_exported(storage, Areas(home), area)
            for layout in stored.layouts():
                for day in stored.days(layout):
                    for n, name in enumerate(stored.files(layout, day)):
                        local = Path(temp) / f"{n}-{Path(name).name}"
                        twin = stored.twin(layout, day, name)
                        place = place_of(home, twin)
                        theirs = in_orders if place.startswith(ORDER_PLACES) else masker
                        values = _masked(stored, (layout, day, name), local, theirs, write, found)
                        if values:
                            found.count(place, twin, values)
                            if write:
                                stored.replace(layout, day, name, local)
                                _note(stored, layout, day, erasure_record(name, local), notes)
                        local.unlink(missing_ok=True)
    return notes


def _masked(
    stored: BlobExported,
    where: tuple[str, str, str],
    local: Path,
    masker: Masker,
    write: bool,
    found: Sweep,
) -> int:
    """Fetch one object into `local` and mask it there, as the disk's file; values it held."""
    twin = stored.twin(*where)
    if not maskable(twin, found) or not stored.fetch(*where, local):
        return 0  # not a kind that is masked; or gone since the listing (a purge)
    return masked_in(twin, local, masker, write, found)


def _note(
    stored: BlobExported, layout: str, day: str, record: dict[str, object], notes: Notes
) -> None:
    """A day folder with a manifest records the erasure (none written where there is none)."""
    folder = stored.twin(layout, day)
    if folder in notes or stored.read_manifest(layout, day) is not None:
        notes.setdefault(folder, []).append(record)
