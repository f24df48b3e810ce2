"""A real `run.py once` on machine A killed with SIGKILL after its upload, finished by machine B.

Two homes with the same settings file: the ledger on the real PostgreSQL, `[storage] backend =
"s3"` on moto's S3 server, the ERP's real SFTP server. A's run is killed while it waits before
the commit of its first order file (on the server under its final name), and the ERP takes the
file away before anyone looks. B's `once` must see, from the bucket, that the ERP had it: the
file is not uploaded again, the orders are exported once, and the bucket's outbox is empty.
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
from etl.state.ledger.postgres import PostgresAt
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import open_inbound
from tests.fixtures.orders import sample_body
from tests.support.masterdata import signal_at_commit_point
from tests.support.paths import REPO, SCHEMAS
from tests.support.s3 import KEY_ID, REGION, SECRET, S3Bucket
from tests.support.sftp_server import SftpServerInfo

PREFIX = "shop1"


@pytest.fixture
def erp_root(tmp_path: Path) -> Path:
    """An empty ERP server: the only files on it are the ones the export puts there."""
    root = tmp_path / "erp"
    root.mkdir()
    return root


def _settings_file(home: Path, sftp: SftpServerInfo, bucket: S3Bucket, pause: float) -> Path:
    """The settings every machine shares, with `pause` s of waiting before each commit."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SCHEMAS / "orders", home / "schemas" / "orders", dirs_exist_ok=True)
    path = home / f"etl-{pause:g}.toml"
    path.write_text(
        f'home = "."\nschemas_dir = "schemas"\npause_before_commit_seconds = {pause}\n'
        f'[stores.erp]\nkind = "sftp"\nhost = "{sftp.host}"\nport = {sftp.port}\n'
        f'username = "{sftp.username}"\nknown_hosts = "{sftp.known_hosts_path}"\n'
        'password_env = "KILL2_SFTP_PASSWORD"\ntimeout_seconds = 5\n'
        '[state]\nbackend = "postgresql"\ndsn_env = "KILL2_DSN"\n'
        f'[storage]\nbackend = "s3"\nbucket = "{bucket.name}"\nprefix = "{PREFIX}"\n'
        f'endpoint_url = "{bucket.endpoint}"\nregion = "{REGION}"\nretry_seconds = 0\n'
        'access_key_id_env = "KILL2_KEY_ID"\nsecret_access_key_env = "KILL2_SECRET"\n',
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


def _remote(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


@pytest.mark.slow
def test_a_file_the_erp_took_from_a_killed_machine_is_not_sent_again_by_another(
    tmp_path: Path, sftp: SftpServerInfo, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    env = {
        **os.environ,
        "KILL2_SFTP_PASSWORD": sftp.password,
        "KILL2_DSN": shared_ledger.dsn,
        "KILL2_KEY_ID": KEY_ID,
        "KILL2_SECRET": SECRET,
    }
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    paused = _settings_file(home_a, sftp, s3_bucket, pause=30)
    clean_b = _settings_file(home_b, sftp, s3_bucket, pause=0)
    inbound = open_inbound(load_settings(paused, env))  # received on A: bodies on A's disk
    try:
        for ref in ("1001", "1002"):
            answer = inbound.accept(sample_body(f"order_{ref}"), "application/json", "push")
            assert answer.status == 200
    finally:
        inbound.book.close()

    killed = _run(home_a, paused, env, "once")
    log = signal_at_commit_point(killed, signal.SIGKILL)
    assert killed.wait(timeout=10) == -signal.SIGKILL
    match = re.search(r"orders erp_csv: (ORDERS_\d{8}_1001_2\.csv) \(2 orders", log)
    assert match, log
    name = match.group(1)
    csv_dir = sftp.root / "orders" / "in"
    assert sorted(_remote(csv_dir)) == [name, f"{name}.done"]
    for path in csv_dir.iterdir():  # the ERP takes the file and its marker
        path.unlink()

    out, err = _run(home_b, clean_b, env, "once").communicate(timeout=60)

    assert f"orders -> erp_csv: 0 file(s), 0 order(s); settled by lookup: {name}" in out, err
    assert _remote(csv_dir) == {}  # not uploaded again
    book = OrderBook(shared_ledger)
    try:
        assert book.unfinished_exports("erp_csv") == []
        assert [(e.file_name, e.state) for e in book.exports("1001") if e.layout == "erp_csv"] == [
            (name, "done")
        ]
    finally:
        book.close()
    assert s3_bucket.listed_keys(f"{PREFIX}/outbox/erp/erp_csv/") == []
    # Archived once, in the bucket (every machine's purge and forget reach it there).
    archived = s3_bucket.listed_keys(f"{PREFIX}/archive/orders/exported/erp_csv/")
    assert [key.rsplit("/", 1)[-1] for key in archived] == [name]
    assert not (home_b / "archive" / "orders").exists()
