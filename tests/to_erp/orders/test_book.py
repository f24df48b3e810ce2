"""The order book: each order due once per layout and generation; exports are two-phase."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.history import order_story

AT = "2026-11-22T03:00:00+00:00"


@pytest.fixture
def book(tmp_path: Path) -> OrderBook:
    book = OrderBook(tmp_path / "ledger.sqlite")
    for ref in ("A1", "A2", "A3"):
        assert book.receive(ref, f"sha-{ref}", f"{ref}.json", "json", "push", AT) == "new"
    return book


def test_orders_are_due_per_layout_until_exported(book: OrderBook) -> None:
    due = book.due("csv", 10)
    assert [o.ref for o in due] == ["A1", "A2", "A3"]
    book.begin_export("e1", "csv", "ORD_1.csv", due[:2], "sha", 10, AT)
    # Begun but not finished: not due again (the next run looks the file up instead).
    assert [o.ref for o in book.due("csv", 10)] == ["A3"]
    assert [e.file_name for e in book.unfinished_exports("csv")] == ["ORD_1.csv"]
    book.finish_export("e1", AT)
    assert book.unfinished_exports("csv") == []
    assert [o.state for o in book.orders()] == ["exported", "exported", "spooled"]
    # Another layout still gets every order.
    assert [o.ref for o in book.due("ubl", 10)] == ["A1", "A2", "A3"]


def test_an_order_cannot_be_booked_into_two_exports_of_one_layout(book: OrderBook) -> None:
    (first, *_) = book.due("csv", 1)
    book.begin_export("e1", "csv", "F1", [first], "sha", 1, AT)
    with pytest.raises(Exception, match="UNIQUE"):
        book.begin_export("e2", "csv", "F2", [first], "sha", 1, AT)
    assert [e.export_id for e in book.exports("A1")] == ["e1"]


def test_resend_makes_an_order_due_again_under_a_new_generation(book: OrderBook) -> None:
    due = book.due("csv", 10)
    book.begin_export("e1", "csv", "F1", due, "sha", 1, AT)
    book.finish_export("e1", AT)
    assert book.resend("A2", AT)
    again = book.due("csv", 10)
    assert [(o.ref, o.generation) for o in again] == [("A2", 2)]
    assert not book.resend("nope", AT)


def test_held_orders_wait_until_released(book: OrderBook) -> None:
    book.hold("A1", "DoHold", AT)
    assert [o.ref for o in book.due("csv", 10)] == ["A2", "A3"]
    assert book.counts() == {"held": 1, "spooled": 2}
    assert book.release("A1", AT)
    assert not book.release("A1", AT)
    assert [o.ref for o in book.due("csv", 10)] == ["A1", "A2", "A3"]


def test_a_second_body_for_a_ref_is_a_conflict_and_keeps_the_first(book: OrderBook) -> None:
    assert book.receive("A1", "sha-A1", "A1.json", "json", "push", AT) == "again"
    assert book.receive("A1", "other", "A1-b.json", "json", "push", AT) == "conflict"
    row = book.order("A1")
    assert row is not None and row.sha256 == "sha-A1"


def test_latest_lists_newest_first_and_count_counts(tmp_path: Path) -> None:
    book = OrderBook(tmp_path / "ledger.sqlite")
    for minute, ref in enumerate(("B1", "B2", "B3")):
        book.receive(ref, f"sha-{ref}", f"{ref}.json", "json", "push", f"{AT[:14]}0{minute}:00Z")
    book.hold("B2", "DoHold", AT)
    assert [o.ref for o in book.latest(limit=2)] == ["B3", "B2"]
    assert [o.ref for o in book.latest("held")] == ["B2"]
    assert (book.count(), book.count("held"), book.count("exported")) == (3, 1, 0)


def test_a_resend_may_send_another_body_for_that_generation_only(book: OrderBook) -> None:
    book.receive("A1", "other", "A1-other.xml", "json", "push", "2026-11-22T03:05:00+00:00")
    own, other = book.bodies("A1")
    assert (own.number, own.spool_name, other.number, other.kind) == (1, "A1.json", 2, "xml")
    assert book.resend("A1", AT, other)
    (due,) = [o for o in book.due("csv", 10) if o.ref == "A1"]
    assert (due.generation, due.spool_name, due.kind, due.sha256) == (
        2,
        "A1-other.xml",
        "xml",
        "other",
    )
    assert book.order("A1") == due  # a re-render after a crash reads the same body
    assert book.resend("A1", AT)
    (due,) = [o for o in book.due("csv", 10) if o.ref == "A1"]
    assert (due.generation, due.spool_name) == (3, "A1.json")
    assert book.bodies("nope") == []


def test_holds_and_releases_are_kept(book: OrderBook) -> None:
    book.hold("A1", "DoHold", AT)
    assert book.release("A1", "2026-11-22T04:00:00+00:00", "anna")
    book.hold("A1", "layout erp_csv: a control character", "2026-11-22T05:00:00+00:00")
    story = order_story(book, "A1")
    assert story is not None
    assert [(h.reason, h.released_at, h.released_by) for h in story.holds] == [
        ("DoHold", "2026-11-22T04:00:00+00:00", "anna"),
        ("layout erp_csv: a control character", None, None),
    ]
