"""The alert book: which problems were alerted, on which channel, and when they were resolved.

`reconcile` holds the problems that exist now against the open ones in one transaction: a
new key opens an alert (a message per channel), a key that stays changes nothing, a key
that is gone resolves its alert (a "resolved" message where the first one went out; where
it never did, nothing is sent at all). At most one alert per key is open (a unique index),
so the scheduler and the receiver reconciling at once open it once. Sending is in
etl.alerts.sends.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from etl.state.ledger.connection import LedgerAt, Tables, stamp

# Its tables (alerts, alert_sends, alert_channels) are created by etl.state.ledger.migrations.


class Alertable(Protocol):
    """What a problem must tell to be alerted: etl.console.problems.Problem has it all.

    A protocol, not that class: the page (etl.console) reads this book, so the book must not
    import etl.console back.
    """

    @property
    def key(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def what(self) -> str: ...
    @property
    def did(self) -> str: ...
    @property
    def command(self) -> str | None: ...
    @property
    def since(self) -> str: ...


@dataclass(frozen=True)
class AlertedProblem:
    """A problem as it was when its alert was opened (the fields of a `Problem`)."""

    key: str
    kind: str
    subject: str
    what: str
    did: str
    command: str | None
    since: str


@dataclass(frozen=True)
class Reconciled:
    """What one reconcile changed: the keys it opened and the keys it resolved."""

    opened: tuple[str, ...]
    resolved: tuple[str, ...]


@dataclass(frozen=True)
class AlertRecord:
    """One alert as the page shows it: the problem, when it was alerted and resolved."""

    alert_id: int
    problem: AlertedProblem
    opened_at: str
    alerted_at: str | None  # the first channel that took the message; None: not yet
    resolved_at: str | None
    sends: dict[str, str]  # "<channel> <message>" -> pending | claimed | sent | skipped


class AlertBook(Tables):
    """The alert tables of the ledger; one connection per thread or process."""

    def reconcile(
        self,
        problems: Iterable[Alertable],
        channels: Sequence[str],
        now: dt.datetime,
        only: Collection[str] | None = None,
    ) -> Reconciled:
        """Open alerts for new problem keys and resolve those whose problem is gone.

        `only`: the keys this caller can tell about (a start whose contracts did not load
        knows its configuration problem, not whether a feed's failure is gone); the others
        are left as they are.
        """
        current = {problem.key: problem for problem in problems}
        at = stamp(now)
        with self._tx() as db:
            known = dict(db.execute("SELECT key, alert_id FROM alerts WHERE resolved_at IS NULL"))
            if only is not None:
                known = {key: alert for key, alert in known.items() if key in only}
                current = {key: p for key, p in current.items() if key in only}
            opened = sorted(current.keys() - known.keys())
            resolved = sorted(known.keys() - current.keys())
            for key in opened:
                _open(db, current[key], at)
            for key in resolved:
                _resolve(db, known[key], at)
            # A channel added while an alert is open gets its first message too.
            for channel in channels:
                db.execute(
                    "INSERT OR IGNORE INTO alert_sends (alert_id, message, channel, state) "
                    "SELECT alert_id, 'opened', ?, 'pending' FROM alerts WHERE resolved_at IS NULL",
                    (channel,),
                )
        return Reconciled(tuple(opened), tuple(resolved))

    def recent_alerts(self, limit: int) -> list[AlertRecord]:
        """The last `limit` alerts, newest first, open or resolved."""
        rows = self._db.execute(
            "SELECT * FROM alerts ORDER BY alert_id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [self._record(row) for row in rows]

    def _record(self, row: sqlite3.Row) -> AlertRecord:
        sends = self._db.execute(
            "SELECT channel, message, state, sent_at FROM alert_sends WHERE alert_id=? "
            "ORDER BY channel, message",
            (row["alert_id"],),
        ).fetchall()
        sent = [s["sent_at"] for s in sends if s["message"] == "opened" and s["sent_at"]]
        return AlertRecord(
            alert_id=row["alert_id"],
            problem=problem_of(row),
            opened_at=row["opened_at"],
            alerted_at=min(sent) if sent else None,
            resolved_at=row["resolved_at"],
            sends={f"{s['channel']} {s['message']}": s["state"] for s in sends},
        )


def problem_of(row: sqlite3.Row) -> AlertedProblem:
    """The problem as it was when its alert was opened."""
    return AlertedProblem(
        key=row["key"],
        kind=row["kind"],
        subject=row["subject"],
        what=row["what"],
        did=row["did"],
        command=row["command"],
        since=row["since"],
    )


def _open(db: sqlite3.Connection, problem: Alertable, at: str) -> None:
    db.execute(
        "INSERT INTO alerts (key, kind, subject, what, did, command, since, opened_at) "
        "VALUES (?,?,?,?,?,?,?,?)",
        (
            problem.key,
            problem.kind,
            problem.subject,
            problem.what,
            problem.did,
            problem.command,
            problem.since,
            at,
        ),
    )


def _resolve(db: sqlite3.Connection, alert_id: int, at: str) -> None:
    db.execute("UPDATE alerts SET resolved_at=? WHERE alert_id=?", (at, alert_id))
    # Never alerted on a channel (it was down): nothing to take back there, so nothing goes.
    db.execute(
        "UPDATE alert_sends SET state='skipped' "
        "WHERE alert_id=? AND message='opened' AND state='pending'",
        (alert_id,),
    )
    db.execute(
        "INSERT OR IGNORE INTO alert_sends (alert_id, message, channel, state) "
        "SELECT alert_id, 'resolved', channel, 'pending' FROM alert_sends "
        "WHERE alert_id=? AND message='opened' AND state IN ('sent', 'claimed')",
        (alert_id,),
    )


def recent_alerts(ledger: LedgerAt, limit: int) -> list[AlertRecord]:
    """The last `limit` alerts in the ledger at `ledger`, newest first (for the page)."""
    book = AlertBook(ledger)
    try:
        return book.recent_alerts(limit)
    finally:
        book.close()
