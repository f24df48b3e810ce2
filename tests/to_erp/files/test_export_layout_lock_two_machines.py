"""One exporter of a layout at a time on every machine sharing a PostgreSQL ledger (issue 21).

An export puts each rendered file in the bucket (`outbox/erp/<layout>/<name>`) before the
ledger records the export as begun; a run's clean-up lets go of every file there whose export
is not begun (etl.to_erp.files.export `_tidy_shared`). Two exporters of one layout on two
machines (a worker, and `once` by hand on another) would each drop what the other just put, and
render the same due orders side by side. The layout's lock, held in the ledger across machines,
keeps the second one out, as the file lock keeps out a second one on the same machine.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import SecretStr

from etl.config.settings import Settings
from etl.config.state_settings import StateSettings
from etl.state.ledger.postgres import PostgresAt
from etl.state.locks import locks_held
from etl.state.spool import Spool
from etl.to_erp.files.export import export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.files.shared_outbox import open_shared_outbox
from etl.to_erp.orders.book import OrderBook
from etl.transport import SftpStore
from tests.fixtures.orders import SHIPPED
from tests.support.clock import NOW
from tests.support.s3 import S3Bucket
from tests.support.sftp_server import SftpServerInfo

PREFIX = "shop1"
LAYOUT = "erp_csv"
PUT_BY_A = "ORDERS_20261122_1001_2.csv"


def _settings(home: Path, server: SftpServerInfo, ledger: PostgresAt, bucket: S3Bucket) -> Settings:
    shutil.copytree(SHIPPED, home / "schemas" / "orders", ignore=_not_toml)
    return Settings(
        home=home,
        schemas_dir=home / "schemas",
        stores={"erp": server.settings()},
        state=StateSettings(backend="postgresql", dsn=SecretStr(ledger.dsn)),
        storage=bucket.settings(prefix=PREFIX),
    )


def _not_toml(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if not n.endswith(".toml")]


def test_an_export_on_another_machine_waits_for_the_layout_and_keeps_its_files(
    tmp_path: Path, sftp: SftpServerInfo, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    a = _settings(tmp_path / "a", sftp, shared_ledger, s3_bucket)
    b = _settings(tmp_path / "b", sftp, shared_ledger, s3_bucket)
    layout = load_layouts(b)[LAYOUT]
    # Machine A is exporting the layout: it holds the layout's lock (as export_layout does)
    # and has put its rendered file in the bucket; its export is not begun in the ledger yet.
    with locks_held(a.home / "state" / "locks", [f"order-layout.{LAYOUT}"], shared_ledger) as busy:
        assert busy is None
        shared = open_shared_outbox(a.storage, a.home / "outbox" / "erp", LAYOUT)
        assert shared is not None
        shared.put_batch({PUT_BY_A: b"H;1001\n"})
        book, store = OrderBook(shared_ledger), SftpStore("erp", sftp.settings())
        try:
            summary = export_orders(
                b, book, Spool(b.home / "state" / "spool" / "orders"), store, layout, lambda: NOW
            )
        finally:
            store.close()
            book.close()

    key = f"{PREFIX}/outbox/erp/{LAYOUT}/{PUT_BY_A}"
    assert s3_bucket.objects(f"{PREFIX}/outbox/") == {key: b"H;1001\n"}  # A's, kept
    assert summary.skipped  # "already exporting elsewhere", as on one machine
