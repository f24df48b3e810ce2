"""A gate in front of the test's S3 server: a TCP forwarder on loopback that can be shut.

Object storage going down at one chosen moment (after an export's commit, before its archive)
is the gate shut: every connection through it is cut and new ones are closed at once, so the
product's client meets a real outage, not a stub. Opened again, it forwards as before.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

_CHUNK = 65536


class S3Gate:
    """Forwards 127.0.0.1:<port> to the S3 server while open; refuses everything while shut."""

    def __init__(self, endpoint: str) -> None:
        target = urlsplit(endpoint)
        self.target = (target.hostname or "127.0.0.1", target.port or 80)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.is_open = True
        self._live: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def shut(self) -> None:
        """Object storage is down: live connections cut, new ones closed."""
        with self._lock:
            self.is_open = False
            for sock in self._live:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._live.clear()

    def open(self) -> None:
        """Object storage is back."""
        self.is_open = True

    def close(self) -> None:
        """Stop listening."""
        self.shut()
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self.is_open:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._live |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    """Bytes from `source` to `target` until either side ends."""
    with contextlib.suppress(OSError):
        while data := source.recv(_CHUNK):
            target.sendall(data)
    for sock in (source, target):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def s3_gate(endpoint: str) -> Iterator[S3Gate]:
    """A gate in front of `endpoint`, closed when the test is done."""
    gate = S3Gate(endpoint)
    try:
        yield gate
    finally:
        gate.close()
