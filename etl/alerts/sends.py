"""The messages waiting to go out, claimed one process at a time, and each channel's backoff.

A process claims a channel's due messages in one transaction (BEGIN IMMEDIATE), sends them
with the lock released, then records each result: the scheduler and the receiver working
the same book never send one message twice. A claim whose process died (it is older than
`LEASE`) is taken over. A channel that failed waits, the wait doubling with each failure up
to a cap, and is tried again from the message it failed on.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

from etl.alerts.book import AlertedProblem, problem_of
from etl.state.ledger.connection import Tables, stamp

# Longer than any send can take (a timeout is at most 120 s, a claim at most BATCH sends).
LEASE = dt.timedelta(minutes=30)
BATCH = 10  # messages a channel sends in one tick; the rest wait for the next


@dataclass(frozen=True)
class Claimed:
    """A message this process has claimed and must now send and record."""

    alert_id: int
    message: str  # opened | resolved
    channel: str
    problem: AlertedProblem
    opened_at: str
    resolved_at: str | None


@dataclass(frozen=True)
class Backoff:
    """How long a failed channel waits: `first`, doubled per failure, at most `cap`."""

    first: dt.timedelta
    cap: dt.timedelta

    def after(self, failures: int) -> dt.timedelta:
        """The wait after the `failures`-th failure in a row."""
        doubled: dt.timedelta = self.first * 2 ** min(failures - 1, 30)
        return min(doubled, self.cap)


class AlertSends(Tables):
    """The alert_sends and alert_channels tables; one connection per thread or process."""

    def waits_until(self, channel: str, now: dt.datetime) -> dt.datetime | None:
        """When a failed channel may be tried again, if that is later than now."""
        row = self._db.execute(
            "SELECT next_try_at FROM alert_channels WHERE channel=?", (channel,)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        until = dt.datetime.fromisoformat(row[0])
        return until if until > now else None

    def claim(self, channel: str, now: dt.datetime) -> list[Claimed]:
        """Up to BATCH messages of `channel` that are due, oldest first, now this process's."""
        stale = stamp(now - LEASE)
        with self._tx() as db:
            rows = db.execute(
                "SELECT s.alert_id, s.message, a.* FROM alert_sends s JOIN alerts a USING (alert_id) "
                "WHERE s.channel=? AND (s.state='pending' OR (s.state='claimed' AND s.claimed_at<?)) "
                "ORDER BY s.alert_id, s.message LIMIT ?",
                (channel, stale, BATCH),
            ).fetchall()
            for row in rows:
                db.execute(
                    "UPDATE alert_sends SET state='claimed', claimed_at=? "
                    "WHERE alert_id=? AND message=? AND channel=?",
                    (stamp(now), row["alert_id"], row["message"], channel),
                )
        return [_claimed(row, channel) for row in rows]

    def sent(self, claim: Claimed, now: dt.datetime) -> None:
        """The message went out; the channel works."""
        with self._tx() as db:
            db.execute(
                "UPDATE alert_sends SET state='sent', sent_at=?, attempts=attempts+1, "
                "last_error=NULL WHERE alert_id=? AND message=? AND channel=?",
                (stamp(now), claim.alert_id, claim.message, claim.channel),
            )
            db.execute("DELETE FROM alert_channels WHERE channel=?", (claim.channel,))

    def failed(self, claim: Claimed, error: str, now: dt.datetime, backoff: Backoff) -> dt.datetime:
        """The send failed: the message waits, and so does its channel; when it is tried next."""
        with self._tx() as db:
            db.execute(
                "UPDATE alert_sends SET state='pending', claimed_at=NULL, attempts=attempts+1, "
                "last_error=? WHERE alert_id=? AND message=? AND channel=?",
                (error, claim.alert_id, claim.message, claim.channel),
            )
            failures = _failures(db, claim.channel) + 1
            retry = now + backoff.after(failures)
            db.execute(
                "INSERT INTO alert_channels VALUES (?,?,?,?,?) ON CONFLICT (channel) DO UPDATE "
                "SET failures=excluded.failures, next_try_at=excluded.next_try_at, "
                "last_error=excluded.last_error",
                (claim.channel, failures, stamp(now), stamp(retry), error),
            )
        return retry

    def release(self, claims: list[Claimed]) -> None:
        """Give claims back untried (their channel failed on an earlier message)."""
        with self._tx() as db:
            for claim in claims:
                db.execute(
                    "UPDATE alert_sends SET state='pending', claimed_at=NULL "
                    "WHERE alert_id=? AND message=? AND channel=? AND state='claimed'",
                    (claim.alert_id, claim.message, claim.channel),
                )


def _failures(db: sqlite3.Connection, channel: str) -> int:
    row = db.execute("SELECT failures FROM alert_channels WHERE channel=?", (channel,)).fetchone()
    return int(row[0]) if row else 0


def _claimed(row: sqlite3.Row, channel: str) -> Claimed:
    return Claimed(
        alert_id=row["alert_id"],
        message=row["message"],
        channel=channel,
        problem=problem_of(row),
        opened_at=row["opened_at"],
        resolved_at=row["resolved_at"],
    )
