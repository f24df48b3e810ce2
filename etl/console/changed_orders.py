"""Problems of kind `order_changed`: an order received again with other content.

The order book keeps such a body beside the first (`order_variants`) and exports nothing of
it: a person compares the two (`run.py orders show REF`) and resends on purpose if the ERP
must have the change (`run.py resend REF --variant N`). The problem lasts until an export of
a resend (a generation after the first) begins after the body came, or until `run.py purge`
removed the body past `orders_retention_days` (it can no longer be sent).
"""

from __future__ import annotations

import sqlite3

from etl.console.problems import Problem
from etl.state.ledger.connection import LedgerAt, Tables
from etl.state.spool_base import BodySpool
from etl.transport.names import printable

_UNSETTLED = (
    "SELECT v.ref, v.sha256, v.spool_name, v.received_at FROM order_variants v "
    "WHERE NOT EXISTS (SELECT 1 FROM order_export_items i "
    "JOIN order_exports e ON e.export_id=i.export_id "
    "WHERE i.ref=v.ref AND i.generation>1 AND e.created_at>=v.received_at) "
    "ORDER BY v.received_at, v.ref, v.sha256"
)


class ChangedOrders(Tables):
    """Bodies received again under a reference with other content, no resend since."""

    def unsettled(self) -> list[sqlite3.Row]:
        """Every such body, oldest first (they are rare: an order changed in Norce)."""
        return self._db.execute(_UNSETTLED).fetchall()


def read_changed_problems(ledger: LedgerAt, spool: BodySpool) -> list[Problem]:
    """`changed_problems` over a connection of its own to the ledger."""
    changed = ChangedOrders(ledger)
    try:
        return changed_problems(changed, spool)
    finally:
        changed.close()


def changed_problems(changed: ChangedOrders, spool: BodySpool) -> list[Problem]:
    """One `order_changed` problem per body kept for review: its key names the order and
    the body, never how many others there are (a count would resolve and reopen them all)."""
    return [_changed(r) for r in changed.unsettled() if spool.exists(r["spool_name"])]


def _changed(row: sqlite3.Row) -> Problem:
    ref = printable(row["ref"])
    return Problem(
        key=f"order-changed:{row['ref']}:{row['sha256'][:16]}",
        kind="order_changed",
        subject=f"order {ref}",
        what=f"received again with different content (body {row['sha256'][:16]}); the ERP "
        "has the first",
        did="kept the new body for review and exported nothing of it",
        command=f"run.py orders show {ref}, then run.py resend {ref} --variant "
        f"{row['sha256'][:16]} if the ERP must have the change",
        since=str(row["received_at"]),
    )
