"""Machines that export order files with `[storage] backend = "s3"`: each a home on its own
disk, all sharing the real PostgreSQL ledger, one bucket (moto) and the ERP's folder."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import SecretStr

from etl.config.settings import LocalStoreSettings, OrderSettings, Settings
from etl.config.state_settings import StateSettings
from etl.config.storage_settings import StorageSettings
from etl.state.ledger.postgres import PostgresAt
from etl.state.spool import Spool
from etl.to_erp.files.export import ExportSummary, export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import OrderInbound
from etl.transport import LocalStore
from tests.fixtures.orders import SHIPPED, sample_body
from tests.support.clock import NOW
from tests.support.s3 import S3Bucket
from tests.support.s3_gate import S3Gate

PREFIX = "shop1"
LAYOUT = "erp_csv"
NAME = "ORDERS_20261122_1001_2.csv"  # erp_csv: {date}_{first}_{count}, orders 1001 and 1002
DAY = NOW.strftime("%Y-%m-%d")
ARCHIVED = f"{PREFIX}/archive/orders/exported/{LAYOUT}/{DAY}/{NAME}"


class Machine:
    """One home exporting `erp_csv` into the shared ERP folder `erp`."""

    def __init__(self, home: Path, erp: Path, ledger: PostgresAt, storage: StorageSettings) -> None:
        shutil.copytree(SHIPPED, home / "schemas" / "orders", ignore=_not_toml)
        self.home = home
        self.settings = Settings(
            home=home,
            schemas_dir=home / "schemas",
            stores={"erp": LocalStoreSettings(root=erp)},
            state=StateSettings(backend="postgresql", dsn=SecretStr(ledger.dsn)),
            storage=storage,
        )
        self.layout = load_layouts(self.settings)[LAYOUT]
        self.book = OrderBook(ledger)
        # The bodies are read from this machine's spool: tests take orders in on the exporter.
        self.spool = Spool(home / "state" / "spool" / "orders")
        self.erp = erp
        self.store = LocalStore("erp", LocalStoreSettings(root=erp))

    def receive(self, *names: str) -> None:
        """Orders taken in on this machine and booked in the shared ledger."""
        inbound = OrderInbound(self.book, self.spool, self.home / "rejected", OrderSettings(),
                               lambda: NOW)  # fmt: skip
        for name in names:
            assert inbound.accept(sample_body(name), "application/json", "push").status == 200

    def export(
        self,
        *,
        at: dt.datetime = NOW,
        before_commit: Callable[[float], None] | None = None,
    ) -> ExportSummary:
        """One run of the export; `before_commit` runs once the files are on the server."""
        return export_orders(
            self.settings,
            self.book,
            self.spool,
            self.store,
            self.layout,
            lambda: at,
            pause_after_upload_seconds=1.0 if before_commit else 0.0,
            sleep=before_commit or (lambda _: None),
        )

    def archived_here(self) -> list[str]:
        """Files under this home's `archive/orders/exported/` (none with the bucket)."""
        root = self.home / "archive" / "orders" / "exported"
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    def close(self) -> None:
        """Let go of the ledger and the store."""
        self.store.close()
        self.book.close()


def _not_toml(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if not n.endswith(".toml")]


@contextmanager
def two_machines(
    root: Path, ledger: PostgresAt, bucket: S3Bucket, gate: S3Gate
) -> Iterator[tuple[Machine, Machine]]:
    """A (reaching the bucket through `gate`, which a test can shut) and B, on one ledger,
    one bucket and one ERP folder."""
    storage = bucket.settings(prefix=PREFIX)
    through_gate = storage.model_copy(update={"endpoint_url": gate.endpoint})
    first = Machine(root / "a", root / "erp", ledger, through_gate)
    second = Machine(root / "b", root / "erp", ledger, storage)
    try:
        yield first, second
    finally:
        first.close()
        second.close()
