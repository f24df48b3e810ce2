"""What a killed run left in the outbox is never sent, and a name the ledger used is not chosen again.

A file a run killed while writing left in the outbox, whole or cut off, has no export begun:
the next run removes it and sends the same orders rendered whole. The batch's first-choice
names are looked up in the ledger in one query; a name an earlier export used stays taken.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config.settings import OrderSettings, Settings
from etl.state.spool import Spool
from etl.to_erp.files.export import export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.files.render import render_orders
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import OrderInbound
from etl.transport import SftpStore
from tests.fixtures.orders import SHIPPED, sample, sample_body
from tests.support.clock import NOW
from tests.support.sftp_server import SftpServerInfo


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Settings, OrderBook, Spool]]:
    """A home with the shipped layouts and order 1001 spooled (the SFTP store added per test)."""
    home = tmp_path / "home"
    (home / "schemas" / "orders").mkdir(parents=True)
    for layout in SHIPPED.glob("*.toml"):
        (home / "schemas" / "orders" / layout.name).write_bytes(layout.read_bytes())
    book = OrderBook(home / "state" / "ledger.sqlite")
    spool = Spool(home / "state" / "spool" / "orders")
    settings = Settings(home=home, schemas_dir=home / "schemas")
    inbound = OrderInbound(book, spool, home / "rejected", OrderSettings(), lambda: NOW)
    assert inbound.accept(sample_body("order_1001"), "application/json", "push").status == 200
    yield settings, book, spool
    book.close()


def test_a_file_cut_off_in_the_outbox_is_removed_and_the_order_goes_whole(
    home: tuple[Settings, OrderBook, Spool], sftp: SftpServerInfo
) -> None:
    settings, book, spool = home
    settings = Settings(
        home=settings.home, schemas_dir=settings.schemas_dir, stores={"erp": sftp.settings()}
    )
    layout = load_layouts(settings)["peppol_order"]
    whole = render_orders(layout, [sample("order_1001")])
    outbox = settings.home / "outbox" / "erp" / "peppol_order"
    outbox.mkdir(parents=True)
    (outbox / "ORDER_1001.xml").write_bytes(whole[: len(whole) // 2])  # a killed write
    store = SftpStore("erp", sftp.settings())
    try:
        summary = export_orders(settings, book, spool, store, layout, lambda: NOW)
    finally:
        store.close()
    assert summary.files == ["ORDER_1001.xml"]
    assert (sftp.root / "orders" / "ubl" / "ORDER_1001.xml").read_bytes() == whole
    assert [p.name for p in outbox.iterdir() if p.is_file()] == []


def test_a_name_the_ledger_has_is_not_chosen_again_once_the_erp_took_the_file(
    home: tuple[Settings, OrderBook, Spool], sftp: SftpServerInfo
) -> None:
    """The batch's names are looked up in the ledger at once: the server no longer has the
    first file, so only the ledger says ORDER_1001.xml is used."""
    settings, book, spool = home
    settings = Settings(
        home=settings.home, schemas_dir=settings.schemas_dir, stores={"erp": sftp.settings()}
    )
    layout = load_layouts(settings)["peppol_order"]
    store = SftpStore("erp", sftp.settings())
    try:
        assert export_orders(settings, book, spool, store, layout, lambda: NOW).files == [
            "ORDER_1001.xml"
        ]
        (sftp.root / "orders" / "ubl" / "ORDER_1001.xml").unlink()  # the ERP took it
        assert book.resend("1001", "later")
        again = export_orders(settings, book, spool, store, layout, lambda: NOW)
    finally:
        store.close()
    assert again.files == ["ORDER_1001_2.xml"]
