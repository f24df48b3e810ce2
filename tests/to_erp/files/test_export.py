"""The export job against a real SFTP server: final names only, once per order, crash-proof."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings, OrderSettings, Settings
from etl.state.atomic import write_atomically
from etl.state.locks import feed_lock
from etl.state.spool import Spool
from etl.to_erp.files.export import ExportSummary, export_orders
from etl.to_erp.files.layouts import Layout, load_layouts
from etl.to_erp.files.render import render_orders
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import OrderInbound
from etl.transport import LocalStore, SftpStore
from etl.transport.base import RemoteFile, Store
from tests.fixtures.orders import SHIPPED, sample, sample_body
from tests.support.clock import NOW
from tests.support.recording_store import Crash, Recording
from tests.support.sftp_server import SftpServerInfo

BATCH = "ORDERS_20261122_1001_2.csv"  # erp_csv: {date}_{first}_{count}


class Shortened(Recording):
    """Uploads lose their last byte on the way (a server that truncates)."""

    def upload(self, source: Path, path: str, *, through_temp: bool = True) -> None:
        short = source.with_name(f".{source.name}.short")
        short.write_bytes(source.read_bytes()[:-1])
        try:
            super().upload(short, path, through_temp=through_temp)
        finally:
            short.unlink()


class World:
    """A home with the shipped layouts, the order book and spool, and the ERP's SFTP server."""

    def __init__(self, home: Path, server: SftpServerInfo) -> None:
        (home / "schemas" / "orders").mkdir(parents=True)
        for layout in SHIPPED.glob("*.toml"):
            (home / "schemas" / "orders" / layout.name).write_bytes(layout.read_bytes())
        self.home, self.server = home, server
        self.settings = Settings(
            home=home, schemas_dir=home / "schemas", stores={"erp": server.settings()}
        )
        self.layouts = load_layouts(self.settings)
        self.book = OrderBook(home / "state" / "ledger.sqlite")
        self.spool = Spool(home / "state" / "spool" / "orders")
        self.store = SftpStore("erp", server.settings())
        self.inbound = OrderInbound(
            self.book, self.spool, home / "rejected", OrderSettings(), lambda: NOW
        )

    def receive(self, *names: str) -> None:
        for name in names:
            assert self.inbound.accept(sample_body(name), "application/json", "push").status == 200

    def export(self, layout: str, store: Store | None = None, **options: object) -> ExportSummary:
        return export_orders(
            self.settings,
            self.book,
            self.spool,
            store or self.store,
            self.layouts[layout],
            lambda: NOW,
            **options,  # type: ignore[arg-type]
        )

    def remote(self, folder: str) -> dict[str, bytes]:
        root = self.server.root / folder
        return {p.name: p.read_bytes() for p in sorted(root.iterdir())} if root.is_dir() else {}

    def outbox(self, layout: str) -> list[str]:
        folder = self.home / "outbox" / "erp" / layout
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def world(tmp_path: Path, sftp: SftpServerInfo) -> Iterator[World]:
    w = World(tmp_path / "home", sftp)
    yield w
    w.store.close()
    w.book.close()


def csv_of(layout: Layout, *names: str) -> bytes:
    return render_orders(layout, [sample(n) for n in names])


# -- the ordinary way ----------------------------------------------------------------------------


def test_a_batch_arrives_under_its_final_name_with_a_done_marker(world: World) -> None:
    world.receive("order_1001", "order_1002")
    summary = world.export("erp_csv")
    assert (summary.files, summary.orders, summary.held) == ([BATCH], 2, {})
    assert world.remote("orders/in") == {
        BATCH: csv_of(world.layouts["erp_csv"], "order_1001", "order_1002"),
        f"{BATCH}.done": b"",
    }
    assert [o.state for o in world.book.orders()] == ["exported", "exported"]
    (export,) = world.book.exports("1001")
    assert (export.file_name, export.state, export.refs) == (BATCH, "done", ("1001", "1002"))
    # The outbox is empty; the file is archived byte for byte.
    assert world.outbox("erp_csv") == []
    archived = world.home / "archive" / "orders" / "exported" / "erp_csv" / "2026-11-22" / BATCH
    assert archived.read_bytes() == world.remote("orders/in")[BATCH]


def test_the_server_sees_only_a_temp_name_until_the_file_is_whole(world: World) -> None:
    world.receive("order_1001")
    recording = Recording(world.store)
    world.export("erp_csv", recording)
    name = "ORDERS_20261122_1001_1.csv"
    assert recording.calls == [
        ("upload", f"orders/in/{name}.part"),
        ("rename", f"orders/in/{name}.part", f"orders/in/{name}"),
        ("upload", f"orders/in/{name}.done"),  # the marker comes last
    ]


def test_two_runs_export_nothing_twice(world: World) -> None:
    world.receive("order_1001", "order_1002")
    world.export("erp_csv")
    before = world.remote("orders/in")
    again = world.export("erp_csv")
    assert (again.files, again.finished, again.uploaded_again) == ([], [], [])
    assert world.remote("orders/in") == before
    world.receive("order_1001")  # Norce retries the push: still the same order, not due
    assert world.export("erp_csv").files == []


def test_one_file_per_order_and_layouts_are_independent(world: World) -> None:
    world.receive("order_1001", "order_1002")
    assert world.export("peppol_order").files == ["ORDER_1001.xml", "ORDER_1002.xml"]
    assert sorted(world.remote("orders/ubl")) == ["ORDER_1001.xml", "ORDER_1002.xml"]
    # The CSV layout still gets both orders: exported once per layout.
    assert world.export("erp_csv").files == [BATCH]


# -- cut off -------------------------------------------------------------------------------------


def test_an_export_cut_off_after_upload_is_finished_by_lookup(world: World) -> None:
    world.receive("order_1001")
    layout = world.layouts["erp_csv"]
    name = "ORDERS_20261122_1001_1.csv"
    data = csv_of(layout, "order_1001")
    local = world.home / "outbox" / "erp" / "erp_csv" / name
    write_atomically(local, data)
    rows = world.book.due("erp_csv", 10)
    sha = hashlib.sha256(data).hexdigest()
    world.book.begin_export(f"erp_csv/{name}", "erp_csv", name, rows, sha, len(data), "t")
    world.store.upload(local, f"orders/in/{name}")  # ...and the process died here

    recording = Recording(world.store)
    summary = world.export("erp_csv", recording)
    assert (summary.finished, summary.uploaded_again, summary.files) == ([name], [], [])
    assert recording.calls == [("upload", f"orders/in/{name}.done")]  # the data is not re-sent
    assert world.book.order("1001").state == "exported"  # type: ignore[union-attr]
    assert world.book.unfinished_exports("erp_csv") == []


def test_a_stop_right_after_the_rename_is_finished_by_lookup(world: World) -> None:
    world.receive("order_1001")
    with pytest.raises(Crash):
        world.export("erp_csv", Recording(world.store, after="rename"))
    (unfinished,) = world.book.unfinished_exports("erp_csv")
    recording = Recording(world.store)
    summary = world.export("erp_csv", recording)
    assert summary.finished == [unfinished.file_name]
    assert [c[0] for c in recording.calls] == ["upload"]  # the marker only
    assert sorted(world.remote("orders/in")) == [
        unfinished.file_name,
        f"{unfinished.file_name}.done",
    ]


def test_a_stop_before_the_commit_is_finished_from_the_outbox(world: World) -> None:
    world.receive("order_1001")

    def killed(seconds: float) -> None:
        assert seconds == 2.5
        raise Crash("killed while paused before the commit")

    with pytest.raises(Crash):
        world.export("erp_csv", pause_after_upload_seconds=2.5, sleep=killed)
    assert world.outbox("erp_csv") == ["sent/ORDERS_20261122_1001_1.csv"]
    # Meanwhile the ERP took the file and its marker: nothing on the server says it arrived.
    for path in (world.server.root / "orders" / "in").iterdir():
        path.unlink()
    recording = Recording(world.store)
    summary = world.export("erp_csv", recording)
    assert summary.finished == ["ORDERS_20261122_1001_1.csv"]
    assert recording.calls == []  # not sent twice, and no marker for a file that is gone
    assert world.outbox("erp_csv") == []


def test_a_stop_before_the_rename_uploads_the_same_bytes_again(world: World) -> None:
    world.receive("order_1001", "order_1002")
    with pytest.raises(Crash):
        world.export("erp_csv", Recording(world.store, before="rename"))
    assert sorted(world.remote("orders/in")) == [f"{BATCH}.part"]
    world.receive("order_1001")  # nothing new: the next run must send the very same file
    recording = Recording(world.store)
    summary = world.export("erp_csv", recording)
    assert (summary.uploaded_again, summary.files) == ([BATCH], [])
    assert recording.calls[0] == ("remove", f"orders/in/{BATCH}.part")
    assert world.remote("orders/in")[BATCH] == csv_of(
        world.layouts["erp_csv"], "order_1001", "order_1002"
    )


def test_a_short_upload_is_removed_and_sent_again_next_run(world: World) -> None:
    world.receive("order_1001")
    summary = world.export("erp_csv", Shortened(world.store))
    assert summary.error and "after the upload, not" in summary.error
    assert world.remote("orders/in") == {}  # the short temp file is gone, nothing final
    assert world.export("erp_csv").uploaded_again == ["ORDERS_20261122_1001_1.csv"]


def test_a_foreign_file_under_the_recorded_name_is_reported_not_overwritten(
    world: World,
) -> None:
    world.receive("order_1001")
    with pytest.raises(Crash):
        world.export("erp_csv", Recording(world.store, before="rename"))
    (export,) = world.book.unfinished_exports("erp_csv")
    foreign = world.server.root / "orders" / "in" / export.file_name
    foreign.write_bytes(b"somebody else's file")
    summary = world.export("erp_csv")
    assert summary.stuck == [export.file_name]
    assert foreign.read_bytes() == b"somebody else's file"
    assert world.book.unfinished_exports("erp_csv") == [export]


# -- names ---------------------------------------------------------------------------------------


def test_a_name_taken_on_the_server_is_never_overwritten(world: World) -> None:
    folder = world.server.root / "orders" / "in"
    folder.mkdir(parents=True)
    (folder / BATCH).write_bytes(b"yesterday's file, not yet picked up")
    world.receive("order_1001", "order_1002")
    assert world.export("erp_csv").files == ["ORDERS_20261122_1001_2_2.csv"]
    assert (folder / BATCH).read_bytes() == b"yesterday's file, not yet picked up"


def test_resend_exports_again_under_a_new_name(world: World) -> None:
    world.receive("order_1001")
    world.export("peppol_order")
    first = world.remote("orders/ubl")["ORDER_1001.xml"]
    assert world.book.resend("1001", "later")
    assert world.export("peppol_order").files == ["ORDER_1001_2.xml"]
    remote = world.remote("orders/ubl")
    assert remote["ORDER_1001.xml"] == first and remote["ORDER_1001_2.xml"] == first
    assert [e.file_name for e in world.book.exports("1001")] == [
        "ORDER_1001.xml",
        "ORDER_1001_2.xml",
    ]


# -- orders that cannot go -----------------------------------------------------------------------


def test_an_order_with_a_character_the_erp_cannot_take_is_held(world: World) -> None:
    plain, festive = '"lastName": "Nyström"', '"lastName": "Nyström 🎉"'
    body = sample_body("order_1002").replace(plain.encode(), festive.encode(), 1)
    assert world.inbound.accept(body, "application/json", "push").status == 200
    world.receive("order_1001")
    summary = world.export("erp_csv")
    assert summary.files == ["ORDERS_20261122_1001_1.csv"]
    reason = summary.held["1002"]
    assert "'LastName' (SellTo.Person.LastName) has '🎉' (U+1F389 PARTY POPPER)" in reason
    assert "which cp1252 cannot hold" in reason and "erp_csv.toml" in reason
    order = world.book.order("1002")
    assert order is not None and (order.state, order.reason) == ("held", reason)
    # Held orders are never due, for any layout.
    assert world.export("peppol_order").files == ["ORDER_1001.xml"]


def test_a_read_only_store_gets_nothing_and_the_outbox_shows_the_files(
    world: World, tmp_path: Path
) -> None:
    world.receive("order_1001", "order_1002")
    samples = LocalStore("erp", LocalStoreSettings(root=tmp_path / "samples", read_only=True))
    summary = world.export("erp_csv", samples)
    assert (summary.outbox_only, summary.files, summary.orders) == (True, [BATCH], 0)
    assert world.outbox("erp_csv") == [BATCH]
    assert [o.state for o in world.book.orders()] == ["spooled", "spooled"]
    # Again: the same file, not a second one.
    world.export("erp_csv", samples)
    assert world.outbox("erp_csv") == [BATCH]
    assert not (tmp_path / "samples").exists()


def test_a_second_exporter_of_the_same_layout_steps_aside(world: World) -> None:
    world.receive("order_1001")
    with feed_lock(world.home / "state" / "locks", "order-layout.erp_csv") as taken:
        assert taken
        summary = world.export("erp_csv")
    assert summary.skipped and summary.files == []
    assert world.export("erp_csv").files == ["ORDERS_20261122_1001_1.csv"]


# -- round trips -----------------------------------------------------------------------------


class Counting(Recording):
    """A recording store that also counts listings and notes how each upload was written."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.listings = 0
        self.straight: list[str] = []  # uploads written under their own name, no store temp

    def list(self, folder: str) -> list[RemoteFile]:
        self.listings += 1
        return super().list(folder)

    def upload(self, source: Path, path: str, *, through_temp: bool = True) -> None:
        if not through_temp:
            self.straight.append(path)
        super().upload(source, path, through_temp=through_temp)


def test_many_files_take_one_listing_and_one_temp_name_each(world: World) -> None:
    world.receive("order_1001", "order_1002")
    counting = Counting(world.store)
    summary = world.export("peppol_order", counting)
    files = ["ORDER_1001.xml", "ORDER_1002.xml"]
    assert summary.files == files
    assert counting.listings <= 1  # not one listing per upload to check one file's size
    # The layout's temp name is the only one: the store writes it straight, then it is renamed.
    assert counting.straight == [f"orders/ubl/{f}.part" for f in files]
    assert [c for c in counting.calls if c[0] == "rename"] == [
        ("rename", f"orders/ubl/{f}.part", f"orders/ubl/{f}") for f in files
    ]
    assert sorted(world.remote("orders/ubl")) == files
