"""The order book: every order received, its state, and every export of it, in the ledger.

It lives in the same SQLite file as the master-data ledger (WAL, so the receiver process
and the scheduler process write side by side), in tables of its own.

An order's life: `spooled` (on disk, waiting for the export job) or `held` (DoHold, or a
check failed: waits for an operator), then exported once per order-file layout. An export
is two-phase: `begin_export` records the file name and its orders *before* the upload, so
an export cut off by a crash is known on the next run and looked up on the ERP's server
instead of being uploaded again under a new name. `resend` bumps the order's generation:
the order is due again for every layout, on purpose.

Every body received under a reference is kept (`order_variants` beside the first one);
the first is the order's body. A resend may choose another one: the choice is recorded
for that generation only (`order_resend_bodies`), so the export of that generation, and a
re-render of it after a crash, read the chosen body, and the next resend goes back to the
order's own body unless it chooses again. Every hold and its release is kept
(`order_holds`) so an operator can tell the whole story of an order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from etl.state.group_commit import GroupCommit
from etl.state.ledger.connection import LedgerAt
from etl.state.ledger.exported_files import ExportedFiles, ExportRow
from etl.to_erp.orders import due

# Its tables (orders, order_variants, order_resend_bodies, order_holds, order_buyers,
# order_export_items, order_exports) are created by etl.state.ledger.migrations.

Arrival = Literal["new", "again", "conflict"]

# Names asked in one query, at most: well under SQLite's limit on bound parameters.
_NAMES_A_QUERY = 500

# An order row with the body due in its current generation: a resend's choice, else its own.
_ROWS = (
    "SELECT o.ref, COALESCE(b.sha256, o.sha256) AS sha256, "
    "COALESCE(b.spool_name, o.spool_name) AS spool_name, COALESCE(b.kind, o.kind) AS kind, "
    "o.source, o.received_at, o.state, o.reason, o.generation FROM orders o "
    "LEFT JOIN order_resend_bodies b ON b.ref=o.ref AND b.generation=o.generation"
)

# Held orders per reason: the count of each and its first refs, oldest first.
_HELD_BY_REASON = (
    "SELECT reason, ref, received_at, n FROM (SELECT COALESCE(reason, '') AS reason, ref, "
    "received_at, COUNT(*) OVER (PARTITION BY COALESCE(reason, '')) AS n, ROW_NUMBER() "
    "OVER (PARTITION BY COALESCE(reason, '') ORDER BY received_at, ref) AS k "
    "FROM orders WHERE state='held') WHERE k<=? ORDER BY reason, k"
)


@dataclass(frozen=True)
class OrderRow:
    """One order as the book knows it."""

    ref: str
    sha256: str
    spool_name: str
    kind: str
    source: str
    received_at: str
    state: str
    reason: str | None
    generation: int


@dataclass(frozen=True)
class HeldReason:
    """The orders held for one reason: how many, the oldest's time, the first refs."""

    reason: str
    count: int
    oldest: str
    refs: tuple[str, ...]  # oldest first, at most the `refs_each` asked for


@dataclass(frozen=True)
class Body:
    """One body received under a reference; `number` 1 is the order's own (the first)."""

    number: int
    sha256: str
    spool_name: str
    kind: str
    received_at: str


@dataclass(frozen=True)
class _Received:
    """One spooled body to record (the arguments of `OrderBook.receive`)."""

    ref: str
    sha256: str
    spool_name: str
    kind: str
    source: str
    at: str
    hold_reason: str | None


class OrderBook(ExportedFiles):
    """Orders and their exports; one connection per process or thread.

    `receive` may be called from many threads on one book (the receiver's workers): the calls
    are committed together (etl.state.group_commit). Its other methods are for one
    thread at a time.
    """

    files_table = "order_exports"

    def __init__(self, at: LedgerAt) -> None:
        super().__init__(at)
        self._arrivals: GroupCommit[_Received, Arrival] = GroupCommit(self._receive_all)

    def receive(
        self,
        ref: str,
        sha256: str,
        spool_name: str,
        kind: str,
        source: str,
        at: str,
        hold_reason: str | None = None,
    ) -> Arrival:
        """Record a spooled order: new, the same body again (a retry), or a different body."""
        return self._arrivals.submit(
            _Received(ref, sha256, spool_name, kind, source, at, hold_reason)
        )

    def _receive_all(self, arrivals: Sequence[_Received]) -> list[Arrival]:
        """Record spooled bodies in one transaction, in the order they came."""
        with self._tx() as db:
            return [_receive(db, a) for a in arrivals]

    def order(self, ref: str) -> OrderRow | None:
        """One order by its ClientOrderRef."""
        row = self._db.execute(f"{_ROWS} WHERE o.ref=?", (ref,)).fetchone()
        return _order(row) if row else None

    def orders(self, state: str | None = None, limit: int = 1000) -> list[OrderRow]:
        """Orders, oldest first, optionally in one state."""
        return self._listed(state, limit, "o.received_at, o.ref")

    def latest(self, state: str | None = None, limit: int = 200) -> list[OrderRow]:
        """Orders, newest first, optionally in one state: what an operator looks for."""
        return self._listed(state, limit, "o.received_at DESC, o.ref DESC")

    def count(self, state: str | None = None) -> int:
        """How many orders there are (in one state)."""
        where, params = ("", ()) if state is None else (" WHERE state=?", (state,))
        row = self._db.execute(f"SELECT COUNT(*) FROM orders{where}", params).fetchone()  # noqa: S608
        return int(row[0])

    def _listed(self, state: str | None, limit: int, order_by: str) -> list[OrderRow]:
        # `order_by` is one of this module's constants, never input.
        where, params = ("", ()) if state is None else (" WHERE o.state=?", (state,))
        rows = self._db.execute(
            f"{_ROWS}{where} ORDER BY {order_by} LIMIT ?",
            (*params, limit),
        )
        return [_order(r) for r in rows]

    def bodies(self, ref: str) -> list[Body]:
        """Every body received under `ref`: the order's own first, then the others by time."""
        first = self._db.execute(
            "SELECT sha256, spool_name, kind, received_at FROM orders WHERE ref=?", (ref,)
        ).fetchone()
        if first is None:
            return []
        others = self._db.execute(
            "SELECT sha256, spool_name, received_at FROM order_variants WHERE ref=? "
            "ORDER BY received_at, sha256",
            (ref,),
        ).fetchall()
        bodies = [
            Body(1, first["sha256"], first["spool_name"], first["kind"], first["received_at"])
        ]
        for n, row in enumerate(others, start=2):
            kind = row["spool_name"].rsplit(".", 1)[
                -1
            ]  # the spool names each body <ref>-<hash>.<kind>
            bodies.append(Body(n, row["sha256"], row["spool_name"], kind, row["received_at"]))
        return bodies

    def counts(self) -> dict[str, int]:
        """Orders per state."""
        rows = self._db.execute("SELECT state, COUNT(*) AS n FROM orders GROUP BY state")
        return {str(r["state"]): int(r["n"]) for r in rows}

    def held_by_reason(self, refs_each: int) -> list[HeldReason]:
        """Held orders grouped by their reason, in one query: no list of every held order."""
        groups: dict[str, HeldReason] = {}
        for row in self._db.execute(_HELD_BY_REASON, (refs_each,)):
            reason = str(row["reason"])
            seen = groups.get(reason)
            refs = (*seen.refs, row["ref"]) if seen else (row["ref"],)
            oldest = seen.oldest if seen else str(row["received_at"])
            groups[reason] = HeldReason(reason, int(row["n"]), oldest, refs)
        return list(groups.values())

    def due(self, layout: str, limit: int) -> list[OrderRow]:
        """Orders not yet exported in their generation to `layout`, oldest first (etl.to_erp
        .orders.due reads only those)."""
        return [_order(r) for r in due.due_rows(self._db, _ROWS, layout, limit)]

    def hold(self, ref: str, reason: str, at: str) -> None:
        """Keep an order from the ERP until an operator releases it."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE orders SET state='held', reason=?, updated_at=? WHERE ref=?",
                (reason, at, ref),
            )
            if cur.rowcount == 1:
                _record_hold(db, ref, reason, at)

    def release(self, ref: str, at: str, by: str = "") -> bool:
        """An operator (`by`) lets a held order go to the ERP; False when it was not held."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE orders SET state='spooled', reason=NULL, updated_at=? "
                "WHERE ref=? AND state='held'",
                (at, ref),
            )
            db.execute(
                "UPDATE order_holds SET released_at=?, released_by=? "
                "WHERE ref=? AND released_at IS NULL",
                (at, by or None, ref),
            )
            return cur.rowcount == 1

    def resend(self, ref: str, at: str, body: Body | None = None) -> bool:
        """Export the order again to every layout, on purpose; False for an unknown order.

        `body`: one of `bodies(ref)` to send this time instead of the order's own.
        """
        with self._tx() as db:
            cur = db.execute(
                "UPDATE orders SET generation=generation+1, state=CASE WHEN state='held' "
                "THEN 'held' ELSE 'spooled' END, updated_at=? WHERE ref=?",
                (at, ref),
            )
            if cur.rowcount == 1 and body is not None and body.number != 1:
                db.execute(
                    "INSERT INTO order_resend_bodies SELECT ref, generation, ?, ?, ?, ? "
                    "FROM orders WHERE ref=?",
                    (body.sha256, body.spool_name, body.kind, at, ref),
                )
            return cur.rowcount == 1

    def begin_export(
        self,
        export_id: str,
        layout: str,
        file_name: str,
        orders: Sequence[OrderRow],
        sha256: str,
        size: int,
        at: str,
    ) -> None:
        """Before the upload: this file, with these orders, is on its way."""
        self.begin_exports(layout, [(export_id, file_name, orders, sha256, size)], at)

    def begin_exports(
        self,
        layout: str,
        files: Sequence[tuple[str, str, Sequence[OrderRow], str, int]],
        at: str,
    ) -> None:
        """Before the uploads: each file (id, name, orders, hash, size) is on its way; one commit."""
        with self._tx() as db:
            # One statement each for the whole batch, not one set a file (the same rows).
            for export_id, file_name, _, sha256, size in files:
                self._begin_file(db, (export_id, layout, file_name), sha256, size, at)
            items = [(layout, o.ref, o.generation, f[0]) for f in files for o in f[2]]
            db.executemany("INSERT INTO order_export_items VALUES (?,?,?,?)", items)
            due.begin(db, layout, [ref for _, ref, _, _ in items])

    def finish_export(self, export_id: str, at: str) -> None:
        """After the upload and its check: the file is the ERP's now."""
        self.finish_exports([export_id], at)

    def finish_exports(self, export_ids: Sequence[str], at: str) -> None:
        """After the uploads and their checks: these files are the ERP's now; one commit."""
        with self._tx() as db:
            for export_id in export_ids:
                self._finish_file(db, export_id, at)
            # Each statement once for the batch: an export's rows are its own, so the order
            # of the statements across exports does not matter.
            due.finish(db, export_ids)
            # Only the generation the file carried: an order resent while its upload was
            # under way stays spooled, so its new generation is still due (`due`).
            db.executemany(
                # `+orders.state`: SQLite would walk every spooled order by its state
                # index for each file; the key lookup is what is wanted (etl.state.ledger
                # .dialect drops the `+` on PostgreSQL).
                "UPDATE orders SET state='exported', updated_at=? WHERE +orders.state='spooled' "
                "AND (ref, generation) IN "
                "(SELECT ref, generation FROM order_export_items WHERE export_id=?)",
                [(at, export_id) for export_id in export_ids],
            )

    def file_names_taken(self, layout: str, names: Sequence[str]) -> set[str]:
        """Those of `names` an export of `layout` already used: one query, not one a name."""
        taken: set[str] = set()
        for start in range(0, len(names), _NAMES_A_QUERY):
            chunk = list(names[start : start + _NAMES_A_QUERY])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT file_name FROM order_exports WHERE layout=? AND file_name IN ({marks})",  # noqa: S608
                (layout, *chunk),
            ).fetchall()
            taken.update(str(r["file_name"]) for r in rows)
        return taken

    def exports(self, ref: str) -> list[ExportRow]:
        """Every export that carried the order."""
        rows = self._db.execute(
            "SELECT e.* FROM order_exports e JOIN order_export_items i USING (export_id) "
            "WHERE i.ref=? ORDER BY e.created_at",
            (ref,),
        ).fetchall()
        return [self._export(r) for r in rows]

    def exported_bodies(self) -> list[tuple[str, str]]:
        """(spool name, when its order's last export finished) of every exported order's bodies.

        Only orders the ERP has (state `exported`, no file still uploading); `run.py purge`
        removes bodies whose time is past the retention.
        """
        rows = self._db.execute(
            "SELECT o.ref, MAX(e.finished_at) AS last, "
            "SUM(CASE WHEN e.state<>'done' THEN 1 ELSE 0 END) AS open "
            "FROM orders o JOIN order_export_items i USING (ref) "
            "JOIN order_exports e USING (export_id) WHERE o.state='exported' GROUP BY o.ref"
        ).fetchall()
        done = {str(r["ref"]): str(r["last"]) for r in rows if not r["open"] and r["last"]}
        names = self._db.execute(
            "SELECT ref, spool_name FROM orders UNION SELECT ref, spool_name FROM order_variants "
            "UNION SELECT ref, spool_name FROM order_resend_bodies"
        ).fetchall()
        return sorted((str(n["spool_name"]), done[n["ref"]]) for n in names if n["ref"] in done)

    def ref_of_body(self, spool_name: str) -> str | None:
        """The order a spooled body belongs to (its own, a variant or a resend's choice)."""
        row = self._db.execute(
            "SELECT ref FROM orders WHERE spool_name=? UNION SELECT ref FROM order_variants "
            "WHERE spool_name=? UNION SELECT ref FROM order_resend_bodies WHERE spool_name=?",
            (spool_name, spool_name, spool_name),
        ).fetchone()
        return None if row is None else str(row["ref"])

    def note_buyers(self, ref: str, buyers: Sequence[str]) -> None:
        """Keep who bought `ref` (keyed hashes of e-mail and customer code) past its body."""
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO order_buyers (buyer, ref) VALUES (?, ?)",
                [(b, ref) for b in buyers],
            )

    def orders_of(self, buyers: Sequence[str]) -> set[str]:
        """Refs of the orders bought by any of `buyers` (keyed hashes)."""
        marks = ", ".join("?" * len(buyers))
        rows = self._db.execute(
            f"SELECT ref FROM order_buyers WHERE buyer IN ({marks})",  # noqa: S608
            tuple(buyers),
        )
        return {str(r["ref"]) for r in rows}

    def forget_buyers(self, refs: Sequence[str]) -> None:
        """Drop who bought `refs`: after an erasure nothing links a person to them."""
        with self._tx() as db:
            db.executemany("DELETE FROM order_buyers WHERE ref=?", [(r,) for r in refs])

    def _refs_of(self, export_id: str) -> tuple[str, ...]:
        refs = self._db.execute(
            "SELECT ref FROM order_export_items WHERE export_id=? ORDER BY ref", (export_id,)
        )
        return tuple(str(r["ref"]) for r in refs)


def _receive(db: sqlite3.Connection, a: _Received) -> Arrival:
    """One arrival inside a transaction: a new order, the same body again, or another body."""
    row = db.execute("SELECT sha256 FROM orders WHERE ref=?", (a.ref,)).fetchone()
    if row is None:
        state = "held" if a.hold_reason else "spooled"
        db.execute(
            "INSERT INTO orders (ref, sha256, spool_name, kind, source, received_at, state, "
            "reason, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (a.ref, a.sha256, a.spool_name, a.kind, a.source, a.at, state, a.hold_reason, a.at),
        )
        if a.hold_reason:
            _record_hold(db, a.ref, a.hold_reason, a.at)
        return "new"
    if row["sha256"] == a.sha256:
        return "again"
    db.execute(
        "INSERT OR IGNORE INTO order_variants VALUES (?,?,?,?)",
        (a.ref, a.sha256, a.spool_name, a.at),
    )
    return "conflict"


def _record_hold(db: sqlite3.Connection, ref: str, reason: str, at: str) -> None:
    db.execute("INSERT INTO order_holds (ref, reason, held_at) VALUES (?,?,?)", (ref, reason, at))


def _order(row: sqlite3.Row) -> OrderRow:
    return OrderRow(
        ref=row["ref"],
        sha256=row["sha256"],
        spool_name=row["spool_name"],
        kind=row["kind"],
        source=row["source"],
        received_at=row["received_at"],
        state=row["state"],
        reason=row["reason"],
        generation=row["generation"],
    )
