"""Finishing an exported file costs the same however many orders wait in the book.

The export of 10,000 orders finished each file with an UPDATE that SQLite answered by walking
every spooled order (its state index) and a lookup of the file's items without an index, so the
export's commit grew with the square of the orders. Counted in SQLite's own VM steps, not time.
"""

from __future__ import annotations

from pathlib import Path

from etl.to_erp.orders.book import OrderBook


def _steps_to_finish_one_file(home: Path, waiting: int) -> int:
    book = OrderBook(home / "ledger.sqlite")
    at = "2026-12-07T06:00:00+00:00"
    for n in range(waiting):
        book.receive(f"W{n:06d}", f"h{n}", f"W{n}.json", "json", "push", at)
    book.receive("ONE", "hone", "ONE.json", "json", "push", at)
    rows = {row.ref: row for row in book.due("erp_csv", waiting + 1)}
    # earlier files still uploading: their orders wait, spooled, their items in the table
    files = [(f"erp_csv/{n}", f"{n}.csv", [rows[f"W{n:06d}"]], "sha", 1) for n in range(waiting)]
    book.begin_exports("erp_csv", [*files, ("erp_csv/one", "one.csv", [rows["ONE"]], "sha", 1)], at)
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    book._db.set_progress_handler(count, 1)
    book.finish_exports(["erp_csv/one"], at)
    book._db.set_progress_handler(None, 1)
    state = book._db.execute("SELECT state FROM orders WHERE ref='ONE'").fetchone()[0]
    book.close()
    assert state == "exported"
    return steps[0]


def test_finishing_a_file_does_not_walk_the_waiting_orders(tmp_path: Path) -> None:
    few = _steps_to_finish_one_file(tmp_path / "few", 50)
    many = _steps_to_finish_one_file(tmp_path / "many", 2000)
    # 40 times the orders: a walk of them shows as ~40x the steps; a keyed lookup barely moves
    assert many < 2 * few, (few, many)
