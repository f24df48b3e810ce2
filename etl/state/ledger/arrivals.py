"""When a feed's files came: read from the files its runs finished, for expected files.

A file came when a run of its feed finished with it: committed, rejected, a duplicate of
earlier content, or refused by its name (each a listing in the `seen` table: one row per
file, however many runs it took). It came at the earlier of that run's start and the
file's modification time on the server: a feed polled every hour takes a file written at
05:50 at 06:40, and the file still came at 05:50. A run that failed with the file leaves
it on the server, where expected files look for it (etl.console.expected).
"""

from __future__ import annotations

import datetime as dt

from etl.state.ledger.connection import Tables

# The newest files looked at: enough to match each recent due time with its file.
RECENT_FILES = 50


class Arrivals(Tables):
    """Read-only view of the ledger: when each feed's recent files came."""

    def recent(self, feed: str, limit: int = RECENT_FILES) -> list[dt.datetime]:
        """When the feed's latest `limit` files came, in UTC, oldest first."""
        rows = self._db.execute(
            "SELECT r.started_at, s.mtime FROM seen s JOIN runs r ON r.run_id = s.run_id "
            # A replay takes an archived file again: that is not the ERP's file coming.
            "WHERE s.feed=? AND r.kind != 'replay' ORDER BY r.started_at DESC, r.rowid DESC LIMIT ?",
            (feed, limit),
        ).fetchall()
        return sorted(_came(row["started_at"], row["mtime"]) for row in rows)


def _came(started_at: str, mtime: float) -> dt.datetime:
    started = dt.datetime.fromisoformat(started_at)
    if started.tzinfo is None:
        started = started.replace(tzinfo=dt.UTC)
    return min(started, dt.datetime.fromtimestamp(mtime, dt.UTC))
