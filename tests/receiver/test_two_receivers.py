"""Two `run.py receive` processes behind a load balancer, one killed mid-push; a third exports.

Three homes stand for three machines with the same settings: the ledger on the session's
real PostgreSQL, the spool on moto's real S3 server. Orders are pushed to both receivers at
once, some to both at the same moment; receiver A is killed with SIGKILL while pushes are in
flight, and Norce, as behind a load balancer, pushes what was not answered OK to the other.
Every order that got 200 is booked once with its body readable, and `run.py once` on a
third machine, whose disk has no body, exports each order once.
"""

from __future__ import annotations

import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from etl.state.ledger.postgres import PostgresAt
from etl.to_erp.orders.book import OrderBook
from tests.support.ports import free_port
from tests.support.receiver_cluster import (
    PREFIX,
    environ,
    order_body,
    push_once,
    push_to_any,
    shared_home,
)
from tests.support.receiver_process import run_py, start_receiver_on
from tests.support.s3 import S3Bucket

ORDERS = 60
BOTH = 10  # the first BOTH orders go to both receivers at the same moment
SPOOL = f"{PREFIX}/state/spool/orders/"


@pytest.mark.slow
def test_two_receivers_one_killed_book_every_order_once_and_a_third_machine_exports_it(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    env, erp = environ(shared_ledger.dsn), tmp_path / "erp"
    erp.mkdir()
    ports = [free_port(), free_port()]
    configs = [
        shared_home(tmp_path / n, erp, s3_bucket, p) for n, p in zip("ab", ports, strict=True)
    ]
    receivers = [start_receiver_on(c, env, p) for c, p in zip(configs, ports, strict=True)]
    refs = [f"66{n:04d}" for n in range(ORDERS)]
    answered: dict[str, int] = {}
    try:
        _push_same_order_to_both_at_once(ports, refs[:BOTH], answered)
        with ThreadPoolExecutor(12) as senders:
            later = [senders.submit(push_to_any, ports, order_body(r), n % 2)
                     for n, r in enumerate(refs[BOTH:])]  # fmt: skip
            while sum(f.done() for f in later) < (ORDERS - BOTH) // 3:
                threading.Event().wait(0.01)
            receivers[0].send_signal(signal.SIGKILL)  # A dies with pushes in flight
            for ref, future in zip(refs[BOTH:], later, strict=True):
                answered[ref] = future.result()
        assert receivers[0].wait(timeout=10) == -signal.SIGKILL
    finally:
        for receiver in receivers:
            receiver.kill()
            receiver.communicate()

    assert sorted(answered) == refs
    sent_to_a = refs[BOTH::2]  # push_to_any started these at A
    assert {answered[r] for r in sent_to_a} == set(ports)  # A took some, B the rest after the kill
    _assert_booked_once_with_bodies(shared_ledger, s3_bucket, refs)
    assert not list((tmp_path / "a" / "state").rglob("*.json"))  # no body on a receiver's disk
    worker = shared_home(tmp_path / "c", erp, s3_bucket)
    out = run_py(worker, env, "once").communicate(timeout=120)[0]
    _assert_exported_once(shared_ledger, erp, refs, out)


def _push_same_order_to_both_at_once(
    ports: list[int], refs: list[str], answered: dict[str, int]
) -> None:
    """Each order posted to both receivers by two threads released together."""
    for ref in refs:
        assert _both_at_once(ports, order_body(ref)) == [True, True], ref
        answered[ref] = ports[0]


def _both_at_once(ports: list[int], body: bytes) -> list[bool]:
    barrier = threading.Barrier(len(ports))
    oks: list[bool] = []

    def post(port: int) -> None:
        barrier.wait()
        oks.append(push_once(port, body))

    threads = [threading.Thread(target=post, args=(p,)) for p in ports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return oks


def _assert_booked_once_with_bodies(at: PostgresAt, bucket: S3Bucket, refs: list[str]) -> None:
    objects = bucket.objects(SPOOL)
    book = OrderBook(at)
    try:
        rows = book.orders(limit=1000)
        assert sorted(r.ref for r in rows) == refs
        assert {r.ref: objects[SPOOL + r.spool_name] for r in rows} == {
            r: order_body(r) for r in refs
        }
    finally:
        book.close()
    assert len(objects) == len(refs)  # two receivers taking one body wrote it once


def _assert_exported_once(at: PostgresAt, erp: Path, refs: list[str], out: str) -> None:
    book = OrderBook(at)
    try:
        assert book.counts() == {"exported": len(refs)}, out
    finally:
        book.close()
    files = sorted((erp / "orders" / "in").glob("ORDERS_*.csv"))
    heads = [
        line.split(";")[1]
        for f in files
        for line in f.read_bytes().decode("cp1252").splitlines()
        if line.startswith("H;")
    ]
    assert sorted(heads) == refs, out
