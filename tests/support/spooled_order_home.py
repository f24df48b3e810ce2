"""A home with the shipped order layouts, a local ERP store and one spooled order to export."""

from __future__ import annotations

from pathlib import Path

from etl.config.settings import OrderSettings
from etl.state.spool import Spool
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import OrderInbound
from tests.fixtures.orders import SHIPPED, sample_body
from tests.support.clock import NOW


def home_with_an_order(root: Path, extra_toml: str = "") -> tuple[Path, Path]:
    """The home's etl.toml (`extra_toml` appended) and the ERP store's folder, still empty."""
    home, erp_root = root / "home", root / "erp"
    erp_root.mkdir()
    (home / "schemas" / "orders").mkdir(parents=True)
    for layout in SHIPPED.glob("*.toml"):
        (home / "schemas" / "orders" / layout.name).write_bytes(layout.read_bytes())
    config = home / "etl.toml"
    stores = f'[stores.erp]\nkind = "local"\nroot = "{erp_root}"\n'
    config.write_text(stores + extra_toml, encoding="utf-8")
    book = OrderBook(home / "state" / "ledger.sqlite")
    spool = Spool(home / "state" / "spool" / "orders")
    inbound = OrderInbound(book, spool, home / "rejected", OrderSettings(), lambda: NOW)
    assert inbound.accept(sample_body("order_1001"), "application/json", "push").status == 200
    book.close()
    return config, erp_root


def exported(erp_root: Path) -> bool:
    """Whether a file has arrived in the ERP store."""
    return any(path.is_file() for path in erp_root.rglob("*"))
