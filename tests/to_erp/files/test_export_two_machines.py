"""Two machines export one layout: one dies mid-way, the other finishes what it prepared.

Each machine is a home of its own (its own disk: outbox, spool, locks) with the same settings:
the ledger on the real PostgreSQL, the ERP's real SFTP server, and `[storage] backend = "s3"`
on a real S3 API (moto). The first machine dies (a `Crash`, which no job catches) at a point
of the export; the second then runs the export. Whatever the point, each order reaches the ERP
in exactly one file: not lost, not stuck, not uploaded twice.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from etl.config.settings import OrderSettings, Settings
from etl.config.state_settings import StateSettings
from etl.config.storage_settings import StorageSettings
from etl.state.ledger.postgres import PostgresAt
from etl.state.spool import Spool
from etl.to_erp.files.export import ExportSummary, export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import OrderInbound
from etl.transport import SftpStore
from tests.fixtures.orders import SHIPPED, sample_body
from tests.support.clock import NOW
from tests.support.recording_store import Crash, Recording
from tests.support.s3 import S3Bucket
from tests.support.sftp_server import SftpServerInfo

NAME = "ORDERS_20261122_1001_2.csv"  # erp_csv: {date}_{first}_{count}
PREFIX = "shop1"


class Machine:
    """One machine: a home on its own disk, with the settings every machine shares."""

    def __init__(
        self, home: Path, server: SftpServerInfo, ledger: PostgresAt, storage: StorageSettings
    ) -> None:
        shutil.copytree(SHIPPED, home / "schemas" / "orders", ignore=_not_toml)
        self.home, self.server = home, server
        self.settings = Settings(
            home=home,
            schemas_dir=home / "schemas",
            stores={"erp": server.settings()},
            state=StateSettings(backend="postgresql", dsn=SecretStr(ledger.dsn)),
            storage=storage,
        )
        self.layout = load_layouts(self.settings)["erp_csv"]
        self.book = OrderBook(ledger)
        self.spool = Spool(home / "state" / "spool" / "orders")
        self.store = SftpStore("erp", server.settings())

    def receive(self, *names: str) -> None:
        """Orders taken in on this machine: spooled on its disk, booked in the shared ledger."""
        inbound = OrderInbound(self.book, self.spool, self.home / "rejected", OrderSettings(),
                               lambda: NOW)  # fmt: skip
        for name in names:
            assert inbound.accept(sample_body(name), "application/json", "push").status == 200

    def export(self, store: Recording | None = None, **options: object) -> ExportSummary:
        """One run of the erp_csv export on this machine."""
        return export_orders(
            self.settings,
            self.book,
            self.spool,
            store or self.store,
            self.layout,
            lambda: NOW,
            **options,  # type: ignore[arg-type]
        )

    def close(self) -> None:
        """Let go of the server and the ledger."""
        self.store.close()
        self.book.close()


def _not_toml(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if not n.endswith(".toml")]


@pytest.fixture
def machines(
    tmp_path: Path, sftp: SftpServerInfo, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> Iterator[tuple[Machine, Machine]]:
    """Machine A and machine B, sharing the ledger, the ERP's server and the bucket."""
    storage = s3_bucket.settings(prefix=PREFIX)
    first = Machine(tmp_path / "a", sftp, shared_ledger, storage)
    second = Machine(tmp_path / "b", sftp, shared_ledger, storage)
    yield first, second
    first.close()
    second.close()


def _remote(server: SftpServerInfo) -> dict[str, bytes]:
    folder = server.root / "orders" / "in"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def _uploads(store: Recording) -> list[str]:
    return [call[1] for call in store.calls if call[0] == "upload"]


def _exported_once(machine: Machine) -> None:
    """Both orders are exported, in one finished export of the layout."""
    assert [(o.ref, o.state) for o in machine.book.orders()] == [
        ("1001", "exported"),
        ("1002", "exported"),
    ]
    assert machine.book.unfinished_exports("erp_csv") == []
    exports = [(e.file_name, e.state) for e in machine.book.exports("1001")]
    assert exports == [(NAME, "done")]


def test_a_file_prepared_by_a_machine_that_died_is_uploaded_by_another(
    machines: tuple[Machine, Machine], s3_bucket: S3Bucket
) -> None:
    first, second = machines
    first.receive("order_1001", "order_1002")  # the bodies are on A's disk only
    with pytest.raises(Crash):
        first.export(Recording(first.store, before="upload"))  # dies after the prepare
    prepared = (first.home / "outbox" / "erp" / "erp_csv" / NAME).read_bytes()
    assert _remote(first.server) == {}

    summary = second.export()

    assert (summary.uploaded_again, summary.stuck) == ([NAME], [])
    assert _remote(second.server) == {NAME: prepared, f"{NAME}.done": b""}
    _exported_once(second)
    assert s3_bucket.listed_keys(f"{PREFIX}/outbox/") == []  # done: nothing left in flight
    # Archived in the bucket, not on the disk of the machine that committed it.
    archived = f"{PREFIX}/archive/orders/exported/erp_csv/2026-11-22/{NAME}"
    assert s3_bucket.objects(f"{PREFIX}/archive/") == {archived: prepared}
    assert not (second.home / "archive" / "orders").exists()


def test_a_file_cut_off_mid_upload_by_a_dying_machine_is_uploaded_by_another(
    machines: tuple[Machine, Machine],
) -> None:
    first, second = machines
    first.receive("order_1001", "order_1002")
    with pytest.raises(Crash):
        first.export(Recording(first.store, after="upload"))  # on the server as NAME.part
    assert sorted(_remote(first.server)) == [f"{NAME}.part"]

    summary = second.export()

    assert (summary.uploaded_again, summary.stuck) == ([NAME], [])
    assert sorted(_remote(second.server)) == [NAME, f"{NAME}.done"]
    _exported_once(second)


def test_a_file_the_erp_took_before_the_dying_machine_committed_is_not_sent_again(
    machines: tuple[Machine, Machine], s3_bucket: S3Bucket
) -> None:
    first, second = machines
    first.receive("order_1001", "order_1002")
    # B reads the same bodies (as it would from a shared spool): it could render them again.
    shutil.copytree(first.home / "state" / "spool", second.home / "state" / "spool")

    def killed(seconds: float) -> None:
        raise Crash("killed after the rename, before the commit")

    with pytest.raises(Crash):
        first.export(pause_after_upload_seconds=1.0, sleep=killed)
    assert sorted(_remote(first.server)) == [NAME, f"{NAME}.done"]
    # The ERP takes the file and its marker: nothing on the server says it arrived.
    for path in (first.server.root / "orders" / "in").iterdir():
        path.unlink()

    recording = Recording(second.store)
    summary = second.export(recording)

    assert _uploads(recording) == []  # the ERP has had it: not again
    assert (summary.finished, summary.uploaded_again, summary.files) == ([NAME], [], [])
    assert _remote(second.server) == {}
    _exported_once(second)
    assert s3_bucket.listed_keys(f"{PREFIX}/outbox/") == []


def test_a_prepared_file_is_on_the_shared_store_under_its_home_relative_path(
    machines: tuple[Machine, Machine], s3_bucket: S3Bucket
) -> None:
    first, _ = machines
    first.receive("order_1001", "order_1002")
    with pytest.raises(Crash):
        first.export(Recording(first.store, before="upload"))
    prepared = (first.home / "outbox" / "erp" / "erp_csv" / NAME).read_bytes()
    key = f"{PREFIX}/outbox/erp/erp_csv/{NAME}"
    assert s3_bucket.objects(f"{PREFIX}/outbox/") == {key: prepared}


def test_a_finished_export_leaves_nothing_on_the_shared_store(
    machines: tuple[Machine, Machine], s3_bucket: S3Bucket
) -> None:
    first, second = machines
    first.receive("order_1001", "order_1002")
    summary = first.export()
    assert summary.files == [NAME]
    assert s3_bucket.listed_keys(f"{PREFIX}/outbox/") == []
    # The other machine finds nothing to settle and nothing due.
    again = second.export()
    assert (again.files, again.finished, again.uploaded_again, again.stuck) == ([], [], [], [])
    _exported_once(second)


def test_a_file_left_in_the_bucket_without_an_export_is_let_go(
    machines: tuple[Machine, Machine], s3_bucket: S3Bucket
) -> None:
    first, _ = machines
    first.receive("order_1001", "order_1002")
    # A machine died between putting its batch and recording it: no export was begun.
    stray = f"{PREFIX}/outbox/erp/erp_csv/ORDERS_20261122_0999_1.csv"
    s3_bucket.put(stray, b"never begun")
    summary = first.export()
    assert (summary.files, summary.uploaded_again, summary.stuck) == ([NAME], [], [])
    assert sorted(_remote(first.server)) == [NAME, f"{NAME}.done"]
    assert s3_bucket.listed_keys(f"{PREFIX}/outbox/") == []
    assert not list((first.home / "archive").rglob("ORDERS_*0999*"))
