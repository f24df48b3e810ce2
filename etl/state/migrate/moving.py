"""The mark of a move under way: `<prefix>/state/moving` in the bucket, there until it is done.

The folders go into the bucket before the ledger goes into PostgreSQL. A process started on
the new settings in between would find the VM's spooled orders in the bucket and an empty
ledger, and book (then export) them again. So a move puts this object first (create-only; a
move run again finds its own), and takes it away only once the ledger copy has committed (or
was found done); the receiver refuses to start while it is there.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from etl.state.blobs import BlobExists, Blobs, StorageError, StorageOptions, open_blobs

log = logging.getLogger(__name__)

MOVING = "state/moving"
UNFINISHED = (
    "a move of state into this bucket is in progress or died half-way (state/moving is "
    "there): nothing on the new settings may start before it is done. Finish it: run "
    "`run.py migrate-state` again on the VM"
)


def mark_moving(blobs: Blobs, now: dt.datetime) -> bool:
    """Put the mark; False when it was there (a move run again after one that stopped)."""
    try:
        blobs.put(MOVING, f"migrate-state started {now.isoformat()}\n".encode(), create_only=True)
    except BlobExists:
        return False
    return True


def clear_moving(blobs: Blobs) -> None:
    """Take the mark away: the move is done."""
    blobs.delete(MOVING)


def move_unfinished(blobs: Blobs) -> bool:
    """Whether a move into this bucket has not finished (StorageError when it cannot tell)."""
    return blobs.stat(MOVING) is not None


def unfinished_move(storage: StorageOptions, home: Path) -> bool:
    """Whether a move into the bucket `storage` names has not finished: what a receiver and
    every run ask before they touch the state. False on local storage, and when the store
    cannot be reached (it cannot tell; whatever then reads the store meets the outage)."""
    if storage.backend != "s3":
        return False
    try:
        return move_unfinished(open_blobs(storage, "", home))
    except StorageError as exc:
        log.warning("object storage cannot be reached to look for an unfinished move (%s)", exc)
        return False
