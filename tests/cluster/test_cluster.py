"""Three workers and two receivers on one machine, one of each killed with SIGKILL mid-way.

Issue 21's proof. One home, one PostgreSQL database (the ledger and the task queue), the
ERP a real SFTP server, Norce the stand-in. 20 feeds (10 product exports, 10 order-status
exports) get files dropped while the workers run, in two rounds; 500 orders are pushed
through a load balancer to both receivers. After the first 250 orders one receiver is
killed (the balancer sends its orders to the other), and one worker is killed at the first
commit of the second round. Then:
- every file is committed once (the ledger's runs), every one dropped;
- every order Norce saw answered OK is in exactly one order file, and no file name reached
  the ERP twice (the ERP takes each file away as it comes, so a second upload shows);
- every status document reached Norce once (the stand-in's Order service);
- no feed family (nor any other job's lock) was held by two runs at the same moment: each
  run's start and end as the workers log them, on this machine's one clock, the killed
  worker's last run ending at the kill.
"""

from __future__ import annotations

import datetime as dt
import signal
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from etl.state.ledger.feed_runs import Ledger
from etl.state.ledger.postgres import PostgresAt
from tests.support.cluster import (
    ORDER_FOLDER,
    PRODUCT_FEEDS,
    RECEIVER_PASSWORD,
    RECEIVER_USER,
    STATUS_FEEDS,
    Cluster,
    Storage,
)
from tests.support.cluster_traffic import ErpPickup, OrderPushes, status_export
from tests.support.cluster_workers import Worker, held_locks, overlaps, wait_for
from tests.support.masterdata import PRODUCT_ROWS
from tests.support.norce.app import NorceStandin
from tests.support.norce.orders import OrderStandin
from tests.support.norce.query import QueryStandin
from tests.support.sftp_server import run_sftp_server

ORDERS = list(range(5_000_001, 5_000_501))
KILL_RECEIVER_AFTER = 250
ROWS_PER_STATUS_FILE = 3


def _status_refs(feed_index: int, day: int) -> list[int]:
    first = 7_000_000 + feed_index * 100 + day * 10
    return list(range(first, first + ROWS_PER_STATUS_FILE))


def _drop_round(cluster: Cluster, day: int) -> set[str]:
    """A file in every feed's folder: products (changed names each day), order statuses."""
    rows = [row.replace(";Handske ", f";Handske {day} ") for row in PRODUCT_ROWS]
    dropped = {cluster.drop_products(feed, day, rows) for feed in PRODUCT_FEEDS}
    for index, feed in enumerate(STATUS_FEEDS):
        data = status_export(_status_refs(index, day))
        dropped.add(cluster.drop(feed, f"orderstatus_202612{day:02d}.csv", data))
    return dropped


def _committed(dsn: str) -> Counter[str]:
    ledger = Ledger(PostgresAt(dsn))
    try:
        runs = ledger.runs(limit=10_000)
    finally:
        ledger.close()
    return Counter(r.remote_path or "" for r in runs if r.outcome == "committed")


def _documents(orders: OrderStandin) -> Counter[int]:
    return Counter(
        int(call.body["ClientOrderRef"])
        for call in orders.calls
        if call.method == "Order/SendOrderStatus"
    )


def _kill_at_second_round_commit(workers: list[Worker]) -> tuple[Worker, dt.datetime]:
    """SIGKILL the first worker that says it delivered a file of the second round."""
    wait_for(
        "a second-round file at its commit",
        lambda: any("_20261202.csv: delivered" in w.log() for w in workers),
        workers,
        60,
    )
    victim = next(w for w in workers if "_20261202.csv: delivered" in w.log())
    victim.process.send_signal(signal.SIGKILL)
    killed_at = dt.datetime.now()
    victim.process.wait(timeout=10)
    return victim, killed_at


def _all_done(
    cluster: Cluster,
    dropped: set[str],
    pushes: OrderPushes,
    pickup: ErpPickup,
    orders: OrderStandin,
) -> Callable[[], bool]:
    documents = 2 * len(STATUS_FEEDS) * ROWS_PER_STATUS_FILE

    def done() -> bool:
        return (
            dropped <= set(_committed(cluster.dsn))
            and {str(ref) for ref in pushes.delivered} <= set(pickup.orders())
            and len(_documents(orders)) == documents
        )

    return done


@pytest.mark.slow
def test_every_file_order_and_document_once_with_a_worker_and_a_receiver_killed(
    tmp_path: Path, norce: NorceStandin, cluster_dsn: str, storage: Storage
) -> None:
    orders = OrderStandin(norce, query=QueryStandin(norce, application_id=1042))
    for index in range(len(STATUS_FEEDS)):
        for ref in _status_refs(index, 1) + _status_refs(index, 2):
            orders.add_order(ref, f"SO-{ref}")
    (tmp_path / "keys").mkdir()
    with run_sftp_server(tmp_path / "erp", tmp_path / "keys") as sftp:
        cluster = Cluster.build(tmp_path, sftp, norce, cluster_dsn, storage)
        pickup = ErpPickup(sftp.root / ORDER_FOLDER, tmp_path / "taken")
        try:
            workers = [cluster.start_worker(f"worker-{n}") for n in range(3)]
            receivers = cluster.start_receivers(2)
            # Norce pushes as soon as the receivers listen, while the workers start.
            pushes = OrderPushes(cluster.ports, (RECEIVER_USER, RECEIVER_PASSWORD), ORDERS)
            pushing = threading.Thread(target=pushes.run, name="norce-pushes")
            pushing.start()
            pickup.start()
            wait_for(
                "workers up", lambda: all(" started with " in w.log() for w in workers), workers, 60
            )
            dropped = _drop_round(cluster, 1)
            wait_for(
                "250 orders in", lambda: len(pushes.delivered) >= KILL_RECEIVER_AFTER, workers, 60
            )
            receivers[1].send_signal(signal.SIGKILL)
            receivers[1].wait(timeout=10)
            dropped |= _drop_round(cluster, 2)
            victim, killed_at = _kill_at_second_round_commit(workers)
            pushing.join(timeout=90)
            wait_for("all done", _all_done(cluster, dropped, pushes, pickup, orders), workers, 90)
            survivors = [w for w in workers if w is not victim]
            for worker in survivors:
                worker.process.send_signal(signal.SIGTERM)
            for worker in survivors:
                assert worker.process.wait(timeout=60) == 0, worker.log()[-3000:]
        finally:
            pickup.stop()
            cluster.stop_all()

    assert pushes.delivered == set(ORDERS)
    assert [p for p, n in _committed(cluster_dsn).items() if n != 1] == []
    assert set(_committed(cluster_dsn)) == dropped
    assert [name for name, n in Counter(pickup.names).items() if n != 1] == []
    exported = pickup.orders()
    assert [ref for ref, n in exported.items() if n != 1] == []
    assert set(exported) == {str(ref) for ref in ORDERS}
    sent = _documents(orders)
    assert [ref for ref, n in sent.items() if n != 1] == []
    assert set(sent) == {
        ref
        for index in range(len(STATUS_FEEDS))
        for day in (1, 2)
        for ref in _status_refs(index, day)
    }
    runs = [h for w in workers for h in held_locks(w.log(), killed_at if w is victim else None)]
    assert overlaps(runs) == []
    # The killed worker's run was taken for dead by another and went back to the queue.
    assert any("sent no heartbeat" in w.log() for w in workers if w is not victim)
    # Every worker took runs: the work was shared, not done by one.
    assert all(held_locks(w.log(), killed_at if w is victim else None) for w in workers)
    assert pushes.failed_over > 0  # the balancer did send orders away from the killed receiver
