"""What `run.py check` holds a file's rows against, as a run would, without writing state.

A run checks a feed's rows against snapshots: its own (a row marked inactive whose key is
there is a removal) and those its `[references]` name, which the feeds before it in the
pass have just committed. Check does the same: against the snapshot each feed checked
before it in this invocation would leave, else the ledger's current one, read only (check
never creates the ledger or any folder), else nothing.

With `[storage] backend = "s3"` the snapshot is the bucket's object and this machine's
copy only a cache it may not have: a copy whose ETag sidecar names the object as it is now
is read (as a run's `BlobSnapshotStore.path` checks it; a same-size rewrite by another
machine's `forget` is not), else the object is fetched into a private temp folder outside the
home (gone once read) and no sidecar is written, so check still creates nothing under the
home. A snapshot the ledger names that the bucket does not hold is said as such, naming the
bucket and key.
"""

from __future__ import annotations

import tempfile
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.errors import EtlError
from etl.models import IS_ACTIVE, LINE, STATE, Validated
from etl.read.deactivations import marked_inactive
from etl.read.references import holdings, settle
from etl.runtime import ledger_at
from etl.state.areas import Areas
from etl.state.blob_snapshots import AREA, is_copy_of
from etl.state.blobs import BlobNotFound, open_blobs
from etl.state.blobs.base import join
from etl.state.ledger.catalog import has_table
from etl.state.ledger.connection import LedgerAt, read_only
from etl.state.snapshots import SnapshotStore
from etl.to_norce.masterdata import diff as differ
from etl.to_norce.masterdata.flow import plan


@dataclass
class CheckState:
    """The snapshots one `check` invocation reads, and those its feeds' runs would leave."""

    settings: Settings
    after: dict[str, pl.DataFrame] = field(default_factory=dict)  # feed -> its next snapshot

    def settle(self, validated: Validated, contract: FeedContract) -> Validated:
        """`validated` checked against the snapshots as a run would check it."""
        own = self.snapshot(contract.name, contract.entity.fields())
        known = holdings(
            contract,
            own if IS_ACTIVE in contract.carried_fields() else None,
            lambda feed, other: self.snapshot(feed, {other: pl.String()}),
        )
        return settle(validated, contract, known)

    def remember(self, validated: Validated, contract: FeedContract) -> str | None:
        """Keep the snapshot a run of this feed would leave, for the feeds checked after it;
        returns why that run would hold its removals, if it would."""
        old = self.snapshot(contract.name, contract.entity.fields())
        delta, hold_reason = plan(old, validated, contract)
        valid, full = validated.valid.drop(LINE), contract.feed.export == "full"
        self.after[contract.name] = differ.apply(old, valid, delta, contract.key_fields, full)
        return hold_reason

    def snapshot(self, feed: str, fields: dict[str, pl.DataType]) -> pl.DataFrame:
        """The feed's snapshot as this check sees it, with `fields` and the state."""
        if feed in self.after:
            frame = self.after[feed]
            missing = [pl.lit(None, t).alias(f) for f, t in fields.items() if f not in frame]
            return frame.with_columns(missing).select(*fields, STATE)
        # A run committing meanwhile replaces the snapshot file the ledger named: read the
        # ledger again. Three replacements in a row: the feed is busy, not the file broken.
        for _ in range(3):
            current = _current(ledger_at(self.settings), feed)
            try:
                return _read(self.settings, current, fields)
            except FileNotFoundError:
                continue
            except BlobNotFound as exc:
                # Not in the bucket and still current: no commit replaced it, it is missing.
                if _current(ledger_at(self.settings), feed) == current:
                    raise EtlError(
                        f"feed {feed!r}: its current snapshot is missing: {exc}"
                    ) from exc
        raise EtlError(f"feed {feed!r} committed runs while check read its snapshot: check again")


def _read(settings: Settings, relative: str | None, fields: dict[str, pl.DataType]) -> pl.DataFrame:
    """The snapshot at `relative` where the settings keep it, read without writing anything."""
    local = Areas(settings.home).snapshots
    if relative is None or settings.storage.backend != "s3":
        return SnapshotStore(local).read(relative, fields)
    blobs = open_blobs(settings.storage, AREA, local)
    stored = blobs.stat(relative)
    if stored is None:
        raise BlobNotFound(f"{relative} is not in object storage ({_where(settings)})")
    if is_copy_of(local / relative, stored):  # its ETag sidecar names the object as it is now
        return SnapshotStore(local).read(relative, fields)
    with tempfile.TemporaryDirectory(prefix="etl-check-") as temp:
        fetched = Path(temp) / relative
        fetched.parent.mkdir(parents=True)
        blobs.get_file(relative, fetched)
        return SnapshotStore(Path(temp)).read(relative, fields)


def _where(settings: Settings) -> str:
    """The bucket and key prefix of the snapshots, for a message."""
    storage = settings.storage
    return f"bucket {storage.bucket}, key {join(storage.prefix, AREA)}/..."


def _current(ledger: LedgerAt, feed: str) -> str | None:
    """The path of the feed's current snapshot in the ledger, opened read only; None if none."""
    db = read_only(ledger)
    if db is None:
        return None
    with closing(db):
        if not has_table(db, "snapshots"):  # a ledger from before the table: none committed
            return None
        row = db.execute("SELECT path FROM snapshots WHERE feed=?", (feed,)).fetchone()
    return str(row[0]) if row else None


def marked_rows(validated: Validated, contract: FeedContract) -> int | None:
    """How many valid rows the file marks inactive; None when the contract maps no is_active."""
    if IS_ACTIVE not in contract.field_sources():
        return None
    return validated.valid.filter(marked_inactive(validated.valid)).height


def hold_warning(validated: Validated, contract: FeedContract, hold: str | None) -> str | None:
    """The warning when a run would hold the removals, or the file marks every row inactive.

    A run holds a full export's removals when every valid row is marked inactive, as it
    holds an empty file's (etl.to_norce.masterdata.diff.guard): an export job gone wrong looks just like that.
    With nothing live yet there is nothing to hold, but the next such file will be.
    """
    if hold:
        return f"Warning: a run would hold its removals until `run.py approve RUN`: {hold}"
    marked = marked_rows(validated, contract)
    if contract.feed.export != "full" or not marked or marked != validated.valid.height:
        return None
    return (
        f"Warning: every valid row of this full export is marked inactive (is_active false, "
        f"{marked} rows): with none of them live, a run would add them inactive; once rows "
        "are live, a run holds the removals of such a file until `run.py approve RUN`"
    )
