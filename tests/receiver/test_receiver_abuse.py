"""The receiver under abuse: a real `run.py receive` process on 127.0.0.1, raw sockets.

Slowloris heads and unfinished bodies are closed after their timeouts; sockets that hold
every connection slot (or every file descriptor) cannot keep a valid order out, and the log
does not fill with one error repeated. The body checks (a DOCTYPE in any encoding) run
in-process on the real parser.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import resource
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from etl.to_erp.orders.bodies import BodyRefused, parse_order
from tests.support.paths import REPO
from tests.support.ports import free_port
from tests.support.receiver_process import ORDER

PASSWORD = "pw-for-tests"
AUTH = base64.b64encode(f"norce:{PASSWORD}".encode()).decode()


@contextmanager
def receiver(
    home: Path, settings: str = "", fd_limit: int | None = None
) -> Iterator[tuple[int, Path]]:
    """A `run.py receive` with extra [receiver] lines; yields its port and its log file."""
    port = free_port()
    config = home / "receiver.toml"
    config.write_text(
        f'home = "."\nschemas_dir = "schemas"\n[receiver]\nport = {port}\n'
        f'password_env = "TEST_RECEIVER_PASSWORD"\n{settings}',
        encoding="utf-8",
    )
    env = {**os.environ, "TEST_RECEIVER_PASSWORD": PASSWORD}
    log_path = home / "receiver.log"

    def limit_fds() -> None:
        if fd_limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))

    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "run.py"), "--config", str(config), "receive"],
            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=limit_fds,
        )  # fmt: skip
    try:
        _wait_listening(process, port, log_path)
        yield port, log_path
    finally:
        process.kill()
        process.wait(timeout=10)


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert process.poll() is None, log.read_text(errors="replace")
            time.sleep(0.05)
    raise AssertionError("receiver did not start listening")


def _post_order(port: int, timeout: float) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/orders",
        content=json.dumps(ORDER).encode(),
        headers={"content-type": "application/json"},
        auth=("norce", PASSWORD),
        timeout=timeout,
    )


class Sockets:
    """Raw client sockets that misbehave, and what the server sent each before closing."""

    def __init__(self, port: int, stack: ExitStack) -> None:
        self.port = port
        self.stack = stack
        self.received: dict[socket.socket, bytes] = {}

    def open(self, count: int, first: bytes) -> list[socket.socket]:
        """`count` connections, each having sent `first` and nothing more yet."""
        opened = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            self.stack.enter_context(sock)
            sock.sendall(first)
            sock.setblocking(False)
            self.received[sock] = b""
            opened.append(sock)
        return opened

    def closed_by_server(self, sock: socket.socket) -> bool:
        """True once the server closed its end (EOF or reset); what came before is kept."""
        try:
            while data := sock.recv(65536):
                self.received[sock] += data
            return True
        except BlockingIOError:
            return False
        except ConnectionError:
            return True

    def trickle(
        self, sockets: list[socket.socket], byte: Callable[[int], bytes], seconds: float
    ) -> list[socket.socket]:
        """Send a little more on each open socket every 0.2 s; the ones still open at the end."""
        still_open = list(sockets)
        deadline = time.monotonic() + seconds
        tick = 0
        while still_open and time.monotonic() < deadline:
            for sock in still_open:
                with contextlib.suppress(OSError):  # closed by the server: found below
                    sock.send(byte(tick))
            select.select(still_open, [], [], 0.2)
            still_open = [s for s in still_open if not self.closed_by_server(s)]
            tick += 1
        return still_open


@pytest.mark.slow
def test_slow_heads_are_closed_after_the_header_timeout(home: Path) -> None:
    with receiver(home, "header_timeout_seconds = 1\n") as (port, _), ExitStack() as stack:
        # Each socket sends a byte every 0.2 s and never ends its head: an idle timer
        # that restarts on every byte would never fire.
        abuse = Sockets(port, stack)
        sockets = abuse.open(60, b"POST /orders HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        still_open = abuse.trickle(sockets, lambda _: b"X", seconds=4)
        assert still_open == [], f"{len(still_open)} slow heads still open after 4 s"
        assert time.monotonic() - started < 3
        assert _post_order(port, timeout=5).status_code == 200


def _chunked_head(path: str, auth: bool) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: x", "Content-Type: application/json",
             "Transfer-Encoding: chunked"]  # fmt: skip
    if auth:
        lines.append(f"Authorization: Basic {AUTH}")
    return ("\r\n".join(lines) + "\r\n\r\n1\r\n{\r\n").encode()


@pytest.mark.slow
def test_unfinished_bodies_are_answered_408_and_closed(home: Path) -> None:
    with receiver(home, "body_timeout_seconds = 1\n") as (port, _), ExitStack() as stack:
        abuse = Sockets(port, stack)
        sockets = abuse.open(20, _chunked_head("/orders", auth=True))
        still_open = abuse.trickle(sockets, lambda _: b"1\r\n \r\n", seconds=4)
        assert still_open == [], f"{len(still_open)} unfinished bodies still open after 4 s"
        for sock in sockets:
            assert abuse.received[sock].startswith(b"HTTP/1.1 408 ")
        assert _post_order(port, timeout=5).status_code == 200


@pytest.mark.slow
def test_a_body_nobody_will_read_is_not_waited_for(home: Path) -> None:
    """401 and 404 are answered at once; the connection closes with them."""
    with receiver(home) as (port, _), ExitStack() as stack:
        abuse = Sockets(port, stack)
        sockets = abuse.open(5, _chunked_head("/orders", auth=False))
        sockets += abuse.open(5, _chunked_head("/elsewhere", auth=True))
        still_open = abuse.trickle(sockets, lambda _: b"1\r\n \r\n", seconds=3)
        assert still_open == [], f"{len(still_open)} connections still open after 3 s"
        answers = sorted(abuse.received[s][:12] for s in sockets)
        assert answers == [b"HTTP/1.1 401"] * 5 + [b"HTTP/1.1 404"] * 5


@pytest.mark.slow
def test_a_404_does_not_tell_the_order_path(home: Path) -> None:
    with receiver(home, 'path = "/secret-orders-7f3a"\n') as (port, _):
        answer = httpx.post(f"http://127.0.0.1:{port}/orders", content=b"{}", timeout=5)
        assert answer.status_code == 404
        assert "secret" not in answer.text
        get = httpx.get(f"http://127.0.0.1:{port}/secret-orders-7f3a", timeout=5)
        # Without credentials the order path says no more than that it wants them.
        assert get.status_code == 401


@pytest.mark.slow
def test_a_valid_order_gets_through_while_sockets_hold_every_descriptor(home: Path) -> None:
    # 128 descriptors for the receiver, 150 sockets that never finish a head (the header
    # timeout is long, so only the connection bound can help the order in).
    settings = "header_timeout_seconds = 60\n"
    with receiver(home, settings, fd_limit=128) as (port, log), ExitStack() as stack:
        sockets = Sockets(port, stack).open(150, b"POST /orders HTTP/1.1\r\n")
        time.sleep(0.3)
        started = time.monotonic()
        answer = _post_order(port, timeout=10)
        assert answer.status_code == 200, answer.text
        assert time.monotonic() - started < 3
        time.sleep(1)  # let any storm of accept errors show in the log
        assert len(sockets) == 150
        text = log.read_text(errors="replace")
        assert len(text) < 20_000, f"log grew to {len(text)} bytes: {text[-600:]}"


# A server out of descriptors: asyncio's accept fails on every connection waiting, many
# times per loop turn, and reports each failure to the loop's exception handler.
OUT_OF_DESCRIPTORS = """
import asyncio, logging, os, resource, sys
from etl.receiver.guarded_server import accept_errors
from etl.receiver.log_repeats import RepeatedLog

logging.basicConfig(stream=sys.stdout, level=logging.INFO)

async def main() -> None:
    loop = asyncio.get_running_loop()
    if sys.argv[1] == "ours":
        loop.set_exception_handler(accept_errors(RepeatedLog(logging.getLogger("receiver"))))
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0, backlog=64)
    print(server.sockets[0].getsockname()[1], flush=True)
    in_use = len(os.listdir("/dev/fd"))
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + 4, hard))
    await asyncio.sleep(1.5)

asyncio.run(main())
"""


def _accept_storms(*handlers: str) -> list[str]:
    """The logs of real asyncio servers out of descriptors while 40 clients connect to each."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", OUT_OF_DESCRIPTORS, handler],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for handler in handlers
    ]
    with ExitStack() as stack:
        for child in children:
            assert child.stdout is not None
            port = int(child.stdout.readline())
            for _ in range(40):
                stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        return [child.communicate(timeout=20)[0].decode(errors="replace") for child in children]


@pytest.mark.slow
def test_accept_failures_are_logged_once_with_a_count() -> None:
    default, ours = _accept_storms("default", "ours")
    # asyncio alone: one report (with its traceback) per failed accept.
    assert default.count("socket.accept() out of system resource") > 100
    assert ours.count("cannot accept connections: Too many open files") == 1
    assert len(ours) < 1000


XML_DOCTYPE = (
    '<?xml version="1.0" encoding="{encoding}"?>\n'
    '<!DOCTYPE OrderRequest [<!ENTITY ref "880002">]>\n'
    "<OrderRequest><ClientOrderRef>880002</ClientOrderRef>"
    "<CurrencyCode>SEK</CurrencyCode></OrderRequest>"
)


@pytest.mark.parametrize(
    ("encoding", "codec", "bom"),
    [
        ("UTF-16", "utf-16-le", b"\xff\xfe"),
        ("UTF-16", "utf-16-be", b"\xfe\xff"),
        ("UTF-16LE", "utf-16-le", b""),
        ("UTF-16BE", "utf-16-be", b""),
        ("UTF-32", "utf-32-le", b"\xff\xfe\x00\x00"),
        ("UTF-32", "utf-32-be", b"\x00\x00\xfe\xff"),
        ("UTF-8", "utf-8", b"\xef\xbb\xbf"),
        ("IBM037", "cp037", b""),  # EBCDIC
    ],
)
def test_a_doctype_is_refused_in_any_encoding(encoding: str, codec: str, bom: bytes) -> None:
    body = bom + XML_DOCTYPE.format(encoding=encoding).encode(codec)
    with pytest.raises(BodyRefused, match="DOCTYPE"):
        parse_order(body, "xml")


LAUGHS = (
    '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>'
    "<OrderRequest><ClientOrderRef>&f;</ClientOrderRef></OrderRequest>"
)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_an_entity_bomb_without_bom_or_declaration_is_refused_for_its_doctype(codec: str) -> None:
    with pytest.raises(BodyRefused, match="DOCTYPE"):
        parse_order(LAUGHS.encode(codec), "xml")


def test_the_same_order_without_a_doctype_is_read_in_utf16() -> None:
    text = XML_DOCTYPE.format(encoding="UTF-16").replace(
        '<!DOCTYPE OrderRequest [<!ENTITY ref "880002">]>\n', ""
    )
    assert parse_order(b"\xff\xfe" + text.encode("utf-16-le"), "xml").client_order_ref == "880002"
