"""`OrderBook.due` reads only what is due, and finds exactly what walking every order finds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.state.ledger.connection import connect
from etl.state.ledger.migrations import MIGRATIONS
from etl.to_erp.orders.book import OrderBook

LAYOUTS = ("erp_csv", "peppol_order", "late_layout")

# What due() was before it read only what is due: every spooled or exported order, each
# looked up among the layout's exports. The reference the book must agree with.
WALK_ALL = (
    "SELECT o.ref FROM orders o WHERE o.state IN ('spooled', 'exported') AND NOT EXISTS ("
    "SELECT 1 FROM order_export_items i WHERE i.layout=? AND i.ref=o.ref "
    "AND i.generation=o.generation) ORDER BY o.received_at, o.ref"
)

step = st.one_of(
    st.tuples(st.just("receive"), st.integers(0, 30)),
    st.tuples(st.just("export"), st.sampled_from(LAYOUTS), st.integers(1, 4), st.booleans()),
    st.tuples(st.just("resend"), st.integers(0, 30)),
    st.tuples(st.just("hold"), st.integers(0, 30)),
    st.tuples(st.just("release"), st.integers(0, 30)),
    st.tuples(st.just("finish"), st.integers(0, 30)),  # an unfinished export settles later
)


def _apply(book: OrderBook, move: tuple[object, ...], clock: list[int]) -> None:
    clock[0] += 1
    at = f"2026-11-20T00:00:{clock[0]:06d}"
    kind = move[0]
    if kind == "receive":
        ref = str(move[1])
        book.receive(ref, f"h{ref}", f"{ref}.json", "json", "push", at)
    elif kind == "export":
        layout, count, finished = str(move[1]), int(move[2]), bool(move[3])  # type: ignore[call-overload]
        orders = book.due(layout, count)
        if orders:
            export_id = f"{layout}/{at}"
            book.begin_export(export_id, layout, f"{at}.x", orders, "sha", 1, at)
            if finished:  # else the process "died" before the commit: still uploading
                book.finish_export(export_id, at)
    elif kind == "finish":
        pending = [
            r[0]
            for r in book._db.execute(
                "SELECT export_id FROM order_exports WHERE state!='done' ORDER BY export_id"
            )
        ]
        if pending:
            book.finish_export(pending[int(move[1]) % len(pending)], at)  # type: ignore[call-overload]
    elif kind == "resend":
        book.resend(str(move[1]), at)
    elif kind == "hold":
        book.hold(str(move[1]), "checked by a person", at)
    else:
        book.release(str(move[1]), at)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(step, max_size=40))
def test_due_is_what_walking_every_order_finds(
    tmp_path: Path, moves: list[tuple[object, ...]]
) -> None:
    path = tmp_path / f"ledger-{abs(hash(tuple(moves)))}.sqlite"
    path.unlink(missing_ok=True)
    book = OrderBook(path)
    book._db.execute("PRAGMA synchronous=OFF")  # durability is not what this test is about
    clock = [0]
    try:
        for move in moves:
            _apply(book, move, clock)
            for layout in LAYOUTS:
                walked = [r[0] for r in book._db.execute(WALK_ALL, (layout,))]
                assert [o.ref for o in book.due(layout, 1000)] == walked, (layout, move)
                assert [o.ref for o in book.due(layout, 2)] == walked[:2]
    finally:
        book.close()


# The migration that made order_owed: a ledger from before it has had the ones ahead of it.
_OWED_MIGRATION = next(
    n for n, m in enumerate(MIGRATIONS) if any("TABLE IF NOT EXISTS order_owed" in s for s in m)
)


def test_a_ledger_from_before_owes_what_its_layouts_have_not_exported(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    book = OrderBook(path)
    for ref in ("1", "2"):
        book.receive(ref, "h", f"{ref}.json", "json", "push", f"2026-11-20T00:00:0{ref}")
    book.begin_export("erp_csv/a", "erp_csv", "a", book.due("erp_csv", 5), "s", 1, "t")
    book.finish_export("erp_csv/a", "t")
    book.begin_export(
        "peppol_order/b", "peppol_order", "b", book.due("peppol_order", 1), "s", 1, "t"
    )
    book.finish_export("peppol_order/b", "t")
    book.close()
    # As a ledger written before the owed orders were recorded: the migration must find them.
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE order_owed")
        db.execute("DROP TABLE order_layouts")
        db.execute("ALTER TABLE heartbeats DROP COLUMN writer")  # a later migration's too
        db.execute(f"PRAGMA user_version={_OWED_MIGRATION}")
    connect(path).close()
    book = OrderBook(path)
    try:
        assert [o.ref for o in book.due("peppol_order", 5)] == ["2"]
        assert book.due("erp_csv", 5) == []
    finally:
        book.close()


def _steps_to_find_the_due(tmp_path: Path, exported: int) -> int:
    """SQLite VM steps (in hundreds) one due() takes with `exported` orders done, one due."""
    book = OrderBook(tmp_path / f"ledger-{exported}.sqlite")
    book._db.execute("PRAGMA synchronous=OFF")
    for n in range(exported + 1):
        book.receive(str(n), "h", f"{n}.json", "json", "push", f"2026-11-20T{n:09d}")
    done = book.due("peppol_order", exported)
    for order in done:
        book.begin_export(
            f"peppol_order/{order.ref}", "peppol_order", order.ref, [order], "s", 1, "t"
        )
        book.finish_export(f"peppol_order/{order.ref}", "t")
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    book._db.set_progress_handler(count, 100)
    assert [o.ref for o in book.due("peppol_order", 50)] == [str(exported)]
    book._db.set_progress_handler(None, 100)
    book.close()
    return steps[0]


def test_due_does_not_walk_the_exported_orders(tmp_path: Path) -> None:
    small, large = _steps_to_find_the_due(tmp_path, 100), _steps_to_find_the_due(tmp_path, 1000)
    assert large <= small + 5, (small, large)  # not 10 times the work for 10 times the orders


def test_an_order_resent_while_its_export_is_unfinished_is_due_again_after_it_finishes(
    tmp_path: Path,
) -> None:
    # Found by review: finishing the export of generation 1 marked generation 2 exported too,
    # and the order was never exported again (`orders` said "exported (resend 1)").
    book = OrderBook(tmp_path / "ledger.sqlite")
    try:
        book.receive("R1", "h", "R1.json", "json", "push", "2026-11-20T00:00:01")
        book.begin_export("erp_csv/f1", "erp_csv", "f1", book.due("erp_csv", 10), "s", 1, "t1")
        book.resend("R1", "t2")  # the operator, while the upload is under way (or was killed)
        book.finish_export("erp_csv/f1", "t3")  # settled: generation 1 reached the ERP

        assert [(o.ref, o.generation) for o in book.due("erp_csv", 10)] == [("R1", 2)]
        walked = [r[0] for r in book._db.execute(WALK_ALL, ("erp_csv",))]
        assert walked == ["R1"]
    finally:
        book.close()
