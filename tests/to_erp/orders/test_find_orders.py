"""An operator can find any order: `orders` newest first, `orders show`, `release`, `resend`.

Every test drives `etl.cli.main` over a real home (settings file, SQLite ledger, spool) and
reads what the operator would read on the terminal.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from etl.config.settings import LocalStoreSettings
from etl.entities.document import Document
from etl.state.spool import Spool
from etl.to_erp.files.export import export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.bodies import parse_order
from etl.to_norce.documents.book import DocumentBook
from etl.transport.local import LocalStore
from tests.fixtures.orders import settings_at
from tests.support.desk import T0, Desk
from tests.support.orders import minimal_order


@pytest.fixture
def desk(home: Path) -> Desk:
    return Desk(home)


def test_orders_are_listed_newest_first_and_a_cut_list_says_so(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    desk.take(minimal_order("1001"), minimal_order("1002"), minimal_order("1003"))
    code, out = desk.run(capsys, "orders", "--limit", "2")
    assert code == 0
    lines = out.splitlines()
    assert "1003" in lines[1] and "1002" in lines[2]
    assert "1001" not in out
    assert "showing 2 of 3" in out and "--limit" in out
    _, whole = desk.run(capsys, "orders")
    assert "showing" not in whole


def test_a_state_with_no_orders_says_so(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    desk.take(minimal_order("1001", DoHold=True))
    code, out = desk.run(capsys, "orders", "--state", "spooled")
    assert code == 0
    assert "no spooled orders" in out and "1 order in all" in out


def test_release_of_an_unknown_order_says_it_is_unknown(
    desk: Desk, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    desk.take(minimal_order("1001"))
    with caplog.at_level(logging.ERROR):
        assert desk.run(capsys, "release", "nope")[0] == 1
        assert desk.run(capsys, "release", "1001")[0] == 1
    unknown, not_held = (r.getMessage() for r in caplog.records)
    assert "no order 'nope'" in unknown
    assert "'1001' is not held" in not_held and "spooled" in not_held


def _document(kind: str, number: str, ref: int | None, erp_no: str | None) -> Document:
    return Document(kind, number, {"client_order_ref": ref, "erp_order_no": erp_no})


def test_orders_show_tells_the_whole_story_of_one_order(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    desk.take(minimal_order("1001", DoHold=True), minimal_order("1001", CustomerOrderRef="PO-2"))
    assert desk.run(capsys, "release", "1001")[0] == 0
    book = desk.book()
    try:
        (row,) = book.orders()
        book.begin_export("x1", "erp_csv", "ORD_1001.csv", [row], "sha", 10, "2026-11-22T04:00Z")
        book.finish_export("x1", "2026-11-22T04:00:05Z")
    finally:
        book.close()
    documents = DocumentBook(desk.settings.folder("state") / "ledger.sqlite")
    try:
        at = "2026-11-23T08:00:00Z"
        for doc, state in [
            (_document("order_status", "ACK-1", 1001, "E-77"), "sent"),
            (_document("invoice", "F-1", None, "E-77"), "waiting"),  # only the ERP number
            (_document("invoice", "F-9", 9999, "E-99"), "sent"),  # another order's
        ]:
            documents.begin("docs", doc, (), "run-1", at)
            documents.finish(doc.kind, doc.number, state, None, at)
    finally:
        documents.close()

    code, out = desk.run(capsys, "orders", "show", "1001")
    assert code == 0
    assert "push" in out and "2026-11-22T03:01:00" in out  # how and when it came
    assert "1 " in out and "2 " in out  # both bodies, numbered for `resend --variant`
    assert "2026-11-22T03:02:00" in out  # the second body's time
    (hold,) = [line for line in out.splitlines() if "DoHold" in line]
    assert "2026-11-22T03:01:00" in hold and "still held" not in hold  # held, then released
    assert "erp_csv" in out and "ORD_1001.csv" in out and "2026-11-22T04:00" in out
    assert "ACK-1" in out and "F-1" in out and "waiting" in out
    assert "F-9" not in out


def test_orders_show_of_an_unknown_order_says_so(
    desk: Desk, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        assert desk.run(capsys, "orders", "show", "nope")[0] == 1
    assert "no order 'nope'" in caplog.text


def _due_body(desk: Desk) -> dict[str, Any]:
    book = desk.book()
    try:
        (row,) = book.due("erp_csv", 10)
        data = Spool(desk.settings.folder("state") / "spool" / "orders").read(row.spool_name)
        parse_order(data, row.kind)  # the export reads it the same way
        return dict(json.loads(data))
    finally:
        book.close()


def test_resend_can_choose_a_variant_for_that_resend_only(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    desk.take(minimal_order("1001"), minimal_order("1001", CustomerOrderRef="PO-2"))
    _, shown = desk.run(capsys, "orders", "show", "1001")
    second = next(line for line in shown.splitlines() if "03:02:00" in line)
    prefix = second.split()[2][:8]  # "2  <received>  <sha256 prefix> ..."
    assert desk.run(capsys, "resend", "1001", "--variant", "2")[0] == 0
    assert _due_body(desk).get("CustomerOrderRef") == "PO-2"
    assert desk.run(capsys, "resend", "1001")[0] == 0
    assert _due_body(desk).get("CustomerOrderRef") is None  # the default body again
    assert desk.run(capsys, "resend", "1001", "--variant", prefix)[0] == 0
    assert _due_body(desk).get("CustomerOrderRef") == "PO-2"
    assert desk.run(capsys, "resend", "1001", "--variant", "7")[0] == 1


def test_the_chosen_variant_is_what_the_erp_gets(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    desk.take(minimal_order("1001"), minimal_order("1001", CustomerOrderRef="PO-2"))
    settings = settings_at(desk.settings.home)  # the shipped layouts, a writable local ERP
    layout = load_layouts(settings)["erp_csv"]

    def export() -> str:
        book = desk.book()
        try:
            store = LocalStore("erp", LocalStoreSettings(root=settings.home / "erp"))
            spool = Spool(settings.folder("state") / "spool" / "orders")
            summary = export_orders(settings, book, spool, store, layout, lambda: T0)
        finally:
            book.close()
        (name,) = summary.files
        return (settings.home / "erp" / layout.target.folder / name).read_text("cp1252")

    assert "PO-2" not in export()  # the order's own body first
    assert desk.run(capsys, "resend", "1001", "--variant", "2")[0] == 0
    assert "PO-2" in export()
    assert desk.run(capsys, "resend", "1001")[0] == 0
    assert "PO-2" not in export()
