"""uvicorn's HTTP/1.1 protocol (h11) with what it lacks against abusive connections.

uvicorn bounds the size of a request head (h11's 16 KiB) and closes idle keep-alive
connections, but a connection that sends its head a byte at a time, never finishing it, is
kept forever, and so is every one of thousands of them until the process runs out of file
descriptors. Its `limit_concurrency` does not help: it counts those connections too, and
answers 503 only to a request whose head is complete, so the sockets that never finish one
hold the slots while every valid order is turned away.

`GuardedProtocol` adds two things:
- a header timeout: a connection gets `header_timeout` seconds to deliver a complete request
  head (counted from when it opened, or from the end of its previous answer), not per byte;
- a connection bound: at most `limit` connections at once. A new connection past the bound
  closes the oldest one still waiting for its head (nobody is authenticated before the head
  is complete, so only anonymous sockets are pushed out); when every connection is busy
  with an authenticated request, the new one gets 503 at once and Norce retries it.
Body reads are bounded by the app itself (ReceiverApp), where the request is known.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
from pathlib import Path
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from etl.receiver.log_repeats import RepeatedLog

# The listen queue, and also how many connections asyncio accepts in one loop turn, before
# the bound can close any: up to two turns of them are open at once beyond the bound. Kept
# small for that; the price is that in a flood a new connection may wait for its SYN to be
# sent again (about a second) when the queue is full.
BACKLOG = 32
_SPARE_DESCRIPTORS = 16  # spool files being written, log files reopened, a margin
# Threads that take orders in (ReceiverApp): one per sender in flight, so the fsyncs of orders
# that arrive together are shared (etl.state.folder_sync, etl.state.group_commit). 8 threads
# were measured again in issue 18's third round: 0.60x the bare app against 0.86x, CPU per
# order 2.31x the bare app's against 1.83x (4 paired rounds, bench/receiver.py).
WORKER_THREADS = 32
_BUSY_BODY = b'{"StatusCode": "Failed", "Description": "busy, try again", "HasErpOrderNo": false}'
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"retry-after: 1\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s"
    % (len(_BUSY_BODY), _BUSY_BODY)
)


def connection_limit(wanted: int) -> int:
    """`wanted`, or fewer when the process's file descriptors would run out first.

    Counted at start: the descriptors already open, three per worker thread (a SQLite
    connection with WAL; events still open one per thread), one spool file being written per
    order thread, and the connections accepted before the bound closes them.
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    threads = min(32, (os.cpu_count() or 1) + 4)  # asyncio.to_thread's default pool (events)
    spare = _open_descriptors() + 3 * threads + WORKER_THREADS + 2 * BACKLOG + _SPARE_DESCRIPTORS
    return max(1, min(wanted, soft - spare))


def _open_descriptors() -> int:
    try:
        return sum(1 for _ in Path("/dev/fd").iterdir())
    except OSError:  # no /dev/fd on this system: guess what a started receiver holds
        return 32


class ConnectionGuard:
    """The connections of one server: all of them, and those waiting for a head, oldest first."""

    def __init__(self, limit: int, header_timeout: float, repeats: RepeatedLog) -> None:
        self.limit = limit
        self.header_timeout = header_timeout
        self.repeats = repeats
        self.open: set[GuardedProtocol] = set()
        self.waiting: dict[GuardedProtocol, None] = {}  # insertion order: oldest first

    def admit(self, connection: GuardedProtocol) -> bool:
        """Take a new connection in, pushing out the oldest waiting one if over the limit."""
        self.open.add(connection)
        if len(self.open) <= self.limit:
            return True
        oldest = next((c for c in self.waiting if c is not connection), None)
        if oldest is not None:
            self.repeats.report(
                logging.WARNING,
                f"at the limit of {self.limit} connections: closed the oldest one still "
                "waiting for its request head",
            )
            oldest.close()
            return True
        self.repeats.report(
            logging.WARNING,
            f"at the limit of {self.limit} connections, all busy with requests: answered 503",
        )
        return False

    def release(self, connection: GuardedProtocol) -> None:
        """Forget a connection that closed."""
        self.open.discard(connection)
        self.waiting.pop(connection, None)


class GuardedProtocol(H11Protocol):
    """H11Protocol with a header timeout and a place in its server's ConnectionGuard."""

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.guard.admit(self):
            transport.write(_BUSY)
            transport.close()
            return
        self._follow_state()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_state()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_state()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.release(self)
        self._stop_head_timer()
        super().connection_lost(exc)

    def close(self) -> None:
        """Close the connection (its head will not come, or it makes room for another)."""
        self.guard.release(self)
        self._stop_head_timer()
        self.transport.close()

    def _follow_state(self) -> None:
        """Waiting for a request head: the timer runs; once the head is in, it stops."""
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.IDLE:
            self.guard.waiting.setdefault(self)
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(
                    self.guard.header_timeout, self._head_too_slow
                )
        else:
            self.guard.waiting.pop(self, None)
            self._stop_head_timer()

    def _head_too_slow(self) -> None:
        self._head_timer = None
        self.guard.repeats.report(
            logging.INFO,
            f"closed a connection that sent no complete request head in "
            f"{self.guard.header_timeout:g} s",
        )
        self.close()

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None


def guarded_protocol(guard: ConnectionGuard) -> type[GuardedProtocol]:
    """A protocol class for uvicorn (`Config(http=...)`) bound to one server's guard."""
    return type("ReceiverProtocol", (GuardedProtocol,), {"guard": guard})


def accept_errors(repeats: RepeatedLog) -> Any:
    """An event loop exception handler that logs repeated `accept()` failures as one line.

    Out of descriptors, asyncio reports every failed accept (many per loop turn) with its
    traceback; everything else goes to the default handler.
    """

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if context.get("message") == "socket.accept() out of system resource":
            reason = exc.strerror if isinstance(exc, OSError) else "out of resources"
            repeats.report(logging.ERROR, f"cannot accept connections: {reason}")
            return
        loop.default_exception_handler(context)

    return handle
