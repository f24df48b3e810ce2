"""A move that dies half-way, the docs' move procedure, the personal data a move leaves, and a
receiver started while object storage is down (the R-SCALE review's cases).

A real PostgreSQL and moto's S3 server; the VM home made by really running the product.
"""

from __future__ import annotations

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
from tests.support.vm_home import another_machine, moved, run, scale_out_environ, scale_out_toml

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


def test_forget_after_migrate_leaves_no_exported_order_file_with_the_person_in_the_bucket(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    scale_out_toml(vm_home, s3_bucket)
    environ = scale_out_environ(postgres_at.dsn)
    code, out = run(vm_home, "migrate-state", environ=environ)
    assert code == 0, out
    assert "archive/orders/ and archive/parties/ stay on this disk" in out, out
    worker = another_machine(vm_home, "worker1")

    code, out = run(worker, "forget", "--customer", "C-000123", environ=environ)

    assert code == 0, out
    assert _holding(s3_bucket, "shop1/archive/orders/", PERSON) == [], out
    assert s3_bucket.listed_keys("shop1/archive/parties/") == []


def test_purge_after_migrate_removes_exported_order_files_past_retention_from_the_bucket(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    moved(vm_home, s3_bucket, postgres_at, "[archive]\norders_retention_days = 1\n")
    # Nothing of the order area goes to the bucket: the VM's disk keeps it, where purge and
    # forget on the VM (as the docs say) reach it.
    assert s3_bucket.listed_keys("shop1/archive/orders/") == []
    assert [
        p
        for p in (vm_home / "archive" / "orders").rglob("*")
        if PERSON.encode() in (p.read_bytes() if p.is_file() else b"")
    ]


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
