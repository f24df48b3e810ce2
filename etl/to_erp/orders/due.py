"""Which orders a layout still owes, read from what can be due rather than from every order.

An order is due to a layout when it is spooled or exported and the layout has not exported it
in its current generation. Walking every exported order to find the few that are due grew with
the book (45 ms a call at 10,000 orders). Two places hold everything that can be due:

- `spooled` orders, exported nowhere in their generation yet (new, resent, released): read from
  the index on state in arrival order, so a call stops at its limit;
- `order_owed`: an order another layout exported that this layout has not. A layout is known
  (`order_layouts`) from its first export on: from then on each finished export records what
  it leaves owed to every other known layout, and a layout's first export records what it owes
  for orders the others exported before it was known.

A layout not known yet (no export so far) is asked the long way, once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

# Not exported to the layout (?) in the order's current generation.
_NOT_TO = (
    "NOT EXISTS (SELECT 1 FROM order_export_items i WHERE i.layout=? AND i.ref=o.ref "
    "AND i.generation=o.generation)"
)


def due_rows(db: sqlite3.Connection, rows: str, layout: str, limit: int) -> list[sqlite3.Row]:
    """Rows of `rows` (a SELECT over orders `o`) due to `layout`, oldest first, at most `limit`."""
    if not known(db, layout):
        where = f"o.state IN ('spooled', 'exported') AND {_NOT_TO}"
        return _ordered(db, rows, where, (layout,), limit)
    spooled = _ordered(db, rows, f"o.state='spooled' AND {_NOT_TO}", (layout,), limit)
    owed = _ordered(
        db,
        rows,
        # Driven by the owed refs (`+`: not by the index on state, which holds every export).
        "o.ref IN (SELECT ref FROM order_owed WHERE layout=?) AND +o.state='exported' "  # noqa: S608
        "AND EXISTS (SELECT 1 FROM order_owed w WHERE w.layout=? AND w.ref=o.ref "
        f"AND w.generation=o.generation) AND {_NOT_TO}",
        (layout, layout, layout),
        limit,
    )
    both = sorted(spooled + owed, key=lambda r: (r["received_at"], r["ref"]))
    return both[:limit]


def known(db: sqlite3.Connection, layout: str) -> bool:
    """Whether the layout has begun an export (its owed orders are recorded)."""
    found = db.execute("SELECT 1 FROM order_layouts WHERE layout=?", (layout,)).fetchone()
    return found is not None


def begin(db: sqlite3.Connection, layout: str, refs: Sequence[str]) -> None:
    """In the transaction that begins exports of `refs` to `layout`: know it, owe nothing more."""
    if not known(db, layout):
        db.execute("INSERT INTO order_layouts VALUES (?)", (layout,))
        db.execute(
            "INSERT OR IGNORE INTO order_owed SELECT ?, o.ref, o.generation FROM orders o "  # noqa: S608
            f"WHERE o.state='exported' AND {_NOT_TO}",
            (layout, layout),
        )
    db.executemany(
        "DELETE FROM order_owed WHERE layout=? AND ref=?", [(layout, ref) for ref in refs]
    )


def finish(db: sqlite3.Connection, export_ids: Sequence[str]) -> None:
    """In the transaction that finishes exports: their orders are owed to every other layout."""
    db.executemany(
        "INSERT OR IGNORE INTO order_owed SELECT l.layout, o.ref, o.generation "
        "FROM order_export_items e JOIN orders o ON o.ref=e.ref AND o.generation=e.generation "
        "JOIN order_layouts l ON l.layout<>e.layout WHERE e.export_id=? AND NOT EXISTS ("
        "SELECT 1 FROM order_export_items i WHERE i.layout=l.layout AND i.ref=o.ref "
        "AND i.generation=o.generation)",
        [(export_id,) for export_id in export_ids],
    )


def _ordered(
    db: sqlite3.Connection, rows: str, where: str, params: tuple[str, ...], limit: int
) -> list[sqlite3.Row]:
    # `rows` and `where` are this module's and the book's constants, never input.
    sql = f"{rows} WHERE {where} ORDER BY o.received_at, o.ref LIMIT ?"
    return db.execute(sql, (*params, limit)).fetchall()
