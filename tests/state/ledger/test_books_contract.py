"""The books that keep their tables in the ledger behave the same on SQLite and PostgreSQL.

Not each book's whole suite (that lives beside the book): what moves between processes, the
statements that are SQLite idioms in disguise (a numbered key, an upsert that adds, `INSERT
OR IGNORE`, a planner hint), and the races the transactions settle. Every test runs on both
backends (`ledger_at`), with a connection per process where processes share rows.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from etl.alerts.book import AlertBook
from etl.alerts.sends import AlertSends
from etl.entities.document import Document
from etl.state.ledger.connection import LedgerAt
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.parties.book import PartyBook
from etl.to_norce.documents.book import DocumentBook

AT = "2026-11-22T03:00:00+00:00"
NOW = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)


def _at_once(jobs: list[Callable[[], None]]) -> None:
    """Run the jobs in threads released together, as processes racing would."""
    ready = threading.Barrier(len(jobs))

    def run(job: Callable[[], None]) -> None:
        ready.wait()
        job()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_orders_are_due_exported_once_and_owed_to_a_later_layout(ledger_at: LedgerAt) -> None:
    book = OrderBook(ledger_at)
    try:
        for ref in ("A1", "A2", "A3"):
            assert book.receive(ref, f"sha-{ref}", f"{ref}.json", "json", "push", AT) == "new"
        due = book.due("csv", 10)
        book.begin_export("e1", "csv", "ORD_1.csv", due[:2], "sha", 10, AT)
        assert [o.ref for o in book.due("csv", 10)] == ["A3"]
        book.finish_export("e1", AT)
        book.begin_export("e2", "ubl", "ORD_1.xml", book.due("ubl", 1), "sha", 10, AT)
        book.finish_export("e2", AT)
        # The owed orders of a layout that has exported (the `+o.state` planner hint).
        assert [o.ref for o in book.due("ubl", 10)] == ["A2", "A3"]
        assert book.resend("A2", AT)
        assert [(o.ref, o.generation) for o in book.due("csv", 10)] == [("A2", 2), ("A3", 1)]
    finally:
        book.close()


def test_one_order_pushed_to_two_receivers_at_once_is_booked_once(ledger_at: LedgerAt) -> None:
    books = [OrderBook(ledger_at) for _ in range(4)]
    said: list[str] = []
    try:

        def push(book: OrderBook) -> None:
            said.append(book.receive("R1", "sha", "R1.json", "json", "push", AT))

        _at_once([partial(push, book) for book in books])
        assert sorted(said) == ["again", "again", "again", "new"]
        assert books[0].count() == 1
    finally:
        for book in books:
            book.close()


def test_party_events_are_numbered_in_order_and_a_repeat_is_known(ledger_at: LedgerAt) -> None:
    book = PartyBook(ledger_at)
    try:
        first = book.receive("customer", 7, "created", "s1", "p1.json", "push", AT)
        second = book.receive("customer", 7, "changed", "s2", "p2.json", "push", AT)
        again = book.receive("customer", 7, "created", "s1", "p1b.json", "push", AT)
        assert first[0] == second[0] == "new" and 0 < first[1] < second[1]
        assert again == ("again", first[1])
        assert book.spool_names() == {"p1.json", "p2.json"}
    finally:
        book.close()


def test_a_document_sent_again_counts_its_attempts(ledger_at: LedgerAt) -> None:
    book = DocumentBook(ledger_at)
    invoice = Document("invoice", "INV-1", {"client_order_ref": 1001, "erp_order_no": "E1"})
    try:
        book.begin("invoices", invoice, ["FREIGHT"], "r1", AT)
        book.finish("invoice", "INV-1", "waiting", "order unknown", AT)
        book.begin("invoices", invoice, ["FREIGHT"], "r2", AT)  # the upsert that adds
        book.finish("invoice", "INV-1", "sent", None, AT)
        book.conflict("invoices", invoice, "r2", AT)
        book.conflict("invoices", invoice, "r3", AT)  # INSERT OR IGNORE: one conflict
        row = book.find("invoice", "INV-1")
        assert row is not None and (row.state, row.attempts, row.run_id) == ("sent", 2, "r2")
        assert book.fees_captured(1001, None, besides="INV-2") == {"FREIGHT"}
        assert len(book.conflicts()) == 1
    finally:
        book.close()


@dataclass(frozen=True)
class _Problem:
    key: str
    kind: str = "feed_failed"
    subject: str = "prices"
    what: str = "the last run failed"
    did: str = "nothing sent"
    command: str | None = None
    since: str = AT


def test_two_processes_open_one_alert_and_each_message_is_claimed_once(
    ledger_at: LedgerAt,
) -> None:
    books = [AlertBook(ledger_at) for _ in range(2)]
    senders = [AlertSends(ledger_at) for _ in range(2)]
    claimed: list[str] = []
    try:

        def reconcile(book: AlertBook) -> None:
            book.reconcile([_Problem("k1")], ["ops"], NOW)

        def claim(sends: AlertSends) -> None:
            claimed.extend(c.message for c in sends.claim("ops", NOW))

        _at_once([partial(reconcile, book) for book in books])
        [alert] = books[0].recent_alerts(10)
        assert alert.resolved_at is None
        _at_once([partial(claim, sends) for sends in senders])
        assert claimed == ["opened"]
    finally:
        for part in [*books, *senders]:
            part.close()


def test_exported_bodies_are_those_of_orders_whose_exports_all_finished(
    ledger_at: LedgerAt,
) -> None:
    book = OrderBook(ledger_at)
    try:
        for ref in ("B1", "B2"):
            book.receive(ref, f"sha-{ref}", f"{ref}.json", "json", "push", AT)
        book.begin_export("e1", "csv", "ORD_1.csv", book.due("csv", 10), "sha", 10, AT)
        book.finish_export("e1", "2026-11-22T04:00:00+00:00")
        assert book.exported_bodies() == [
            ("B1.json", "2026-11-22T04:00:00+00:00"),
            ("B2.json", "2026-11-22T04:00:00+00:00"),
        ]
    finally:
        book.close()
