"""Receivers on several machines: bodies on object storage, orders booked in PostgreSQL.

Every home here stands for a machine (its own folder) with the same settings: the ledger on
the session's real PostgreSQL, `[storage] backend = "s3"` on moto's real S3 server. What one
machine received, another with an empty disk must find, book once and export.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from etl.config.settings import Settings, load_settings
from etl.runtime import Runtime
from etl.state.areas import Areas
from etl.state.blob_spool import open_spool
from etl.state.ledger.postgres import PostgresAt
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import Answer, open_inbound
from etl.to_erp.orders.jobs import export_once
from tests.support.receiver_cluster import PREFIX, environ, order_body, shared_home
from tests.support.s3 import S3Bucket

SPOOL = f"{PREFIX}/state/spool/orders/"
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


def _machine(tmp_path: Path, name: str, bucket: S3Bucket, at: PostgresAt) -> Settings:
    erp = tmp_path / "erp"
    erp.mkdir(exist_ok=True)
    config = shared_home(tmp_path / name, erp, bucket)
    return load_settings(config, environ(at.dsn), config.parent)


def _receive(settings: Settings, body: bytes) -> Answer:
    inbound = open_inbound(settings)
    try:
        return inbound.accept(body, "application/json", "push")
    finally:
        inbound.book.close()


def _book(at: PostgresAt) -> OrderBook:
    return OrderBook(at)


def test_an_order_received_on_one_machine_is_exported_from_another_with_an_empty_disk(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    receiver = _machine(tmp_path, "receiver", s3_bucket, shared_ledger)
    worker = _machine(tmp_path, "worker", s3_bucket, shared_ledger)
    assert _receive(receiver, order_body("550001")).status == 200

    rt = Runtime.open(worker, clock=lambda: NOW)
    try:
        summary = export_once(rt, load_layouts(worker)["erp_csv"])
    finally:
        rt.close()

    book = _book(shared_ledger)
    try:
        row = book.order("550001")
        assert row is not None and (row.state, row.reason) == ("exported", None), row
    finally:
        book.close()
    assert summary.files and not list((tmp_path / "receiver" / "state").rglob("*.json"))
    uploaded = b"".join(p.read_bytes() for p in (tmp_path / "erp").rglob("ORDERS_*.csv"))
    assert uploaded.count(b"\nH;550001;") + uploaded.startswith(b"H;550001;") == 1


def test_a_body_stored_by_a_receiver_killed_before_booking_is_booked_by_the_next_push(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    killed = _machine(tmp_path, "killed", s3_bucket, shared_ledger)
    other = _machine(tmp_path, "other", s3_bucket, shared_ledger)
    body = order_body("550002")
    # What a receiver killed after its put and before its booking leaves: an unbooked object.
    left = open_spool(killed.storage, Areas(killed.home), "orders").put("550002", body, "json")

    answer = _receive(other, body)  # Norce had no answer, so it pushes again (here: to another)

    assert (answer.status, answer.body["Description"]) == (200, "queued")
    assert s3_bucket.objects(SPOOL) == {SPOOL + left.name: body}
    book = _book(shared_ledger)
    try:
        row = book.order("550002")
        assert row is not None and (row.spool_name, row.source) == (left.name, "push")
    finally:
        book.close()


def test_recovery_on_any_receiver_books_an_object_left_unbooked(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    killed = _machine(tmp_path, "killed", s3_bucket, shared_ledger)
    other = _machine(tmp_path, "other", s3_bucket, shared_ledger)
    left = open_spool(killed.storage, Areas(killed.home), "orders").put(
        "550003", order_body("550003"), "json"
    )
    assert _receive(other, order_body("550004")).status == 200

    inbound = open_inbound(other)  # as `run.py receive` does at start
    try:
        assert inbound.recover() == 1
        assert inbound.recover() == 0
    finally:
        inbound.book.close()

    book = _book(shared_ledger)
    try:
        row = book.order("550003")
        assert row is not None and (row.spool_name, row.source) == (left.name, "recovered")
        assert book.count() == 2
    finally:
        book.close()


def test_one_order_pushed_to_two_receivers_at_the_same_moment_is_booked_once(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    machines = [_machine(tmp_path, f"r{n}", s3_bucket, shared_ledger) for n in range(2)]
    inbounds = [open_inbound(m) for m in machines for _ in range(3)]  # 3 threads each
    bodies = [order_body(f"5501{n:02d}") for n in range(10)]
    answers: list[Answer] = []
    barrier = threading.Barrier(len(inbounds))

    def push_all(n: int) -> None:
        barrier.wait()
        for body in bodies:
            answers.append(inbounds[n].accept(body, "application/json", "push"))

    threads = [threading.Thread(target=push_all, args=(n,)) for n in range(len(inbounds))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for inbound in inbounds:
            inbound.book.close()

    assert [a.status for a in answers] == [200] * 60
    descriptions = sorted(a.body["Description"] for a in answers)
    assert descriptions == ["already received"] * 50 + ["queued"] * 10
    assert len(s3_bucket.objects(SPOOL)) == 10
    book = _book(shared_ledger)
    try:
        assert book.count() == 10 and book.count("spooled") == 10
    finally:
        book.close()
