"""Snapshots: the last accepted state of each feed, one Parquet file per committed run.

A snapshot file is written before the commit and becomes current only when the ledger's
commit transaction points at it, so a crash between the two leaves the old one current
and the next run produces the same delta. Files no commit points at are swept later.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from etl.models import STATE
from etl.state.atomic import TEMP_GLOB, atomic_path
from etl.state.staged import remove


class SnapshotStore:
    """Parquet snapshots under `state/snapshots/<feed>/<run>.parquet`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, relative: str | None, fields: dict[str, pl.DataType]) -> pl.DataFrame:
        """The snapshot at `relative` (None: the empty first snapshot), with today's fields.

        A snapshot written before a field was added to the entity lacks its column; it reads
        as empty, so a file that carries the field sends it as a change, once. Without this
        the diff would never compare the field and the next snapshot would drop it again.
        A column the entity no longer has is left out, as the diff compares old columns.
        Only the columns asked for are read: a file's references ask one of fifteen (reading
        the whole products snapshot for its keys cost four times the CPU, and its memory).
        """
        if relative is None:
            return empty_snapshot(fields)
        return self.scan(relative, fields).collect()

    def scan(self, relative: str | None, fields: dict[str, pl.DataType]) -> pl.LazyFrame:
        """The snapshot `read` gives, lazily: only the columns and rows collected are read."""
        if relative is None:
            return empty_snapshot(fields).lazy()
        frame = pl.scan_parquet(self.path(relative), glob=False)
        present = frame.collect_schema()
        added = [pl.lit(None, dtype).alias(f) for f, dtype in fields.items() if f not in present]
        return frame.with_columns(added).select(*fields, STATE)

    def write(self, feed: str, run_id: str, frame: pl.DataFrame) -> str:
        """Write a candidate snapshot atomically; returns its path relative to the root."""
        relative = f"{feed}/{run_id}.parquet"
        _write(self.root / relative, frame)
        self._written(relative)
        return relative

    def path(self, relative: str) -> Path:
        """The local file of the snapshot at `relative` (etl.state.blob_snapshots fetches it)."""
        return self.root / relative

    def _written(self, relative: str) -> None:
        """A candidate snapshot is whole on disk: nothing more to do for a local store.

        Every way of writing a candidate calls this before returning its path: the store on
        object storage (etl.state.blob_snapshots) uploads it here, before the commit.
        """

    def replace(self, relative: str, frame: pl.DataFrame) -> None:
        """Rewrite a committed snapshot in place, atomically (purge: same rows, fewer values).

        Call under the feed's lock: the file is the current snapshot, no run may be reading it.
        """
        _write(self.root / relative, frame)

    def drop_unfinished(self, feed: str) -> list[Path]:
        """Remove the feed's half-written temp files; call under its lock (no write is going on)."""
        return remove((self.root / feed).glob(TEMP_GLOB))

    def sweep(self, feed: str, keep: set[str]) -> list[str]:
        """Remove this feed's snapshot files that no commit points at; returns what went."""
        gone = []
        for path in sorted((self.root / feed).glob("*.parquet")):
            relative = f"{feed}/{path.name}"
            if relative not in keep:
                path.unlink()
                gone.append(relative)
        return gone


def empty_snapshot(fields: dict[str, pl.DataType]) -> pl.DataFrame:
    """A snapshot with no rows, for a feed's first run."""
    return pl.DataFrame(schema={**fields, STATE: pl.String})


def _write(target: Path, frame: pl.DataFrame) -> None:
    """One snapshot file in place, atomically and owner-only (it may hold people's data)."""
    with atomic_path(target) as temp:
        # lz4 keeps 1M-row writes well under a second; the files are local state, not archive.
        frame.write_parquet(temp, compression="lz4", statistics=False)
