"""Poll watermarks: how far each Norce Query poll has read, in the ledger's SQLite file.

A watermark is the newest `Updated` time of the orders a finished poll took in. It only
moves forward, and only after every order of the run was handed to the inbound: a run that
fails halfway leaves it where it was, so the next run reads the same orders again (the
ones already spooled are skipped). Same database file as the order book (WAL, so the
receiver and the scheduler write side by side), in a table of its own.
"""

from __future__ import annotations

import datetime as dt

from etl.state.ledger.connection import LedgerAt, connect, transaction

# Its table (poll_watermarks) is created by etl.state.ledger.migrations.


class Watermarks:
    """Named high-water marks; one connection per thread or process."""

    def __init__(self, at: LedgerAt) -> None:
        self._db = connect(at)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def get(self, name: str) -> dt.datetime | None:
        """The mark saved under `name` (UTC), or None before the first successful run."""
        row = self._db.execute("SELECT mark FROM poll_watermarks WHERE name=?", (name,)).fetchone()
        return dt.datetime.fromisoformat(row[0]) if row else None

    def advance(self, name: str, mark: dt.datetime, at: dt.datetime, orders: int) -> dt.datetime:
        """Move the mark to `mark` unless it is already later; the mark now in force."""
        if mark.tzinfo is None:
            raise ValueError(f"watermark {mark!r} has no time zone")
        mark = mark.astimezone(dt.UTC)
        with transaction(self._db) as db:
            current = self.get(name)
            if current is None or mark > current:
                db.execute(
                    "INSERT INTO poll_watermarks VALUES (?,?,?,?) ON CONFLICT (name) DO UPDATE "
                    "SET mark=excluded.mark, saved_at=excluded.saved_at, orders=excluded.orders",
                    (name, mark.isoformat(), at.astimezone(dt.UTC).isoformat(), orders),
                )
                current = mark
        return current
