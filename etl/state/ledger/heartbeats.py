"""Heartbeats: each long-lived process (the scheduler, the receiver) says every minute it lives.

Under workers (`run.py worker`) the alerts job beats for the jobs as "scheduler", run by any
worker; each row says who wrote it (`writer`: scheduler, worker or receiver), so whoever reads
it names the process to start again by what ran, not by a guess from the settings.

The other process reads them (etl.console.heartbeat): a heartbeat that went quiet is a
process that died, hung or was killed without a word. A process stopped on purpose
(SIGTERM, SIGINT) records that, and is not looked for until it beats again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from etl.state.ledger.connection import Tables, stamp

# Its table (heartbeats) is created by etl.state.ledger.migrations.


@dataclass(frozen=True)
class Heartbeat:
    """A process's last sign of life."""

    process: str  # scheduler | receiver
    at: dt.datetime
    pid: int
    host: str
    stopped_at: dt.datetime | None  # set when it was stopped on purpose
    writer: str | None = None  # scheduler | worker | receiver; None: written before it was kept


class Heartbeats(Tables):
    """The heartbeats table; one connection per thread or process."""

    def beat(
        self, process: str, now: dt.datetime, pid: int, host: str, writer: str | None = None
    ) -> None:
        """Record that `process` is alive now (and no longer stopped), written by `writer`
        (the process itself unless named: a worker beats for the scheduler)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO heartbeats (process, at, pid, host, stopped_at, writer) "
                "VALUES (?,?,?,?,NULL,?) ON CONFLICT (process) DO UPDATE SET at=excluded.at, "
                "pid=excluded.pid, host=excluded.host, stopped_at=NULL, writer=excluded.writer",
                (process, stamp(now), pid, host, writer or process),
            )

    def stopped(self, process: str, now: dt.datetime) -> None:
        """Record that `process` was stopped on purpose."""
        with self._tx() as db:
            db.execute("UPDATE heartbeats SET stopped_at=? WHERE process=?", (stamp(now), process))

    def all(self) -> dict[str, Heartbeat]:
        """Every process that ever beat, by name."""
        rows = self._db.execute("SELECT * FROM heartbeats").fetchall()
        return {
            row["process"]: Heartbeat(
                row["process"],
                dt.datetime.fromisoformat(row["at"]),
                row["pid"],
                row["host"],
                dt.datetime.fromisoformat(row["stopped_at"]) if row["stopped_at"] else None,
                row["writer"],
            )
            for row in rows
        }
