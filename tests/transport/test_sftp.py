"""SftpStore beyond the contract: host key pinning, authentication, timeouts, what errors say."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from typing import Any

import asyncssh
import paramiko
import pytest
from pydantic import SecretStr

from etl.errors import HostKeyRejected, TransportError
from etl.transport import SftpStore
from tests.support.sftp_server import (
    SftpServerInfo,
    known_hosts_line,
    other_host_key,
    silent_server,
)


def connect(server: SftpServerInfo, **overrides: Any) -> SftpStore:
    """A store on the test server; `list(".")` forces the connection."""
    return SftpStore("erp", server.settings(**overrides))


def failure(store: SftpStore) -> TransportError:
    with store, pytest.raises(TransportError) as caught:
        store.list(".")
    return caught.value


def chain(exc: BaseException | None) -> str:
    """Every message in an exception's cause chain."""
    parts = []
    while exc is not None:
        parts.append(f"{exc!r} {exc}")
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


# -- host key -------------------------------------------------------------------------------


def test_unknown_host_is_rejected(sftp_server: SftpServerInfo, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    error = failure(connect(sftp_server, known_hosts=empty))
    assert isinstance(error, HostKeyRejected)
    assert f"[127.0.0.1]:{sftp_server.port} is not in" in str(error)
    assert sftp_server.fingerprint in str(error)


def test_changed_host_key_is_rejected(sftp_server: SftpServerInfo, tmp_path: Path) -> None:
    stale = tmp_path / "known_hosts"
    stale.write_text(known_hosts_line("127.0.0.1", sftp_server.port, other_host_key()))
    error = failure(connect(sftp_server, known_hosts=stale))
    assert isinstance(error, HostKeyRejected)
    assert "changed" in str(error)
    assert sftp_server.fingerprint in str(error)


def test_hashed_known_hosts_entry_is_accepted(sftp_server: SftpServerInfo, tmp_path: Path) -> None:
    name, rest = sftp_server.known_hosts_path.read_text().split(" ", 1)
    hashed = tmp_path / "known_hosts"
    hashed.write_text(f"{paramiko.HostKeys.hash_host(name)} {rest}")
    with connect(sftp_server, known_hosts=hashed) as store:
        assert store.list("no-such-folder") == []


def test_fingerprint_pin_is_accepted(sftp_server: SftpServerInfo) -> None:
    pinned = connect(sftp_server, known_hosts=None, host_key_fingerprint=sftp_server.fingerprint)
    with pinned:
        assert pinned.list("no-such-folder") == []


def test_wrong_fingerprint_is_rejected(sftp_server: SftpServerInfo) -> None:
    wrong = other_host_key().get_fingerprint("sha256")
    error = failure(connect(sftp_server, known_hosts=None, host_key_fingerprint=wrong))
    assert isinstance(error, HostKeyRejected)
    assert sftp_server.fingerprint in str(error)
    assert wrong in str(error)


def test_a_missing_known_hosts_file_is_named(sftp_server: SftpServerInfo, tmp_path: Path) -> None:
    missing = tmp_path / "known_hosts"
    error = failure(connect(sftp_server, known_hosts=missing))
    assert f"known_hosts {missing} does not exist" in str(error)


def test_nothing_pinned_is_rejected(sftp_server: SftpServerInfo) -> None:
    error = failure(connect(sftp_server, known_hosts=None))
    assert isinstance(error, HostKeyRejected)
    assert "host_key_fingerprint" in str(error)
    assert "known_hosts" in str(error)
    assert sftp_server.fingerprint in str(error)


# -- authentication -------------------------------------------------------------------------


def test_wrong_password_is_a_transport_error(sftp_server: SftpServerInfo) -> None:
    error = failure(connect(sftp_server, password=SecretStr("not-the-password")))
    assert not isinstance(error, HostKeyRejected)
    assert "not-the-password" not in chain(error)


def test_no_credentials_is_a_transport_error(sftp_server: SftpServerInfo) -> None:
    error = failure(connect(sftp_server, password=None, key_file=None))
    assert "no key_file or password" in str(error)


def test_a_missing_key_file_is_named(sftp_server: SftpServerInfo, tmp_path: Path) -> None:
    missing = tmp_path / "id_ed25519"
    error = failure(connect(sftp_server, auth="key", key_file=missing))
    assert f"key_file {missing} does not exist" in str(error)


def test_passphrase_protected_key(sftp_server: SftpServerInfo, tmp_path: Path) -> None:
    locked = tmp_path / "locked_ed25519"
    key = asyncssh.read_private_key(sftp_server.client_key_path)
    # Few bcrypt rounds: the default 128 costs a second per load, and the test loads it often.
    key.write_private_key(locked, passphrase="open sesame", rounds=4, ignore_few_rounds=True)
    error = failure(connect(sftp_server, auth="key", key_file=locked))
    assert "key_passphrase" in str(error)
    wrong = failure(
        connect(sftp_server, auth="key", key_file=locked, key_passphrase=SecretStr("x"))
    )
    assert "open sesame" not in chain(wrong)
    unlocked = connect(
        sftp_server, auth="key", key_file=locked, key_passphrase=SecretStr("open sesame")
    )
    with unlocked:
        assert unlocked.list("no-such-folder") == []


# -- timeouts and unreachable servers -------------------------------------------------------


def test_silent_server_times_out(sftp_server: SftpServerInfo) -> None:
    with silent_server() as (host, port):
        store = connect(sftp_server, host=host, port=port, timeout_seconds=0.5)
        started = time.monotonic()
        error = failure(store)
    assert time.monotonic() - started < 3
    assert f"{host}:{port}" in str(error)


def test_refused_connection_is_a_transport_error(sftp_server: SftpServerInfo) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = failure(connect(sftp_server, port=port))
    assert f"127.0.0.1:{port}" in str(error)


# -- connection life ------------------------------------------------------------------------


def test_connects_lazily_and_reuses_the_connection(sftp_server: SftpServerInfo) -> None:
    before = sftp_server.log.connections
    store = connect(sftp_server)
    assert sftp_server.log.connections == before
    with store:
        for _ in range(3):
            store.list(".")
            store.exists("x.csv")
    assert sftp_server.log.connections == before + 1


def test_closed_store_reconnects_on_next_use(sftp_server: SftpServerInfo) -> None:
    store = connect(sftp_server)
    store.list(".")
    store.close()
    store.close()  # twice is harmless
    with store:
        assert store.list("no-such-folder") == []


# -- what errors say ------------------------------------------------------------------------


def test_errors_name_store_host_and_path_never_the_password(
    sftp_server: SftpServerInfo, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with connect(sftp_server) as store, pytest.raises(TransportError) as caught:
        store.download("exports/missing.csv", tmp_path / "t.csv")
    message = str(caught.value)
    assert "'erp'" in message
    assert f"127.0.0.1:{sftp_server.port}" in message
    assert "exports/missing.csv" in message
    assert sftp_server.password not in chain(caught.value)
    assert sftp_server.password not in caplog.text


def test_key_and_password_together(sftp_server: SftpServerInfo) -> None:
    with connect(sftp_server, auth="both") as store:
        assert store.list("no-such-folder") == []
