"""A real SFTP server for tests: asyncssh on 127.0.0.1, in its own thread, chrooted to a folder.

    with run_sftp_server(root, tmp) as server:
        store = SftpStore("erp", server.settings(auth="key"))

The host key and a client key pair are generated per server; `known_hosts_path` and
`fingerprint` pin the host key the way an operator would.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import asyncssh
from pydantic import SecretStr

from etl.config.settings import SftpStoreSettings

USERNAME = "etl"
PASSWORD = "s3cret-Pa55word"  # tests assert it never appears in an error message

Auth = Literal["password", "key", "both"]


@dataclass
class ServerLog:
    """What the server saw; tests compare before and after."""

    connections: int = 0


@dataclass(frozen=True)
class SftpServerInfo:
    """How to reach a running test server."""

    host: str
    port: int
    username: str
    password: str
    client_key_path: Path
    known_hosts_path: Path
    fingerprint: str  # "SHA256:..." of the host key
    root: Path  # the local folder served as "/"
    log: ServerLog

    def settings(self, auth: Auth = "password", **overrides: Any) -> SftpStoreSettings:
        """Store settings pinned via known_hosts, with the chosen auth; `overrides` win."""
        fields: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "known_hosts": self.known_hosts_path,
            "password": SecretStr(self.password) if auth != "key" else None,
            "key_file": self.client_key_path if auth != "password" else None,
            "timeout_seconds": 5.0,
        }
        fields.update(overrides)
        return SftpStoreSettings(**fields)


class _Server(asyncssh.SSHServer):
    """Accepts one user, by password or by one public key."""

    def __init__(self, username: str, password: str, client_key: asyncssh.SSHKey) -> None:
        self._username = username
        self._password = password
        self._client_key = client_key.export_public_key()

    def begin_auth(self, username: str) -> bool:
        return True  # always require authentication

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self._username and password == self._password

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == self._username and key.export_public_key() == self._client_key


@contextmanager
def run_sftp_server(root: Path, tmp: Path) -> Iterator[SftpServerInfo]:
    """Serve `root` over SFTP on 127.0.0.1 until the block ends; keys are written under `tmp`."""
    tmp.mkdir(parents=True, exist_ok=True)
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key_path = tmp / "client_ed25519"
    client_key.write_private_key(client_key_path)

    log = ServerLog()

    def accept() -> _Server:
        log.connections += 1  # only the server's loop thread writes it
        return _Server(USERNAME, PASSWORD, client_key)

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="sftp-server", daemon=True)
    thread.start()

    async def start() -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            server_factory=accept,
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=os.fsencode(root)),
            allow_scp=False,
        )

    async def stop(server: asyncssh.SSHAcceptor) -> None:
        server.close()
        await server.wait_closed()

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    try:
        port = server.sockets[0].getsockname()[1]
        known_hosts = tmp / "known_hosts"
        known_hosts.write_text(known_hosts_line("127.0.0.1", port, host_key), encoding="utf-8")
        yield SftpServerInfo(
            host="127.0.0.1",
            port=port,
            username=USERNAME,
            password=PASSWORD,
            client_key_path=client_key_path,
            known_hosts_path=known_hosts,
            fingerprint=host_key.get_fingerprint("sha256"),
            root=root,
            log=log,
        )
    finally:
        asyncio.run_coroutine_threadsafe(stop(server), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def known_hosts_line(host: str, port: int, key: asyncssh.SSHKey) -> str:
    """One OpenSSH known_hosts line for `key` at host:port."""
    name = host if port == 22 else f"[{host}]:{port}"
    algorithm, blob = key.export_public_key().decode().split()[:2]
    return f"{name} {algorithm} {blob}\n"


def other_host_key() -> asyncssh.SSHKey:
    """A fresh ed25519 key, for a known_hosts entry the server will not match."""
    return asyncssh.generate_private_key("ssh-ed25519")


@contextmanager
def silent_server() -> Iterator[tuple[str, int]]:
    """A TCP port on 127.0.0.1 that accepts connections and never says a word."""
    # The kernel completes the handshake for queued connections, so listen() alone is enough.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()
