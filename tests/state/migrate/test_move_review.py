"""A move that dies half-way, the docs' move procedure, the personal data a move leaves, and a
receiver started while object storage is down (the R-SCALE review's cases).

A real PostgreSQL and moto's S3 server; the VM home made by really running the product.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from etl.config.settings import ReceiverSettings, Settings, load_settings
from etl.state.ledger.postgres import PostgresAt
from tests.support.orders import encode, order
from tests.support.paths import REPO
from tests.support.receiver import PASSWORD, USER, bound_socket, running, serving
from tests.support.s3 import S3Bucket
from tests.support.vm_home import (
    another_machine,
    moved,
    run,
    scale_out_environ,
    scale_out_toml,
    twin_of,
)

PERSON = "Andersson"  # the VM's exported order 7000001 (tests.support.orders.order)
MOVING = "shop1/state/moving"


def _receiving(home: Path, environ: dict[str, str]) -> Settings:
    settings = load_settings(home / "etl.toml", environ, home)
    receiver = ReceiverSettings(username=USER, password=SecretStr(PASSWORD))
    return settings.model_copy(update={"receiver": receiver})


def _holding(bucket: S3Bucket, prefix: str, value: str) -> list[str]:
    return sorted(k for k, b in bucket.objects(prefix).items() if value.encode() in b)


def test_a_receiver_started_after_a_move_died_does_not_export_the_vms_orders_again(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket, caplog: pytest.LogCaptureFixture
) -> None:
    scale_out_toml(vm_home, s3_bucket)
    environ = scale_out_environ(postgres_at.dsn)
    script = textwrap.dedent(
        f"""
        import os, signal
        import etl.state.migrate.move as move
        move.copy_ledger = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        from etl.cli import main
        main(["--config", {str(vm_home / "etl.toml")!r}, "--home", {str(vm_home)!r},
              "migrate-state"])
        """
    )
    died = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **environ},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    assert s3_bucket.listed_keys("shop1/state/spool/orders/")  # the folders went first
    assert s3_bucket.listed_keys(MOVING) == [MOVING]

    worker = another_machine(vm_home, "worker1")
    # A receiver on the new settings refuses to start while the move is unfinished.
    refused = pytest.raises(AssertionError, match="stopped during")
    with (
        caplog.at_level(logging.ERROR),
        refused,
        serving(_receiving(worker, environ), bound_socket()),
    ):
        pass
    assert "a move of state into this bucket is in progress" in caplog.text
    # So does a run: it would book the VM's bodies into the empty ledger as well.
    caplog.clear()
    code, out = run(worker, "once", environ=environ)
    assert code != 0 and "a move of state into this bucket is in progress" in caplog.text, out
    # Run again, the move finishes and takes its mark away; receivers and workers may start.
    code, out = run(vm_home, "migrate-state", environ=environ)
    assert code == 0, out
    assert s3_bucket.listed_keys(MOVING) == []
    with running(_receiving(worker, environ)) as served:
        assert served.post(encode(order("7000002"))).status_code == httpx.codes.OK
    code, out = run(worker, "once", environ=environ)

    sent = list((vm_home / "erp" / "orders" / "in").glob("*.csv"))
    lines = [x for p in sent for x in p.read_bytes().splitlines()]
    assert len([x for x in lines if x.startswith(b"H;7000001;")]) == 1, (out, sent)
    assert len([x for x in lines if x.startswith(b"H;7000002;")]) == 1, (out, sent)


def test_migrate_state_after_the_new_receivers_took_orders_refuses_without_unsafe_advice(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket, caplog: pytest.LogCaptureFixture
) -> None:
    receiver_home = another_machine(vm_home, "receiver1")
    scale_out_toml(receiver_home, s3_bucket)
    environ = scale_out_environ(postgres_at.dsn)
    with running(_receiving(receiver_home, environ)) as served:
        answer = served.post(encode(order("7000099")))
        assert answer.status_code == httpx.codes.OK, answer.text

    scale_out_toml(vm_home, s3_bucket)
    with caplog.at_level(logging.ERROR):
        code, out = run(vm_home, "migrate-state", environ=environ)

    assert code == 3, out
    said = caplog.text
    assert "in orders (1)" in said and "answered orders OK" in said, said
    assert "empty database" not in said and "do not empty" in said, said
    # The documented procedure moves first, and points Norce at the receivers last.
    procedure = (REPO / "docs" / "scale-out.md").read_text(encoding="utf-8")
    section = procedure.split("## Moving a one-VM installation over", 1)[1].split("\n## ", 1)[0]
    assert section.index("migrate-state") < section.index("Point Norce"), section


def test_forget_after_migrate_masks_the_exported_order_files_the_move_put_in_the_bucket(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    # What `forget` makes of them on the VM's own disk, on a copy that stays on its settings.
    twin = twin_of(vm_home, tmp_path / "twin")
    code, on_the_vm = run(twin, "forget", "--customer", "C-000123")
    assert code == 0, on_the_vm
    exported = twin / "archive" / "orders" / "exported"
    on_disk = {f"shop1/{p.relative_to(twin).as_posix()}": p.read_bytes()
               for p in exported.rglob("*") if p.is_file()}  # fmt: skip
    scale_out_toml(vm_home, s3_bucket)
    environ = scale_out_environ(postgres_at.dsn)
    code, out = run(vm_home, "migrate-state", environ=environ)
    assert code == 0, out
    assert "stay on this disk" not in out, out
    # The VM's exported order files went to the bucket under their home-relative keys.
    assert s3_bucket.listed_keys("shop1/archive/orders/exported/") == sorted(on_disk), out
    assert _holding(s3_bucket, "shop1/archive/orders/exported/erp_csv/", PERSON), out
    worker = another_machine(vm_home, "worker1")  # nothing of the VM's on its disk

    code, out = run(worker, "forget", "--customer", "C-000123", environ=environ)

    assert code == 0, out
    # The CSV's 6 (first and last name, street, postal code, city, e-mail); the PEPPOL file's
    # 10 (the two words of its three names, the delivery address's street, city and postal
    # code, the e-mail: forget by code knows it from the order holding the code). The seller's
    # address (the shop's, in her city and postal code) stays. The same count as on the VM's disk.
    said_on_the_vm, said_here = _said(on_the_vm, "archive/orders:"), _said(out, "archive/orders:")
    assert said_here == said_on_the_vm, (on_the_vm, out)
    assert said_here == ["archive/orders: masked 16 value(s) in 2 file(s)"], (on_the_vm, out)
    assert _holding(s3_bucket, "shop1/archive/orders/exported/", PERSON) == [], out
    # Masked in the bucket as on the disk, byte for byte.
    assert s3_bucket.objects("shop1/archive/orders/exported/") == on_disk
    assert "the ERP's server: 2 file(s) we uploaded held the person" in out, out
    assert not (worker / "archive" / "orders").exists()


def _said(out: str, start: str) -> list[str]:
    """The lines of `out` that start with `start` (indentation left out)."""
    return [line.strip() for line in out.splitlines() if line.strip().startswith(start)]


def test_purge_after_migrate_removes_exported_order_files_past_retention_from_the_bucket(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    # The VM's order files were exported long ago: their day folders are past the retention.
    exported = vm_home / "archive" / "orders" / "exported"
    for layout in ("erp_csv", "peppol_order"):
        [day] = list((exported / layout).iterdir())
        day.rename(exported / layout / "2026-01-05")
    environ = moved(vm_home, s3_bucket, postgres_at, "[archive]\norders_retention_days = 1\n")
    old = "shop1/archive/orders/exported/erp_csv/2026-01-05/"
    [file] = _holding(s3_bucket, old, PERSON)
    worker = another_machine(vm_home, "worker1")

    code, dry = run(worker, "purge", "--dry-run", environ=environ)
    assert code == 0 and "orders/exported/erp_csv: would purge 1 folder(s): 1 file(s)" in dry, dry
    assert s3_bucket.listed_keys(old) == [file]
    code, out = run(worker, "purge", environ=environ)

    assert code == 0 and "orders/exported/erp_csv: purged 1 folder(s): 1 file(s)" in out, out
    assert "orders/exported/peppol_order: purged 1 folder(s): 1 file(s)" in out, out
    assert _holding(s3_bucket, "shop1/archive/orders/", PERSON) == [], out
    # The day folder keeps its manifest, naming what went (as on the disk).
    manifest = json.loads(s3_bucket.objects(old)[old + "manifest.json"])
    assert [e["name"] for e in manifest["purged"]] == [file.rsplit("/", 1)[-1]]
    assert (manifest["layout"], manifest["day"]) == ("erp_csv", "2026-01-05")
    code, again = run(worker, "purge", environ=environ)
    assert "orders/exported/erp_csv: purged 0 folder(s)" in again, again
    assert "1 purged before" in again, again


def test_a_receiver_started_while_object_storage_is_down_answers_503(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket, caplog: pytest.LogCaptureFixture
) -> None:
    environ = moved(vm_home, s3_bucket, postgres_at)
    home = another_machine(vm_home, "receiver1")
    with socket.socket() as closed:  # a port nothing listens on: the store is down
        closed.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{closed.getsockname()[1]}"
    text = (home / "etl.toml").read_text(encoding="utf-8").replace(s3_bucket.endpoint, down)
    (home / "etl.toml").write_text(text, encoding="utf-8")

    with caplog.at_level(logging.ERROR), running(_receiving(home, environ)) as served:
        answer = served.post(encode(order("7000077")))
    assert answer.status_code == httpx.codes.SERVICE_UNAVAILABLE, answer.text
    assert "spooled orders not recovered at start" in caplog.text, caplog.text
