"""Whether a process still works on the home: its locks and the ledger's heartbeats.

State copied while the scheduler, `once` or the receiver writes to it loses what they write
after the copy (a committed file the new ledger never hears of is committed again). A run
holds its feed's (or export's) lock under state/locks/ for as long as it runs; the scheduler
and the receiver beat every minute in the ledger and record a stop on purpose. The move
takes every lock it finds and keeps them to its end, so no run of this home starts meanwhile.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from etl.state.ledger import catalog
from etl.state.locks import feed_lock
from etl.state.migrate.refused import MoveRefused

_STOP = "stop run.py (the scheduler), any `once` or `approve`, and `run.py receive` on this home"


@contextmanager
def home_held(locks: Path) -> Iterator[list[str]]:
    """Every lock of the home, held until the block ends; MoveRefused when one is taken."""
    names = sorted(p.stem for p in locks.glob("*.lock")) if locks.is_dir() else []
    with ExitStack() as stack:
        for name in names:
            if not stack.enter_context(feed_lock(locks, name)):
                raise MoveRefused(
                    f"state/locks/{name}.lock is held: a run of {name} is going on. "
                    f"Nothing was moved; {_STOP}, then run migrate-state again"
                )
        yield names


def refuse_live_processes(
    ledger: sqlite3.Connection, now: dt.datetime, quiet_after: dt.timedelta
) -> None:
    """MoveRefused when the scheduler or the receiver beat lately and did not say it stopped.

    A process killed without a word stops beating: after `quiet_after` ([alerts]
    stale_after_minutes, as `status` judges it) it is taken for gone.
    """
    if not catalog.has_table(ledger, "heartbeats"):  # a ledger from before heartbeats
        return
    beats = ledger.execute("SELECT process, at, pid, host FROM heartbeats WHERE stopped_at IS NULL")
    for process, at, pid, host in beats.fetchall():
        if now - dt.datetime.fromisoformat(at) < quiet_after:
            raise MoveRefused(
                f"the {process} (pid {pid} on {host}) beat at {at} and is taken to be "
                f"running. Nothing was moved; {_STOP} (a process killed without a word "
                f"counts as stopped {quiet_after.total_seconds() / 60:g} minutes after its "
                "last beat)"
            )


def runs_left_running(ledger: sqlite3.Connection) -> list[str]:
    """Runs the ledger has as `running` though no lock is held: their processes died.

    They move as they are; the feed's next run, wherever it runs, marks them interrupted
    (and takes their file again), as it would have on the VM.
    """
    if not catalog.has_table(ledger, "runs"):
        return []
    rows = ledger.execute("SELECT run_id FROM runs WHERE outcome='running' ORDER BY run_id")
    return [str(row[0]) for row in rows.fetchall()]
