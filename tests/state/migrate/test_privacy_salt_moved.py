"""`migrate-state` carries the VM's privacy salt into the ledger's `privacy_salt` row.

The VM's purge noted each purged order body's buyer as HMACs keyed by its salt
(`state/privacy/salt`); after the move every machine hashes with the ledger's row, so the
row must be the VM's salt or `forget` no longer finds the orders whose bodies are gone.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest

from etl.config.contract_files import load_contracts
from etl.config.settings import load_settings
from etl.retention.purge import purge_all
from etl.state.ledger.connection import connect, transaction
from etl.state.ledger.postgres import PostgresAt
from tests.support.s3 import S3Bucket
from tests.support.vm_home import ORDER_REF, run, scale_out_environ, scale_out_toml

OTHER_SALT = "ab" * 32
REFUSED = 3  # the exit code of a refused move


def _purge_order_bodies(vm_home: Path) -> None:
    """The VM's purge, a year on, with order bodies kept 1 day: the booked order's body goes."""
    settings = load_settings(vm_home / "etl.toml", {}, vm_home)
    archive = settings.archive.model_copy(update={"orders_retention_days": 1})
    settings = settings.model_copy(update={"archive": archive})
    purge_all(settings, load_contracts(settings), dt.datetime.now(dt.UTC) + dt.timedelta(days=365))
    assert not list((vm_home / "state" / "spool" / "orders").glob(f"{ORDER_REF}-*.json"))
    db = sqlite3.connect(vm_home / "state" / "ledger.sqlite")
    try:
        assert db.execute("SELECT COUNT(*) FROM order_buyers").fetchone()[0] > 0
    finally:
        db.close()


def _worker(vm_home: Path) -> Path:
    """Another machine with the very same settings file and no state of its own."""
    home = vm_home.parent / "worker1"
    home.mkdir()
    shutil.copy(vm_home / "etl.toml", home / "etl.toml")
    return home


def test_forget_after_the_move_finds_an_order_whose_body_the_vm_purged(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    _purge_order_bodies(vm_home)
    salt = (vm_home / "state" / "privacy" / "salt").read_text(encoding="ascii").strip()
    scale_out_toml(vm_home, s3_bucket)
    environ = scale_out_environ(postgres_at.dsn)
    code, out = run(vm_home, "migrate-state", environ=environ)
    assert code == 0, out

    code, out = run(_worker(vm_home), "forget", "--customer", "C-000123", environ=environ)

    assert code == 0 and f"1 order(s) ({ORDER_REF})" in out, out
    db = connect(postgres_at)
    try:
        assert [tuple(r) for r in db.execute("SELECT salt FROM privacy_salt")] == [(salt,)]
    finally:
        db.close()


def _seed_salt(at: PostgresAt, salt: str) -> None:
    """A machine on the new settings asked for the salt before the move: the row is there."""
    db = connect(at)
    try:
        with transaction(db):
            db.execute("INSERT INTO privacy_salt VALUES (1, ?)", (salt,))
    finally:
        db.close()


def _salt_file(vm_home: Path) -> str:
    folder = vm_home / "state" / "privacy"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "salt").write_text("cd" * 32, encoding="ascii")
    return "cd" * 32


def test_a_target_holding_only_the_very_same_salt_is_moved_into(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    _seed_salt(postgres_at, _salt_file(vm_home))
    scale_out_toml(vm_home, s3_bucket)

    code, out = run(vm_home, "migrate-state", environ=scale_out_environ(postgres_at.dsn))

    assert code == 0 and "privacy salt: state/privacy/salt carried" in out, out


def test_a_target_holding_another_salt_is_refused_saying_why(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket, caplog: pytest.LogCaptureFixture
) -> None:
    _salt_file(vm_home)
    _seed_salt(postgres_at, OTHER_SALT)
    scale_out_toml(vm_home, s3_bucket)

    code, out = run(vm_home, "migrate-state", environ=scale_out_environ(postgres_at.dsn))

    assert code == REFUSED, out
    assert "holds a privacy salt (privacy_salt) that is not this home's" in caplog.text
    assert s3_bucket.listed_keys("shop1/") == []  # refused before anything was written
