"""The export's batches in a pipeline: the next batch is read, prepared and rendered while the
one before is uploaded; that one is committed before the next is put in the outbox and begun.

A real `run.py once` is killed at the first batch's commit point, the second batch already
rendered in memory: the next run settles the first batch by looking at the server and sends the
rest, each order once. A batch a dead run was writing into the outbox (temp files) is swept.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from etl.config.settings import load_settings
from etl.state.spool import Spool
from etl.to_erp.files.export import BATCH_FILES, export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import open_inbound
from etl.transport import LocalStore
from tests.fixtures.orders import SHIPPED, sample_body, settings_at
from tests.support.clock import NOW
from tests.support.masterdata import signal_at_commit_point
from tests.support.paths import REPO
from tests.support.sftp_server import SftpServerInfo

PASSWORD_ENV = "EXPORT_PIPELINE_SFTP_PASSWORD"
ORDERS = BATCH_FILES + 7  # PEPPOL: a file an order, so two batches


def _body(ref: int) -> bytes:
    """The sample order under another ClientOrderRef."""
    body = json.loads(sample_body("order_1001"))
    body["ClientOrderRef"] = str(ref)
    return json.dumps(body).encode()


def _home(home: Path) -> None:
    """A home with the PEPPOL layout only: its first commit is the run's first."""
    (home / "schemas" / "orders").mkdir(parents=True)
    shutil.copy(SHIPPED / "peppol_order.toml", home / "schemas" / "orders")


def _config(home: Path, sftp: SftpServerInfo, pause: float) -> Path:
    path = home / f"etl-{pause:g}.toml"
    path.write_text(
        f'home = "."\nschemas_dir = "schemas"\npause_before_commit_seconds = {pause}\n'
        f'[stores.erp]\nkind = "sftp"\nhost = "{sftp.host}"\nport = {sftp.port}\n'
        f'username = "{sftp.username}"\nknown_hosts = "{sftp.known_hosts_path}"\n'
        f'password_env = "{PASSWORD_ENV}"\ntimeout_seconds = 10\n',
        encoding="utf-8",
    )
    return path


def _run(home: Path, config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(REPO / "run.py"), "--config", str(config), "once"],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _ubl(root: Path) -> dict[str, int]:
    """Order files on the server: name -> inode (a second upload would get a new one)."""
    folder = root / "orders" / "ubl"
    return {p.name: p.stat().st_ino for p in folder.iterdir()} if folder.is_dir() else {}


@pytest.mark.slow
def test_a_kill_at_a_batch_commit_while_the_next_is_rendered_sends_each_order_once(
    tmp_path: Path, sftp: SftpServerInfo
) -> None:
    home = tmp_path / "home"
    _home(home)
    env = {**os.environ, PASSWORD_ENV: sftp.password}
    paused, clean = _config(home, sftp, pause=30), _config(home, sftp, pause=0)
    inbound = open_inbound(load_settings(clean, env))
    refs = [str(7000 + n) for n in range(ORDERS)]
    try:
        for ref in refs:
            assert inbound.accept(_body(int(ref)), "application/json", "push").status == 200
    finally:
        inbound.book.close()

    killed = _run(home, paused, env)
    signal_at_commit_point(killed, signal.SIGKILL)
    assert killed.wait(timeout=30) == -signal.SIGKILL

    # The first batch is on the server, begun and not committed; of the second (read and
    # rendered while the first went up) nothing left the process.
    first = _ubl(sftp.root)
    assert sorted(first) == [f"ORDER_{ref}.xml" for ref in refs[:BATCH_FILES]]
    book = OrderBook(home / "state" / "ledger.sqlite")
    try:
        assert len(book.unfinished_exports("peppol_order")) == BATCH_FILES
        assert {o.state for o in book.orders()} == {"spooled"}
    finally:
        book.close()
    outbox = home / "outbox" / "erp" / "peppol_order"
    assert sorted(p.name for p in outbox.iterdir() if p.is_file()) == []

    out, err = _run(home, clean, env).communicate(timeout=120)
    assert f"{ORDERS - BATCH_FILES} file(s), {ORDERS - BATCH_FILES} order(s)" in out, out + err
    after = _ubl(sftp.root)
    assert sorted(after) == sorted(f"ORDER_{ref}.xml" for ref in refs)
    assert {name: after[name] for name in first} == first  # settled by lookup, not sent again
    book = OrderBook(home / "state" / "ledger.sqlite")
    try:
        assert book.unfinished_exports("peppol_order") == []
        assert {o.state for o in book.orders()} == {"exported"}
        assert all(len(book.exports(ref)) == 1 for ref in refs)
    finally:
        book.close()
    assert [p for p in outbox.rglob("*") if p.is_file()] == []


def test_a_batch_a_dead_run_was_writing_into_the_outbox_is_swept(tmp_path: Path) -> None:
    settings = settings_at(tmp_path / "home")
    layout = load_layouts(settings)["peppol_order"]
    book = OrderBook(tmp_path / "home" / "state" / "ledger.sqlite")
    spool = Spool(tmp_path / "home" / "state" / "spool" / "orders")
    outbox = tmp_path / "home" / "outbox" / "erp" / "peppol_order"
    outbox.mkdir(parents=True)
    # What a run killed while it wrote a batch into the outbox leaves: its temp files.
    dead = outbox / f".ORDER_1001.xml.{os.getpid() + 1}-0badc0de.part"
    dead.write_bytes(b"<Order>half of one")
    store = LocalStore("erp", settings.stores["erp"])  # type: ignore[arg-type]
    try:
        summary = export_orders(settings, book, spool, store, layout, lambda: NOW)
    finally:
        book.close()
    assert summary.files == []
    assert [p.name for p in outbox.iterdir()] == []
