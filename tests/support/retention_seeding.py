"""A home with Greta in every place personal data rests, built once, copied per test.

Greta is seeded into every place personal data rests: the customers export (archived, the
snapshot, the file-mode payloads in outbox/norce/), a `check` report in outbox/checks/, a
delivery note (document book, outbox/norce/), an order (spool, order files in the archive)
and a customer event (party spool). The next export no longer has her: she is deactivated.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl

from etl.cli import main
from etl.config.contract_files import load_contracts
from etl.config.settings import OrderSettings, Settings, load_settings
from etl.runtime import Runtime
from etl.state.ledger.feed_runs import Ledger
from etl.state.snapshots import SnapshotStore
from etl.state.spool import Spool
from etl.to_erp.files.export import export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import OrderInbound
from etl.to_erp.parties.book import PartyBook
from etl.to_erp.parties.events import PartyInbound
from etl.to_norce.records import FileOutcome
from etl.to_norce.run import run_feed
from etl.transport import LocalStore
from tests.support.masterdata import run_all
from tests.support.paths import SAMPLES, SCHEMAS
from tests.support.retention_people import (
    CUSTOMER_ROW,
    EMAIL,
    add_customer,
    copy_order_schemas,
    her_order,
    her_party_event,
    make_delivery_note_hers,
    with_retention,
)

# Now, not a fixed day: outbox files are aged by their modification time.
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0)
T1 = T0 + dt.timedelta(days=1)  # the export without her: deactivated
FEED_DAYS, ORDER_DAYS = 90, 30
PAST_ALL = T1 + dt.timedelta(days=FEED_DAYS + 1)


def configure(root: Path) -> Settings:
    """Settings for the home under `root` (written to home/etl.toml, as the CLI reads them)."""
    home, erp = root / "home", root / "erp"
    (home / "etl.toml").write_text(
        f'home = "{home}"\n[stores.erp]\nkind = "local"\nroot = "{erp}"\n'
        f"[archive]\norders_retention_days = {ORDER_DAYS}\n",
        encoding="utf-8",
    )
    return load_settings(home / "etl.toml", {})


def seed(root: Path) -> None:
    """Greta everywhere on T0, then removed by the ERP on T1."""
    home, erp = root / "home", root / "erp"
    shutil.copytree(SAMPLES, erp)
    (home / "schemas").mkdir(parents=True)
    for contract in SCHEMAS.glob("*.toml"):
        text = contract.read_text(encoding="utf-8").replace(
            "stable_seconds = 2", "stable_seconds = 0.05"
        )
        (home / "schemas" / contract.name).write_text(text, encoding="utf-8")
    copy_order_schemas(home)
    with_retention(home, "delivery_notes", FEED_DAYS)
    settings = configure(root)
    add_customer(erp, "kunder_20261120.csv", CUSTOMER_ROW)
    make_delivery_note_hers(erp)
    run_all(settings, T0)
    misspelt = add_customer(
        root, "kunder_check.csv", CUSTOMER_ROW.replace(EMAIL, "gretamaja@hemma")
    )
    assert (
        main(["--config", str(home / "etl.toml"), "check", str(misspelt), "--feed", "customers"])
        == 1
    )
    take_and_export_her_order(settings)
    take_and_settle_her_event(settings)
    add_customer(erp, "kunder_20261121.csv", None)
    run_all(settings, T1)


def take_and_export_her_order(settings: Settings) -> None:
    state = settings.folder("state")
    book, spool = OrderBook(state / "ledger.sqlite"), Spool(state / "spool" / "orders")
    rejected = settings.folder("archive") / "orders" / "rejected"
    inbound = OrderInbound(book, spool, rejected, OrderSettings(), lambda: T0)
    store = LocalStore("erp", settings.stores["erp"])  # type: ignore[arg-type]
    try:
        assert inbound.accept(her_order(), "application/json", "push").status == 200
        for layout in load_layouts(settings).values():
            summary = export_orders(settings, book, spool, store, layout, lambda: T0)
            assert summary.files and not summary.error
    finally:
        store.close()
        book.close()


def take_and_settle_her_event(settings: Settings) -> None:
    """Her event booked, then settled: Norce Query no longer had her (`gone`)."""
    state = settings.folder("state")
    book = PartyBook(state / "ledger.sqlite")
    rejected = settings.folder("archive") / "parties" / "rejected"
    inbound = PartyInbound(book, Spool(state / "spool" / "parties"), rejected, lambda: T0)
    try:
        assert inbound.accept("CustomerChangedNotification", her_party_event()).status == 200
        changes = book.due("customer", "erp_customers_csv", 10, T0.isoformat())
        book.settle("erp_customers_csv", changes, "gone", {}, T0.isoformat())
    finally:
        book.close()


def run_one(settings: Settings, feed: str, at: dt.datetime) -> list[FileOutcome]:
    """One feed's pass with the clock at `at`."""
    rt = Runtime.open(settings, clock=lambda: at, sleep=lambda s: None)
    try:
        return run_feed(rt, load_contracts(settings)[feed])
    finally:
        rt.close()


def erp(settings: Settings) -> Path:
    """The ERP's drop folder beside the seeded home."""
    return settings.home.parent / "erp"


def current_customers(settings: Settings) -> pl.DataFrame:
    """The customers feed's current snapshot, as the next run diffs against it."""
    ledger = Ledger(settings.folder("state") / "ledger.sqlite")
    try:
        current = ledger.current_snapshot("customers")
    finally:
        ledger.close()
    assert current is not None
    fields = load_contracts(settings)["customers"].entity.fields()
    return SnapshotStore(settings.folder("state") / "snapshots").read(current[0], fields)
