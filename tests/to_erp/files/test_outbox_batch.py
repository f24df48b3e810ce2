"""The outbox's batch: every file fsync'd before it leaves, and a failing disk leaves nothing.

The fsyncs of a batch start as each file is written (etl.to_erp.files.outbox.Batch) and run
while the next is written; the batch is placed, and its exports begun, only when all are done.
Only the disk is faked (os.fsync, as tests/support/failing_disk does for folders).
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config.settings import OrderSettings, Settings
from etl.state.spool import Spool
from etl.to_erp.files.export import ExportSummary, export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.files.outbox import Batch
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import OrderInbound
from etl.transport import SftpStore
from tests.fixtures.orders import SHIPPED, sample_body
from tests.support.clock import NOW
from tests.support.recording_store import Recording
from tests.support.sftp_server import SftpServerInfo

ORDERS = ("order_1001", "order_1002")


class FileSyncs:
    """Installed as os.fsync: notes the inode of every regular file synced; can fail once."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.synced: set[int] = set()
        self.fail_on, self.files = fail_on, 0
        self._real = os.fsync

    def __call__(self, fd: int) -> None:
        found = os.fstat(fd)
        if stat.S_ISREG(found.st_mode):
            self.files += 1
            if self.files == self.fail_on:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            self._real(fd)
            self.synced.add(found.st_ino)
            return
        self._real(fd)


class SyncedFirst(Recording):
    """A real store that checks each file it is given was fsync'd before it goes up."""

    def __init__(self, inner: SftpStore, syncs: FileSyncs) -> None:
        super().__init__(inner)
        self.syncs = syncs
        self.unsynced: list[str] = []

    def upload(self, source: Path, path: str, *, through_temp: bool = True) -> None:
        """Note a source that was never fsync'd (a done-marker is empty: no data to lose)."""
        if source.stat().st_size and source.stat().st_ino not in self.syncs.synced:
            self.unsynced.append(source.name)
        super().upload(source, path, through_temp=through_temp)


@pytest.fixture
def home(tmp_path: Path, sftp: SftpServerInfo) -> Iterator[tuple[Settings, OrderBook, Spool]]:
    """A home with the shipped layouts and two spooled orders."""
    home = tmp_path / "home"
    (home / "schemas" / "orders").mkdir(parents=True)
    for layout in SHIPPED.glob("*.toml"):
        (home / "schemas" / "orders" / layout.name).write_bytes(layout.read_bytes())
    settings = Settings(home=home, schemas_dir=home / "schemas", stores={"erp": sftp.settings()})
    book = OrderBook(home / "state" / "ledger.sqlite")
    spool = Spool(home / "state" / "spool" / "orders")
    inbound = OrderInbound(book, spool, home / "rejected", OrderSettings(), lambda: NOW)
    for name in ORDERS:
        assert inbound.accept(sample_body(name), "application/json", "push").status == 200
    yield settings, book, spool
    book.close()


def _export(parts: tuple[Settings, OrderBook, Spool], store: Recording) -> ExportSummary:
    settings, book, spool = parts
    layout = load_layouts(settings)["peppol_order"]  # one file an order: a batch of two
    return export_orders(settings, book, spool, store, layout, lambda: NOW)


def test_every_file_is_fsynced_before_it_is_uploaded(
    home: tuple[Settings, OrderBook, Spool], sftp: SftpServerInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs = FileSyncs()
    monkeypatch.setattr(os, "fsync", syncs)
    store = SyncedFirst(SftpStore("erp", sftp.settings()), syncs)
    try:
        summary = _export(home, store)
    finally:
        store.inner.close()  # type: ignore[attr-defined]
    assert len(summary.files) == 2
    assert store.unsynced == []


def test_a_disk_that_fails_a_files_fsync_leaves_nothing_begun_and_no_temp_files(
    home: tuple[Settings, OrderBook, Spool], sftp: SftpServerInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, book, _ = home
    monkeypatch.setattr(os, "fsync", FileSyncs(fail_on=2))
    store = Recording(SftpStore("erp", sftp.settings()))
    try:
        with pytest.raises(OSError, match=os.strerror(errno.EIO)):
            _export(home, store)
        assert store.calls == []  # nothing went up
        assert book.unfinished_exports("peppol_order") == []
        outbox = settings.home / "outbox" / "erp" / "peppol_order"
        assert [p.name for p in outbox.iterdir() if p.is_file()] == []  # no temp left behind
        monkeypatch.undo()  # the disk is well again: the same orders go out
        assert len(_export(home, store).files) == 2
    finally:
        store.inner.close()  # type: ignore[attr-defined]


def test_a_forked_child_puts_a_batch_on_threads_of_its_own(tmp_path: Path) -> None:
    batch = Batch()
    batch.add(tmp_path / "parent.xml", b"<a/>")  # the parent's fsync threads now exist
    batch.place()
    pid = os.fork()
    if pid == 0:  # the child: the parent's threads are not here
        child = Batch()
        child.add(tmp_path / "child.xml", b"<b/>")
        child.place()
        os._exit(0)
    deadline = time.monotonic() + 30
    while (ended := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    if ended[0] == 0:  # a child waiting on threads it does not have
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung placing its batch")
    assert os.waitstatus_to_exitcode(ended[1]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["child.xml", "parent.xml"]
