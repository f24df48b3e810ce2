"""`run.py migrate-state`: a VM home really run on SQLite and local folders, moved to a real
PostgreSQL and a real S3 API (moto), carries on where the VM stopped.

The proof is a twin: a copy of the stopped VM home that stays on the VM's settings. The ERP
drops the same next files into both; the moved home's `once` must say exactly what the
twin's says (nothing committed, exported or sent twice; the same delta against the
snapshot), and its `status` and `trace` show the runs of the VM.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from etl.config.settings import load_settings
from etl.state.archive import LocalArchive
from etl.state.blob_archive import AREA, BlobArchive
from etl.state.blob_batches import BlobBatches
from etl.state.blobs import open_blobs
from etl.state.ledger import catalog, dialect
from etl.state.ledger.connection import LedgerAt, read_only
from etl.state.ledger.postgres import PostgresAt
from tests.support.s3 import SECRET, S3Bucket
from tests.support.vm_home import (
    ORDER_REF,
    next_day,
    run,
    scale_out_environ,
    scale_out_toml,
    twin_of,
)


def _ledger_rows(at: LedgerAt) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, with the rowid of the tables read in insertion order."""
    db = read_only(at)
    assert db is not None, f"no ledger at {at}"
    try:
        found = {}
        for table in catalog.tables(db):
            names = [c for c in catalog.columns(db, table) if c != "rowid"]
            listed = ", ".join([*names, *(["rowid"] if table in dialect.ROWID_TABLES else [])])
            rows = db.execute(f"SELECT {listed} FROM {table}").fetchall()
            found[table] = sorted((tuple(r) for r in rows), key=repr)
        return found
    finally:
        db.close()


def test_a_moved_home_carries_on_where_the_vm_stopped(
    vm_home: Path, tmp_path: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    twin = twin_of(vm_home, tmp_path / "twin")
    vm_rows = _ledger_rows(vm_home / "state" / "ledger.sqlite")
    on_disk = LocalArchive(twin / "archive")
    vm_runs = [r.relative_to(twin / "archive") for r in on_disk.runs("products")]
    scale_out_toml(vm_home, s3_bucket)
    environ = scale_out_environ(postgres_at.dsn)

    code, out = run(vm_home, "migrate-state", environ=environ)

    assert code == 0, out
    assert postgres_at.dsn not in out and SECRET not in out
    assert "checksum" in out and "every table's rows and checksum verified" in out
    assert _ledger_rows(postgres_at) == vm_rows  # every table, every row, ids kept
    keys = s3_bucket.listed_keys("shop1/")
    for area in (
        "archive/products/",
        "state/snapshots/products/",
        "state/spool/orders/",
        "outbox/norce/order_status/",
    ):
        assert any(k.startswith(f"shop1/{area}") for k in keys), area
    # The exported order files too, under their home-relative keys (purge and forget on any
    # machine find them there).
    exported = vm_home / "archive" / "orders" / "exported"
    files = [p.relative_to(vm_home).as_posix() for p in exported.rglob("*.csv")]
    assert files and all(f"shop1/{f}" in keys for f in files)

    # The next day on both: the moved home says what the VM would have said, word for word,
    # with its snapshots read from the bucket (the local folder is only a cache there).
    shutil.rmtree(vm_home / "state" / "snapshots")
    next_day(vm_home)
    next_day(twin)
    moved_code, moved = run(vm_home, "once", environ=environ)
    twin_code, stayed = run(twin, "once")
    assert (moved_code, moved) == (twin_code, stayed)
    assert (
        "products_20261123.csv: committed (rows 15, accepted 15, rejected 0, adds 0, changes 1"
        in moved
    )
    assert "products_20261120.csv: skipped: already committed" in moved
    assert "orders -> erp_csv: 0 file(s), 0 order(s)" in moved  # the order is not exported again
    # The runs PostgreSQL numbered after the move come after every run of the VM.
    vm_numbers = {row[0]: row[-1] for row in vm_rows["runs"]}
    new_numbers = [r[-1] for r in _ledger_rows(postgres_at)["runs"] if r[0] not in vm_numbers]
    assert new_numbers and min(new_numbers) > max(vm_numbers.values())

    # Old runs are there for the operator: status, trace, and the archive's runs in the bucket.
    vm_products = sorted(row[0] for row in vm_rows["runs"] if row[1] == "products")
    status = json.loads(run(vm_home, "status", "--json", "--limit", "50", environ=environ)[1])
    shown = json.dumps(status)
    assert len(vm_products) == 3 and all(run_id in shown for run_id in vm_products)
    traced = run(vm_home, "trace", "100123", environ=environ)[1]
    assert f"run {vm_products[0]}  products_20261120.csv line" in traced
    assert ORDER_REF in run(vm_home, "trace", ORDER_REF, environ=environ)[1]
    settings = load_settings(vm_home / "etl.toml", environ, vm_home)
    archive = vm_home / "archive"
    in_bucket = BlobArchive(archive, open_blobs(settings.storage, AREA, archive))
    moved_runs = [r.relative_to(archive) for r in in_bucket.runs("products")]
    assert len(vm_runs) == 3 and set(vm_runs) < set(moved_runs)  # and the new day's run
    norce = open_blobs(settings.storage, "outbox/norce", vm_home / "outbox" / "norce")
    assert BlobBatches(norce).published("prices") == ["prices/prices_20261120-d34b064d51b3"]
    first = vm_runs[0]
    assert in_bucket.read_manifest(archive / first) == on_disk.read_manifest(
        twin / "archive" / first
    )


def test_a_dry_run_says_what_would_move_and_moves_nothing(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    scale_out_toml(vm_home, s3_bucket)
    code, out = run(
        vm_home, "migrate-state", "--dry-run", environ=scale_out_environ(postgres_at.dsn)
    )

    assert code == 0, out
    assert "ledger: would copy" in out and "runs " in out
    assert "folder archive/" in out and "folder state/snapshots/" in out and "bytes" in out
    assert s3_bucket.listed_keys() == []
    assert read_only(postgres_at) is None  # not even the schema was made


def test_folders_a_dead_run_left_staged_after_its_commit_are_published(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    # What a process killed between its commit and its rename leaves: the folder staged.
    folder = LocalArchive(vm_home / "archive").runs("products")[0]
    folder.rename(folder.with_name(f".{folder.name}.part"))
    [batch] = (vm_home / "outbox" / "norce" / "prices").iterdir()
    prices_run = LocalArchive(vm_home / "archive").runs("prices")[0].name
    staged = vm_home / "outbox" / ".norce" / f".{prices_run}.part" / "prices"
    staged.mkdir(parents=True)
    batch.rename(staged / batch.name)
    scale_out_toml(vm_home, s3_bucket)
    environ = scale_out_environ(postgres_at.dsn)

    code, out = run(vm_home, "migrate-state", environ=environ)

    assert code == 0, out
    assert f"published as archive/products/{folder.parent.name}/{folder.name}" in out
    settings = load_settings(vm_home / "etl.toml", environ, vm_home)
    archive = vm_home / "archive"
    in_bucket = BlobArchive(archive, open_blobs(settings.storage, AREA, archive))
    assert folder in in_bucket.runs("products")
    assert in_bucket.read_manifest(folder).run_id == folder.name
    norce = BlobBatches(open_blobs(settings.storage, "outbox/norce", vm_home / "outbox" / "norce"))
    assert norce.published("prices") == [f"prices/{batch.name}"]
    assert (norce.mark(f"prices/{batch.name}") or {})["run"] == prices_run
