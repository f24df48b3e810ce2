"""SftpStore: the Store seam over SFTP (paramiko), host key pinned, every step timed out.

The connection opens on first use and lives as long as the store. paramiko, socket and OS
errors become TransportError in exactly one place, `SftpStore._failures`.
"""

from __future__ import annotations

import builtins
import errno
import logging
import posixpath
import socket
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import paramiko
from paramiko.hostkeys import InvalidHostKey
from paramiko.pkey import UnknownKeyType
from pydantic import SecretStr

from etl.config.settings import SftpStoreSettings
from etl.errors import HostKeyRejected, TransportError
from etl.transport.base import RemoteFile, safe_relative
from etl.transport.names import RawNames
from etl.transport.publish import Outgoing
from etl.transport.sftp_listing import read_folder
from etl.transport.sftp_publish import Remote, open_new, publish_batch, write_and_close

_log = logging.getLogger(__name__)

# Everything paramiko, the socket layer and the key and known_hosts loaders raise.
_LIBRARY_ERRORS = (
    paramiko.SSHException,
    paramiko.SFTPError,
    UnknownKeyType,
    InvalidHostKey,
    OSError,
    EOFError,
)
# After these the session is unusable (a timed-out request leaves its reply in flight).
_BROKEN = (paramiko.SSHException, EOFError, TimeoutError)
# 64 requests of 32 KiB in flight: fast on long links, bounded memory for any file size.
_PREFETCH_REQUESTS = 64
# known_hosts stores RSA keys as "ssh-rsa"; the negotiated algorithms are named differently.
_KEY_ALGORITHMS = {"ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]}


class SftpStore:
    """A folder tree on an SFTP server behind the Store protocol."""

    def __init__(self, name: str, settings: SftpStoreSettings) -> None:
        self.name = name
        self.read_only = settings.read_only
        self._settings = settings
        self._where = f"sftp store {name!r} ({settings.username}@{settings.host}:{settings.port})"
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._names = RawNames()

    def list(self, folder: str, *, missing_ok: bool = True) -> builtins.list[RemoteFile]:
        """Regular files directly in `folder`; a missing folder is empty when `missing_ok`."""
        rel = self._relative("list", folder)
        with self._failures("list", folder):
            sftp = self._client()  # outside the try: a missing key file is no missing folder
            try:
                entries = read_folder(sftp, self._remote(rel))
            except FileNotFoundError:
                self._missing(folder, missing_ok)
                return []
        files = [e for e in entries if e.mode is not None and stat.S_ISREG(e.mode)]
        names = self._names.listed(rel, [e.name for e in files])
        return [
            RemoteFile(
                posixpath.normpath(posixpath.join(rel, name)), e.size or 0, float(e.mtime or 0)
            )
            for name, e in zip(names, files, strict=True)
        ]

    def stat(self, path: str) -> RemoteFile | None:
        """The regular file at `path` (not a symlink) as a listing shows it, else None."""
        rel = self._relative("stat", path)
        with self._failures("stat", path):
            sftp = self._client()
            try:
                attrs = sftp.lstat(self._remote(rel))
            except FileNotFoundError:
                return None
        if attrs.st_mode is None or not stat.S_ISREG(attrs.st_mode):
            return None
        return RemoteFile(rel, attrs.st_size or 0, float(attrs.st_mtime or 0))

    def download(self, path: str, target: Path) -> None:
        """Stream `path` into the local file `target`, creating its folder."""
        remote = self._remote(self._relative("download", path))
        with self._failures("download", path):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with target.open("wb") as out:
                    self._client().getfo(
                        remote,
                        out,
                        prefetch=True,
                        max_concurrent_prefetch_requests=_PREFETCH_REQUESTS,
                    )
            except BaseException:
                target.unlink(missing_ok=True)
                raise

    def upload(self, source: Path, path: str, *, through_temp: bool = True) -> None:
        """Copy `source` to `path` (through a temp name unless told); an existing one is an error."""
        rel = self._writable("upload", path)
        remote = self._remote(rel)
        folder, base = posixpath.split(remote)
        temp = posixpath.join(folder, b"." + base + b".part")
        with self._failures("upload", path), source.open("rb") as data:
            if not through_temp:
                self._create(data, remote, rel)
                return
            if self._taken(remote):
                raise FileExistsError(errno.EEXIST, "target exists", path)
            self._makedirs(posixpath.dirname(rel))
            try:
                self._client().putfo(data, temp, confirm=True)
                self._move_no_overwrite(temp, remote)
            except BaseException:
                self._discard(temp)
                raise

    def publish_many(self, files: Sequence[Outgoing], published: Callable[[int], None]) -> None:
        """Publish a batch as etl.transport.publish says, in three waits for the whole batch
        (etl.transport.sftp_publish) instead of six round trips a file."""
        if not files:
            return
        batch = [
            Remote(
                f.source,
                self._remote(self._writable("publish", f.temp)),
                self._remote(self._writable("publish", f.path)),
                f.temp,
            )
            for f in files
        ]
        shown = files[0].temp if len(files) == 1 else f"{files[0].temp} and {len(files) - 1} more"

        def relay(index: int) -> None:
            try:
                published(index)
            except Exception as exc:
                raise _Relayed(exc) from exc  # the caller's own error: not an SFTP failure

        try:
            with self._failures("publish", shown):
                for folder in sorted({posixpath.dirname(safe_relative(f.temp)) for f in files}):
                    self._makedirs(folder)
                publish_batch(self._client(), self.name, batch, relay, self._taken)
        except _Relayed as relayed:
            raise relayed.error from relayed.error.__cause__

    def rename(self, path: str, new_path: str) -> None:
        """Rename `path` to `new_path`, creating the folder; never overwrites."""
        source_rel = self._writable("rename", path)
        target_rel = self._writable("rename", new_path)
        source = self._remote(source_rel)
        target = self._at(self._names.renamed(source_rel, target_rel))
        with self._failures("rename", f"{path} -> {new_path}"):
            mode = self._client().stat(source).st_mode
            if mode is None or not stat.S_ISREG(mode):
                raise FileNotFoundError(errno.ENOENT, "no such file", path)
            plain = self._remote(target_rel)
            if target != plain and self._taken(target):
                # A cp1252 name kept its bytes, and a file with those bytes is there already:
                # take the text name the caller checked was free (its UTF-8 bytes) instead.
                target = plain
            try:
                self._move_no_overwrite(source, target)
            except FileNotFoundError:
                # The source is there (looked at above): the target's folder is missing.
                self._makedirs(posixpath.dirname(target_rel))
                self._move_no_overwrite(source, target)

    def remove(self, path: str) -> None:
        """Delete one file."""
        remote = self._remote(self._writable("remove", path))
        with self._failures("remove", path):
            self._client().remove(remote)

    def exists(self, path: str) -> bool:
        """Whether a regular file exists at `path`."""
        remote = self._remote(self._relative("check", path))
        with self._failures("check", path):
            sftp = self._client()
            try:
                mode = sftp.stat(remote).st_mode
            except FileNotFoundError:
                return False
            return mode is not None and stat.S_ISREG(mode)

    def close(self) -> None:
        """Close the connection; a later call would open a new one."""
        sftp, transport = self._sftp, self._transport
        self._sftp = self._transport = None
        # Closing a session that is already broken may fail; there is nothing left to release.
        with suppress(*_LIBRARY_ERRORS):
            if sftp is not None:
                sftp.close()
        with suppress(*_LIBRARY_ERRORS):
            if transport is not None:
                transport.close()

    def __enter__(self) -> SftpStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- paths -------------------------------------------------------------------------------

    def _relative(self, action: str, path: str) -> str:
        try:
            return safe_relative(path)
        except TransportError as exc:
            raise self._error(action, path, str(exc)) from exc

    def _writable(self, action: str, path: str) -> str:
        if self.read_only:
            raise self._error(action, path, "the store is read-only")
        return self._relative(action, path)

    def _remote(self, rel: str) -> bytes:
        return self._at(self._names.raw(rel))

    def _at(self, raw: bytes) -> bytes:
        """The server path of a store-relative path's bytes (paramiko sends bytes as they are)."""
        return posixpath.normpath(posixpath.join(self._settings.root.encode(), raw))

    def _message(self, action: str, path: str, reason: str) -> str:
        return f"{self._where}: cannot {action} {path!r}: {reason}"

    def _error(self, action: str, path: str, reason: str) -> TransportError:
        return TransportError(self._message(action, path, reason))

    # -- remote steps (always inside _failures) ----------------------------------------------

    def _missing(self, folder: str, missing_ok: bool) -> None:
        """After a listing found no folder: the root missing, or the folder when it must exist."""
        root = self._settings.root
        if not self._is_dir(self._at(b".")):
            raise TransportError(f"the remote root {root!r} does not exist")
        if not missing_ok:
            raise TransportError(f"folder {folder!r} does not exist under the remote root {root!r}")

    def _taken(self, remote: bytes) -> bool:
        """Whether anything (file, folder, even a dangling link) occupies `remote`."""
        sftp = self._client()
        try:
            sftp.lstat(remote)
        except FileNotFoundError:
            return False
        return True

    def _create(self, data: BinaryIO, remote: bytes, rel: str) -> None:
        """Write `data` to a new file `remote`: created exclusively, its folder made if missing.

        Three requests in all (open, the pipelined writes, close): the folder is looked at
        only when the open says it is missing, and an existing file only when the open fails.
        """
        try:
            self._write_new(data, remote)
        except FileNotFoundError:
            self._makedirs(posixpath.dirname(rel))
            data.seek(0)
            self._write_new(data, remote)

    def _write_new(self, data: BinaryIO, remote: bytes) -> None:
        sftp = self._client()
        try:
            handle = open_new(sftp, remote)
        except FileNotFoundError:
            raise
        except OSError as exc:
            # SFTP v3 has no "exists" status: servers answer a bare failure.
            if self._taken(remote):
                raise FileExistsError(errno.EEXIST, "target exists", remote) from exc
            raise
        try:
            write_and_close(sftp, data, handle)
        except BaseException:
            self._discard(remote)
            raise

    def _makedirs(self, rel_folder: str) -> None:
        """Create `rel_folder` and its parents under the root; existing ones are fine."""
        sftp = self._client()
        if self._is_dir(self._remote(rel_folder)):
            return
        current = "."
        for part in rel_folder.split("/"):
            current = posixpath.join(current, part)
            remote = self._remote(current)
            if not self._is_dir(remote):
                sftp.mkdir(remote)

    def _is_dir(self, remote: bytes) -> bool:
        sftp = self._client()
        try:
            mode = sftp.stat(remote).st_mode
        except FileNotFoundError:
            return False
        return mode is not None and stat.S_ISDIR(mode)

    def _move_no_overwrite(self, source: bytes, target: bytes) -> None:
        # SFTP rename refuses an existing target, but some servers overwrite: check first.
        if self._taken(target):
            raise FileExistsError(errno.EEXIST, "target exists", target)
        self._client().rename(source, target)

    def _discard(self, remote: bytes) -> None:
        """Best-effort removal of a temp file after a failed upload."""
        if self._sftp is None:
            return
        with suppress(*_LIBRARY_ERRORS):
            self._sftp.remove(remote)

    @contextmanager
    def _failures(self, action: str, path: str) -> Iterator[None]:
        """The one place paramiko, socket and OS errors become TransportError."""
        try:
            yield
        except TransportError as exc:
            # Raised while connecting (host key, configuration): keep the class, add the context.
            raise type(exc)(self._message(action, path, str(exc))) from exc
        except FileExistsError as exc:
            raise self._error(action, path, "the target already exists") from exc
        except _LIBRARY_ERRORS as exc:
            if isinstance(exc, _BROKEN) or not self._is_connected():
                self.close()
            raise self._error(action, path, _reason(exc)) from exc

    # -- connection ----------------------------------------------------------------------------

    def _is_connected(self) -> bool:
        return self._transport is not None and self._transport.is_active()

    def _client(self) -> paramiko.SFTPClient:
        # A server may drop an idle session between two ticks: reconnect rather than fail.
        if self._sftp is not None and not self._is_connected():
            self.close()
        if self._sftp is None:
            self._sftp = self._connect()
        return self._sftp

    def _connect(self) -> paramiko.SFTPClient:
        s = self._settings
        if s.key_file is None and s.password is None:
            raise TransportError("no key_file or password is configured")
        for key, path in (("known_hosts", s.known_hosts), ("key_file", s.key_file)):
            if path is not None and not path.is_file():
                raise TransportError(f"{key} {path} does not exist or is not a file")
        known = paramiko.HostKeys(s.known_hosts) if s.known_hosts is not None else None
        sock = socket.create_connection((s.host, s.port), timeout=s.timeout_seconds)
        # SSH sends many small packets back to back; with Nagle each exchange waits ~40 ms
        # for a delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = paramiko.Transport(sock)
        self._transport = transport
        try:
            sftp = self._start(transport, known)
        except BaseException:
            self.close()
            raise
        _log.debug("%s: connected", self._where)
        return sftp

    def _start(
        self, transport: paramiko.Transport, known: paramiko.HostKeys | None
    ) -> paramiko.SFTPClient:
        timeout = self._settings.timeout_seconds
        transport.banner_timeout = transport.handshake_timeout = timeout
        transport.auth_timeout = transport.channel_timeout = timeout
        entries = known.lookup(self._known_hosts_name()) if known is not None else None
        if entries:
            _prefer_key_types(transport, builtins.list(entries.keys()))
        negotiated = threading.Event()
        transport.start_client(event=negotiated)
        # A backstop only: the banner and handshake timeouts normally end a stalled start first.
        if not negotiated.wait(2 * timeout + 1):
            raise TimeoutError("timed out negotiating the SSH session")
        if not transport.is_active():
            raise transport.get_exception() or paramiko.SSHException("SSH negotiation failed")
        self._verify_host_key(transport.get_remote_server_key(), entries)
        self._authenticate(transport)
        return self._open_sftp(transport, timeout)

    def _open_sftp(self, transport: paramiko.Transport, timeout: float) -> paramiko.SFTPClient:
        channel = transport.open_session(timeout=timeout)
        channel.settimeout(timeout)
        # invoke_subsystem waits without a limit; closing the transport is what wakes it.
        watchdog = threading.Timer(timeout, transport.close)
        watchdog.start()
        try:
            channel.invoke_subsystem("sftp")
            return paramiko.SFTPClient(channel)
        finally:
            watchdog.cancel()

    def _known_hosts_name(self) -> str:
        s = self._settings
        return s.host if s.port == 22 else f"[{s.host}]:{s.port}"

    def _verify_host_key(
        self, key: paramiko.PKey, entries: paramiko.hostkeys._SubDict | None
    ) -> None:
        """Accept the server's key only if it matches every pin configured; never learn it."""
        s = self._settings
        presented = f"{key.get_name()} {key.fingerprint}"
        if s.known_hosts is None and s.host_key_fingerprint is None:
            raise HostKeyRejected(
                f"no host key is pinned; the server presented {presented}. "
                "Compare it with the fingerprint the server's operator gives you, then set "
                "host_key_fingerprint to it or point known_hosts at a file listing the key"
            )
        if s.host_key_fingerprint is not None:
            pinned = s.host_key_fingerprint.strip().rstrip("=")
            if key.fingerprint != pinned:
                raise HostKeyRejected(
                    f"host key mismatch: the server presented {presented}, "
                    f"host_key_fingerprint is {pinned}"
                )
        if s.known_hosts is not None:
            name = self._known_hosts_name()
            if not entries:
                raise HostKeyRejected(
                    f"{name} is not in {s.known_hosts}; the server presented "
                    f"{presented}. Verify it with the server's operator, then add it"
                )
            if entries.get(key.get_name()) != key:
                expected = ", ".join(f"{k.get_name()} {k.fingerprint}" for k in entries.values())
                raise HostKeyRejected(
                    f"host key for {name} changed: the server presented "
                    f"{presented}, {s.known_hosts} has {expected}"
                )

    def _authenticate(self, transport: paramiko.Transport) -> None:
        """Try the key, then the password; a server may ask for both."""
        s = self._settings
        if s.key_file is not None:
            try:
                transport.auth_publickey(s.username, _load_key(s.key_file, s.key_passphrase))
            except paramiko.AuthenticationException:
                if s.password is None:
                    raise
        if s.password is not None and not transport.is_authenticated():
            transport.auth_password(s.username, s.password.get_secret_value())
        if not transport.is_authenticated():
            raise paramiko.AuthenticationException("the server wants more than key and password")


class _Relayed(Exception):
    """An error raised by a caller's callback, carried past `_failures` untranslated."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _reason(exc: BaseException) -> str:
    """A short human reason; paramiko's remote errors carry no file name, local ones do."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def _load_key(key_file: Path, passphrase: SecretStr | None) -> paramiko.PKey:
    """Load an ed25519, ecdsa or rsa private key, encrypted or not."""
    # paramiko 5.1 hands the passphrase straight to cryptography, which only takes bytes.
    secret = passphrase.get_secret_value().encode() if passphrase else None
    try:
        return paramiko.PKey.from_path(key_file, secret)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        # paramiko hands OpenSSH-format keys to cryptography, whose errors come through raw.
        hint = "" if passphrase else " (is key_passphrase set?)"
        raise paramiko.SSHException(f"cannot load key_file {key_file}: {exc}{hint}") from exc


def _prefer_key_types(transport: paramiko.Transport, known_types: builtins.list[str]) -> None:
    """Ask for the host key types known_hosts lists, so a server with several keys sends one."""
    options = transport.get_security_options()
    wanted = [alg for t in known_types for alg in _KEY_ALGORITHMS.get(t, [t])]
    first = [alg for alg in wanted if alg in options.key_types]
    options.key_types = first + [alg for alg in options.key_types if alg not in first]
