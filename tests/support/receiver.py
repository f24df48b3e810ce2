"""The real ReceiverApp under uvicorn on 127.0.0.1 in a thread, and where it keeps what it took."""

from __future__ import annotations

import hashlib
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

from etl.config.settings import LocalStoreSettings, ReceiverSettings, Settings
from etl.receiver.app import ReceiverApp
from etl.to_erp.orders.book import OrderBook
from tests.support.masterdata import settings_for

USER, PASSWORD = "norce", "receiver-test-password"
LIMIT = 8 * 1024


@dataclass
class Receiver:
    """A running receiver and where it keeps things."""

    settings: Settings
    port: int

    def url(self, path: str = "/orders") -> str:
        """The URL of `path` on this receiver."""
        return f"http://127.0.0.1:{self.port}{path}"

    def post(self, body: bytes, *, path: str = "/orders", **options: Any) -> httpx.Response:
        """POST `body` to `path` with the receiver's credentials unless told otherwise."""
        options.setdefault("auth", (USER, PASSWORD))
        options.setdefault("headers", {"Content-Type": "application/json"})
        return httpx.post(self.url(path), content=body, timeout=10, **options)

    @property
    def spool(self) -> Path:
        """The folder orders are spooled to."""
        return self.settings.folder("state") / "spool" / "orders"

    def spooled(self) -> list[Path]:
        """The spooled order files, by name."""
        return sorted(p for p in self.spool.glob("*") if not p.name.startswith("."))

    def rejected(self) -> list[Path]:
        """The refused bodies and reasons kept in archive/orders/rejected/."""
        folder = self.settings.folder("archive") / "orders" / "rejected"
        return sorted(folder.glob("*")) if folder.is_dir() else []

    def rejected_copy(self, body: bytes) -> tuple[Path, Path]:
        """The kept copy of one refused body and its reason file."""
        sha = hashlib.sha256(body).hexdigest()[:16]
        kept = [p for p in self.rejected() if sha in p.name and not p.name.endswith(".txt")]
        assert len(kept) == 1, f"{len(kept)} kept copies of the body"
        return kept[0], kept[0].with_name(kept[0].name + ".reason.txt")

    @contextmanager
    def book(self) -> Iterator[OrderBook]:
        """The order book in the ledger, closed after the block."""
        book = OrderBook(self.settings.folder("state") / "ledger.sqlite")
        try:
            yield book
        finally:
            book.close()

    def variants(self) -> list[tuple[str, str]]:
        """Every (ref, sha256) variant the ledger keeps."""
        with sqlite3.connect(self.settings.folder("state") / "ledger.sqlite") as db:
            return list(db.execute("SELECT ref, sha256 FROM order_variants"))


def receiver_settings(tmp_path: Path, **receiver: Any) -> Settings:
    """Settings for a receiver on a fresh home with basic auth and a small body limit."""
    base = settings_for(tmp_path / "home", LocalStoreSettings(root=tmp_path / "erp"))
    receiver.setdefault("max_body_bytes", LIMIT)
    config = ReceiverSettings(username=USER, password=SecretStr(PASSWORD), **receiver)
    return base.model_copy(update={"receiver": config})


def bound_socket() -> socket.socket:
    """A loopback socket with a port, not yet listening: connections to it are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serving(settings: Settings, sock: socket.socket) -> Iterator[None]:
    """Run ReceiverApp under uvicorn on `sock` in a thread, until the block ends."""
    config = uvicorn.Config(ReceiverApp(settings), lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during startup"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def running(settings: Settings) -> Iterator[Receiver]:
    """The receiver served on a free loopback port until the block ends."""
    sock = bound_socket()
    with serving(settings, sock):
        yield Receiver(settings, sock.getsockname()[1])
