"""`run.py receive` killed with SIGKILL after the order is spooled and booked, before the
answer; Norce retries against the restarted receiver. No order is lost or taken twice."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from etl.to_erp.orders.book import OrderBook
from tests.support.ports import free_port
from tests.support.receiver_process import ORDER, start_receiver


def _post(port: int, timeout: float) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/orders",
        content=json.dumps(ORDER).encode(),
        headers={"content-type": "application/json"},
        auth=("norce", "pw-for-tests"),
        timeout=timeout,
    )


@pytest.mark.slow
def test_kill_between_spool_and_answer_loses_nothing_and_takes_nothing_twice(
    home: Path,
) -> None:
    port = free_port()
    receiver = start_receiver(home, port, pause=30)
    book = OrderBook(home / "state" / "ledger.sqlite")
    try:
        with pytest.raises(httpx.HTTPError):
            # The receiver spools, books, then waits before answering: kill it right there.
            def kill_once_booked() -> None:
                deadline = time.monotonic() + 20
                while book.order("880001") is None and time.monotonic() < deadline:
                    time.sleep(0.02)
                receiver.send_signal(signal.SIGKILL)

            threading.Thread(target=kill_once_booked, daemon=True).start()
            _post(port, timeout=25)
        assert receiver.wait(timeout=10) == -signal.SIGKILL
        # Norce saw no answer, so it sends the same order again, to a restarted receiver.
        receiver = start_receiver(home, port, pause=0)
        answer = _post(port, timeout=10)
        assert answer.status_code == 200
        assert answer.json()["StatusCode"] == "OK"
        assert answer.json()["Description"] == "already received"
        spooled = sorted((home / "state" / "spool" / "orders").iterdir())
        assert len(spooled) == 1
        assert json.loads(spooled[0].read_bytes()) == ORDER
        (row,) = book.orders()
        assert row.ref == "880001" and row.state == "spooled"
    finally:
        receiver.terminate()
        receiver.wait(timeout=15)
        book.close()
