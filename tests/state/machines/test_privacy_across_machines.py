"""Personal data on several machines sharing a ledger (PostgreSQL) and a bucket (S3).

A VM home made by really running the product (tests.support.vm_home), moved with
`run.py migrate-state`; the other "machines" are homes with the very same etl.toml.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import etl.cli
from etl.state.blob_snapshots import AREA, BlobSnapshotStore
from etl.state.blobs import open_blobs
from etl.state.ledger.postgres import PostgresAt
from tests.support.s3 import S3Bucket
from tests.support.vm_home import (
    another_machine,
    make_vm_home,
    moved,
    run,
    twin_of,
)

PERSON = b"Andersson"  # the VM's exported order 7000001 (tests.support.orders.order)


@pytest.fixture(scope="session")
def vm_home_made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A VM home after its life (made once per test process; never moved itself)."""
    return make_vm_home(tmp_path_factory.mktemp("vm") / "home")


@pytest.fixture
def vm_home(vm_home_made: Path, tmp_path: Path) -> Path:
    """This test's copy of the VM home."""
    return twin_of(vm_home_made, tmp_path / "vm")


def _files_holding(home: Path, value: bytes) -> list[Path]:
    return sorted(p for p in home.rglob("*") if p.is_file() and value in p.read_bytes())


def _killed_forget(worker: Path, environ: dict[str, str]) -> None:
    """`run.py forget` in a process of its own, SIGKILL'd as the erasure starts.

    By then the bucket's bodies are on this disk (etl.state.spool_copies.spools_on_disk).
    """
    script = textwrap.dedent(
        f"""
        import os, signal
        import etl.privacy.forget as forget
        forget._erase = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        from etl.cli import main
        main(["--config", {str(worker / "etl.toml")!r}, "--home", {str(worker)!r},
              "forget", "--customer", "C-999999"])
        """
    )
    died = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **environ},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert died.returncode == -signal.SIGKILL, died.stderr


@pytest.mark.slow
def test_a_forget_killed_mid_way_leaves_no_body_on_the_disk_after_the_next_purge(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    environ = moved(vm_home, s3_bucket, postgres_at)
    worker = another_machine(vm_home, "worker1")
    _killed_forget(worker, environ)
    assert _files_holding(worker / "state", PERSON), "the kill came before any body was copied"
    # The copies are not in the spool folder, where a run would take them as bodies.
    spool = worker / "state" / "spool"
    assert [p for p in spool.rglob("*") if p.is_file()] == []

    code, out = run(worker, "purge", environ=environ)

    assert code == 0, out
    assert _files_holding(worker / "state", PERSON) == []


@pytest.mark.slow
def test_a_forget_after_a_killed_one_removes_its_copies(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    environ = moved(vm_home, s3_bucket, postgres_at)
    worker = another_machine(vm_home, "worker1")
    _killed_forget(worker, environ)

    code, out = run(worker, "forget", "--customer", "C-999999", "--dry-run", environ=environ)

    assert code == 0, out
    assert _files_holding(worker / "state", PERSON) == []


def test_forget_on_one_machine_leaves_no_unmasked_snapshot_in_another_machines_cache(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    environ = moved(vm_home, s3_bucket, postgres_at)
    a, b = another_machine(vm_home, "worker_a"), another_machine(vm_home, "worker_b")
    customers = vm_home / "erp" / "customers"
    sample = next(customers.rglob("kunder_20261120.csv")).read_bytes()
    (customers / "kunder_20261121.csv").write_bytes(sample.replace(b"08-123 45 67", b"08-999"))
    (customers / "kunder_20261121.csv.done").write_bytes(b"")
    code, out = run(a, "once", "--feed", "customers", environ=environ)
    assert code == 0 and "customers: kunder_20261121.csv: committed" in out, out
    cache_a = a / "state" / "snapshots"
    cached = [p.relative_to(cache_a) for p in cache_a.glob("customers/*.parquet")]
    assert any(b"Dahl" in (cache_a / p).read_bytes() for p in cached)

    code, out = run(b, "forget", "--customer", "K-1004", environ=environ)

    assert code == 0 and "state/snapshots/customers: masked" in out, out
    assert "other machines' snapshot caches" in out, out  # named under "Not erased here"
    assert _files_holding(b / "state", b"Dahl") == []  # nothing kept on the machine that forgot
    # A's next diff reads the masked snapshot, though its copy is as long as the object.
    store_a = BlobSnapshotStore(
        cache_a, open_blobs(s3_bucket.settings("shop1"), AREA, cache_a), postgres_at
    )
    assert [p for p in cached if b"Dahl" in store_a.path(p.as_posix()).read_bytes()] == []


def test_forget_on_one_worker_finds_the_orders_a_purge_on_another_worker_removed(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = moved(vm_home, s3_bucket, postgres_at, "[archive]\norders_retention_days = 1\n")
    a, b = another_machine(vm_home, "worker_a"), another_machine(vm_home, "worker_b")
    real = etl.cli.utc_now
    monkeypatch.setattr(etl.cli, "utc_now", lambda: real() + dt.timedelta(days=10))
    code, out = run(a, "purge", environ=environ)
    assert code == 0 and "spool/orders: removed 1 bodies" in out, out

    _, on_a = run(a, "forget", "--customer", "C-000123", "--dry-run", environ=environ)
    _, on_b = run(b, "forget", "--customer", "C-000123", "--dry-run", environ=environ)

    assert "1 order(s) (7000001)" in on_a, on_a
    # The same shop, the same ledger and bucket: the same erasure, whichever machine asks.
    assert on_b == on_a
