"""A real `run.py once` killed with SIGKILL between the upload of an order file and its commit.

The order file is on the ERP's SFTP server under its final name (and its done marker beside
it), but the order book still holds the export as begun. The next run must settle it by
looking at the server, not upload it again: afterwards each order is in exactly one file
per layout, the order is `exported`, and `run.py orders` lists it once.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from etl.config.settings import load_settings
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import open_inbound
from tests.fixtures.orders import sample_body
from tests.support.masterdata import signal_at_commit_point
from tests.support.paths import REPO, SCHEMAS
from tests.support.sftp_server import SftpServerInfo

REFS = ("1001", "1002")
PASSWORD_ENV = "EXPORT_KILL_SFTP_PASSWORD"


@pytest.fixture
def erp_root(tmp_path: Path) -> Path:
    """An empty ERP server: the only files on it are the ones the export puts there."""
    root = tmp_path / "erp"
    root.mkdir()
    return root


def _config(home: Path, sftp: SftpServerInfo, pause: float) -> Path:
    """Settings for the order layouts on the real SFTP server, host key pinned."""
    path = home / f"etl-{pause:g}.toml"
    path.write_text(
        f'home = "."\nschemas_dir = "schemas"\npause_before_commit_seconds = {pause}\n'
        f'[stores.erp]\nkind = "sftp"\nhost = "{sftp.host}"\nport = {sftp.port}\n'
        f'username = "{sftp.username}"\nknown_hosts = "{sftp.known_hosts_path}"\n'
        f'password_env = "{PASSWORD_ENV}"\ntimeout_seconds = 5\n',
        encoding="utf-8",
    )
    return path


def _run(home: Path, config: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(REPO / "run.py"), "--config", str(config), *args],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finished(process: subprocess.Popen[str]) -> str:
    """Wait for a run; its stdout (it must exit 0)."""
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err
    return out


def _remote(root: Path) -> dict[str, tuple[int, bytes]]:
    """Files in a server folder: name -> (inode, bytes); a new upload gets a new inode."""
    if not root.is_dir():
        return {}
    return {p.name: (p.stat().st_ino, p.read_bytes()) for p in sorted(root.iterdir())}


@pytest.mark.slow
def test_kill_between_upload_and_commit_exports_each_order_once(
    tmp_path: Path, sftp: SftpServerInfo
) -> None:
    home = tmp_path / "home"
    shutil.copytree(SCHEMAS / "orders", home / "schemas" / "orders")
    env = {**os.environ, PASSWORD_ENV: sftp.password}
    paused, clean = _config(home, sftp, pause=30), _config(home, sftp, pause=0)
    inbound = open_inbound(load_settings(clean, env))
    try:
        for ref in REFS:  # as the receiver would: spooled, booked, due for every layout
            answer = inbound.accept(sample_body(f"order_{ref}"), "application/json", "push")
            assert answer.status == 200
    finally:
        inbound.book.close()
    csv_dir, ubl_dir = sftp.root / "orders" / "in", sftp.root / "orders" / "ubl"

    killed = _run(home, paused, env, "once")
    log = signal_at_commit_point(killed, signal.SIGKILL)
    assert killed.wait(timeout=10) == -signal.SIGKILL

    # erp_csv (the first layout) was cut off after its upload, before its commit.
    match = re.search(r"orders erp_csv: (ORDERS_\d{8}_1001_2\.csv) \(2 orders, \d+ bytes\)", log)
    assert match, log
    name = match.group(1)
    uploaded = _remote(csv_dir)
    assert sorted(uploaded) == [name, f"{name}.done"]
    assert _remote(ubl_dir) == {}
    book = OrderBook(home / "state" / "ledger.sqlite")
    try:
        [cut_off] = book.unfinished_exports("erp_csv")
        assert (cut_off.file_name, cut_off.state, cut_off.refs) == (name, "uploading", REFS)
        assert [o.state for o in book.orders()] == ["spooled", "spooled"]
    finally:
        book.close()

    out = _finished(_run(home, clean, env, "once"))

    assert f"orders -> erp_csv: 0 file(s), 0 order(s); settled by lookup: {name}" in out
    assert "orders -> peppol_order: 2 file(s), 2 order(s)" in out
    assert _remote(csv_dir) == uploaded  # the same file, not uploaded again
    assert sorted(_remote(ubl_dir)) == ["ORDER_1001.xml", "ORDER_1002.xml"]
    book = OrderBook(home / "state" / "ledger.sqlite")
    try:
        assert book.unfinished_exports("erp_csv") == []
        assert [(o.ref, o.state) for o in book.orders()] == [
            ("1001", "exported"),
            ("1002", "exported"),
        ]
        assert sorted((e.layout, e.file_name, e.state) for e in book.exports("1001")) == [
            ("erp_csv", name, "done"),
            ("peppol_order", "ORDER_1001.xml", "done"),
        ]
    finally:
        book.close()
    listed = _finished(_run(home, clean, env, "orders")).splitlines()
    rows = [line.split() for line in listed if re.search(r"\b100[12]\b", line)]
    assert [row[1:] for row in rows] == [  # newest first
        ["1002", "push", "exported", "erp_csv,", "peppol_order"],
        ["1001", "push", "exported", "erp_csv,", "peppol_order"],
    ]
    # The file went to the archive once, byte for byte what the ERP has.
    archived = list((home / "archive" / "orders" / "exported" / "erp_csv").rglob("ORDERS_*"))
    assert [(p.name, p.read_bytes()) for p in archived] == [(name, uploaded[name][1])]
