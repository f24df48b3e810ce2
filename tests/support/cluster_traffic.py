"""What the outside world does to a cluster: Norce pushes orders, the ERP drops and takes files.

- `OrderPushes`: Norce pushing orders to the receivers behind a load balancer that sends
  each order to one of them and, when that one does not answer OK (killed), to the other.
- `ErpPickup`: the ERP taking each finished order file (its done-marker is there) out of
  the folder, so a file uploaded again under the same name is seen a second time.
- Order-status exports naming orders Norce knows, one document per row.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.lifecycle import ORDER
from tests.support.order_pusher import push_order

STATUS_HEADER = "Ordernr;Webbordernr;Status;Statustid;Kommentar"


def order_body(ref: int) -> bytes:
    """The lifecycle's full OrderRequest under another ClientOrderRef."""
    order = copy.deepcopy(ORDER)
    order["ClientOrderRef"] = str(ref)
    return json.dumps(order).encode()


@dataclass
class OrderPushes:
    """Norce pushing `refs` through a load balancer over `ports`, a few at a time."""

    ports: list[int]
    auth: tuple[str, str]
    refs: list[int]
    delivered: set[int] = field(default_factory=set)
    failed_over: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, senders: int = 16) -> None:
        """Push every order until a receiver answers OK; gives up on one after 60 s."""
        with ThreadPoolExecutor(senders) as pool:
            list(pool.map(self._push, self.refs))

    def _push(self, ref: int) -> None:
        body = order_body(ref)
        deadline = time.monotonic() + 60
        turn = ref % len(self.ports)
        while time.monotonic() < deadline:
            url = f"http://127.0.0.1:{self.ports[turn]}/orders"
            if push_order(url, body, self.auth, retries=0).delivered:
                with self._lock:
                    self.delivered.add(ref)
                return
            with self._lock:
                self.failed_over += 1
            turn = (turn + 1) % len(self.ports)  # the balancer tries the other one
            time.sleep(0.05)


@dataclass
class ErpPickup:
    """The ERP's order import: takes each file with its done-marker into `taken/`."""

    folder: Path
    taken: Path
    names: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.taken.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._loop, name="erp-pickup", daemon=True)

    def start(self) -> None:
        """Begin taking files."""
        self._thread.start()

    def stop(self) -> None:
        """Take what is left once more, then stop."""
        self._stop.set()
        self._thread.join(timeout=10)
        self.take()

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self.take()

    def take(self) -> None:
        """Every file whose marker is there, moved to `taken/` under a name of its own."""
        for marker in sorted(self.folder.glob("*.done")):
            order_file = self.folder / marker.name.removesuffix(".done")
            if not order_file.exists():
                continue
            self.names.append(order_file.name)
            order_file.rename(self.taken / f"{len(self.names):04d}-{order_file.name}")
            marker.unlink()

    def orders(self) -> Counter[str]:
        """How many times each order number is in an H line of the files taken."""
        found: Counter[str] = Counter()
        for path in sorted(self.taken.iterdir()):
            for line in path.read_text(encoding="cp1252").splitlines():
                fields = [f.strip('"') for f in line.split(";")]
                if fields[0] == "H":
                    found[fields[1]] += 1
        return found


def status_export(refs: list[int]) -> bytes:
    """An order-status export: each order confirmed (status 10), one document per row."""
    rows = [f"SO-{ref};{ref};10;2026-11-22 09:12;" for ref in refs]
    return ("\r\n".join([STATUS_HEADER, *rows]) + "\r\n").encode("cp1252")
