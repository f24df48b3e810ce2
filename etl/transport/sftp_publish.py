"""Publishing a batch of files over one SFTP session in three waits, not six round trips a file.

paramiko sends one request and waits for its answer; its pipelined writes (`putfo`) even drop
the answers to the writes and to the close, so a write the server refused shows only in the
size check after. Here each step's requests for every file of the batch are sent before any
answer is awaited, and every answer is read and checked:

1. open each temp name, created exclusively (SSH_FXF_EXCL);                       one wait
2. write each file, close it, lstat it (its size), lstat its final name (free?);  one wait
3. rename each whole file whose final name is free, never over a file;            one wait

A file is renamed only after the server acknowledged every write and the close and shows the
temp name holding exactly the file's size, so the other side never sees part of a file. The
server answers a session's requests in order (SFTP servers handle them one after the other),
but the answers are matched by request number, so any order would do.

Errors are paramiko's and the OS's, for SftpStore._failures to translate.
"""

from __future__ import annotations

import errno
import stat
import struct
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import paramiko
from paramiko.sftp import (
    CMD_ATTRS,
    CMD_CLOSE,
    CMD_HANDLE,
    CMD_LSTAT,
    CMD_OPEN,
    CMD_REMOVE,
    CMD_RENAME,
    CMD_STATUS,
    CMD_WRITE,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_EXCL,
    SFTP_FLAG_WRITE,
    int64,
)

from etl.errors import TransportError
from etl.transport.publish import short_upload
from etl.transport.sftp_listing import Replies, Wire, attributes

_CHUNK = 32768  # what paramiko's own put writes per request
_IN_FLIGHT = 256  # requests sent and not yet answered, at most: a big file never floods
_FLUSH_BYTES = 65536  # queued requests written to the channel at once, at most (about)
_CREATE_NEW = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_EXCL


@dataclass(frozen=True)
class Remote:
    """One file of the batch: the local file, its temp and final server paths, for messages."""

    source: Path
    temp: bytes
    path: bytes
    shown: str  # the temp's store path, as errors name it


class _Asking:
    """Requests sent ahead on one session; their answers gathered by request number.

    Requests are packed as paramiko's `_async_request` packs them, but written to the channel
    together when their answers are awaited (or a buffer's worth is ready): many requests ride
    one SSH packet instead of one each, so both ends encrypt, MAC and wake up once for them.
    """

    def __init__(self, sftp: paramiko.SFTPClient) -> None:
        self.sftp = sftp
        self.wire = cast(Wire, sftp)
        self.replies = Replies()
        self.pending: list[int] = []
        self.out = bytearray()  # packed requests not written yet

    def send(self, kind: int, *args: object) -> int:
        """Queue one request without waiting; its number, to find the answer by."""
        if len(self.pending) >= _IN_FLIGHT:
            self.wait()
        num = _pack(self.sftp, self.replies, kind, args, self.out)
        self.pending.append(num)
        if len(self.out) >= _FLUSH_BYTES:
            self.flush()
        return num

    def flush(self) -> None:
        """Write the queued requests to the channel (paramiko splits them into SSH packets)."""
        if self.out:
            out, self.out = bytes(self.out), bytearray()
            self.sftp._write_all(out)  # type: ignore[attr-defined]

    def wait(self) -> None:
        """Read answers until every request sent has one."""
        self.flush()
        for num in self.pending:
            while num not in self.replies.got:
                self.wire._read_response()
        self.pending = []

    def answer(self, num: int) -> tuple[int, paramiko.Message]:
        """The answer to request `num` (taken: each is read once)."""
        return self.replies.got.pop(num)

    def failure(self, num: int) -> BaseException | None:
        """The error a status answer carries; None for OK."""
        return self.status(*self.answer(num))

    def status(self, kind: int, msg: paramiko.Message) -> BaseException | None:
        """The error in a status answer, as paramiko raises it; None for OK."""
        if kind != CMD_STATUS:
            return paramiko.SFTPError(f"the server answered {kind} where a status was due")
        try:
            self.wire._convert_status(msg)
        except (OSError, EOFError) as exc:
            return exc
        return None


def _pack(
    sftp: paramiko.SFTPClient, replies: Replies, kind: int, args: tuple[object, ...], out: bytearray
) -> int:
    """Append one request to `out` as paramiko's `_async_request` would send it; its number."""
    msg = paramiko.Message()
    with sftp._lock:  # type: ignore[attr-defined]
        num: int = sftp.request_number
        msg.add_int(num)
        for item in args:
            if isinstance(item, int64):
                msg.add_int64(item)
            elif isinstance(item, int):
                msg.add_int(item)
            elif isinstance(item, paramiko.SFTPAttributes):
                item._pack(msg)  # type: ignore[attr-defined]
            else:
                msg.add_string(cast(bytes, item))
        sftp._expecting[num] = replies  # type: ignore[attr-defined]
        sftp.request_number += 1
    packet = msg.asbytes()
    out += struct.pack(">IB", len(packet) + 1, kind) + packet
    return num


def publish_batch(
    sftp: paramiko.SFTPClient,
    store: str,
    files: Sequence[Remote],
    published: Callable[[int], None],
    taken: Callable[[bytes], bool],
) -> None:
    """Publish `files` (see the module); `taken` tells an existing name from a refused open."""
    asking = _Asking(sftp)
    handles = _open_all(asking, files, taken)
    try:
        free = _write_all(asking, store, files, handles)
    except BaseException:
        # Best effort: a broken session cannot remove them; the next run's settle does.
        with suppress(paramiko.SSHException, OSError, EOFError):
            _remove_all(asking, [f.temp for f in files])
        raise
    _rename_all(asking, files, free, published)


def _open_all(
    asking: _Asking, files: Sequence[Remote], taken: Callable[[bytes], bool]
) -> list[bytes]:
    """A handle for each temp name, created exclusively; none left open or made on a failure."""
    sent = [asking.send(CMD_OPEN, f.temp, _CREATE_NEW, paramiko.SFTPAttributes()) for f in files]
    asking.wait()
    handles: list[bytes | None] = []
    first: tuple[Remote, BaseException] | None = None
    for file, num in zip(files, sent, strict=True):
        kind, msg = asking.answer(num)
        if kind == CMD_HANDLE:
            handles.append(msg.get_binary())
            continue
        handles.append(None)
        if first is None:
            error = asking.status(kind, msg) or paramiko.SFTPError("OPEN answered no handle")
            first = (file, error)
    if first is None:
        return [h for h in handles if h is not None]
    opened = [(f, h) for f, h in zip(files, handles, strict=True) if h is not None]
    for _, handle in opened:
        asking.send(CMD_CLOSE, handle)
    _remove_all(asking, [f.temp for f, _ in opened])
    file, error = first
    # SFTP v3 has no "exists" status: servers answer an exclusive open of a taken name with
    # a bare failure, so look.
    if not isinstance(error, FileNotFoundError) and taken(file.temp):
        raise FileExistsError(errno.EEXIST, "target exists", file.shown) from error
    raise error


def _write_all(
    asking: _Asking, store: str, files: Sequence[Remote], handles: Sequence[bytes]
) -> list[bool]:
    """Write and close every file, check each whole on the server; whether each final is free."""
    checks = []
    for file, handle in zip(files, handles, strict=True):
        written = _send_bytes(asking, file.source, handle)
        closed = asking.send(CMD_CLOSE, handle)
        checks.append((written, closed, asking.send(CMD_LSTAT, file.temp), file))
    finals = [asking.send(CMD_LSTAT, f.path) for f in files]
    asking.wait()
    for written, closed, size_num, file in checks:
        for num in (*written, closed):
            error = asking.failure(num)
            if error is not None:
                raise error
        found = _size(asking, size_num)
        expected = file.source.stat().st_size
        if found != expected:
            raise TransportError(short_upload(store, file.shown, found, expected))
    return [_missing(asking, num) for num in finals]


def _send_bytes(asking: _Asking, source: Path, handle: bytes) -> list[int]:
    with source.open("rb") as data:
        return _send_stream(asking, data, handle)


def _send_stream(asking: _Asking, data: BinaryIO, handle: bytes) -> list[int]:
    nums = []
    offset = 0
    while chunk := data.read(_CHUNK):
        nums.append(asking.send(CMD_WRITE, handle, int64(offset), chunk))
        offset += len(chunk)
    return nums


def open_new(sftp: paramiko.SFTPClient, remote: bytes) -> bytes:
    """A handle on `remote`, created exclusively (SSH_FXF_EXCL: never over a file)."""
    asking = _Asking(sftp)
    num = asking.send(CMD_OPEN, remote, _CREATE_NEW, paramiko.SFTPAttributes())
    asking.wait()
    kind, msg = asking.answer(num)
    if kind != CMD_HANDLE:
        raise asking.status(kind, msg) or paramiko.SFTPError("OPEN answered no handle")
    return msg.get_binary()


def write_and_close(sftp: paramiko.SFTPClient, data: BinaryIO, handle: bytes) -> None:
    """Write `data` through `handle` and close it, the writes sent ahead and every answer
    checked (paramiko's pipelined writes drop them, so a refused write went unseen)."""
    asking = _Asking(sftp)
    sent = [*_send_stream(asking, data, handle), asking.send(CMD_CLOSE, handle)]
    asking.wait()
    for num in sent:
        error = asking.failure(num)
        if error is not None:
            raise error


def _size(asking: _Asking, num: int) -> int | None:
    """The size an LSTAT answer gives a regular file; None for anything else."""
    kind, msg = asking.answer(num)
    if kind != CMD_ATTRS:
        return None
    mode, size, _ = attributes(msg)
    return size if mode is not None and stat.S_ISREG(mode) else None


def _missing(asking: _Asking, num: int) -> bool:
    """Whether an LSTAT answer says nothing at all is at that name (anything but "no such
    file" that is not an error, even a dangling link, is something); an error raises."""
    kind, msg = asking.answer(num)
    if kind == CMD_ATTRS:
        return False
    error = asking.status(kind, msg)
    if isinstance(error, FileNotFoundError):
        return True
    raise error or paramiko.SFTPError("LSTAT answered neither attributes nor an error")


def _rename_all(
    asking: _Asking, files: Sequence[Remote], free: Sequence[bool], published: Callable[[int], None]
) -> None:
    """Rename each file whose final name is free; `published` for each that was, in order."""
    sent = {i: asking.send(CMD_RENAME, f.temp, f.path) for i, f in enumerate(files) if free[i]}
    asking.wait()
    first: BaseException | None = None
    for index, file in enumerate(files):
        if index not in sent:
            error: BaseException | None = FileExistsError(errno.EEXIST, "target exists", file.path)
        else:
            error = asking.failure(sent[index])
        if error is None:
            published(index)
        elif first is None:
            first = error
    if first is not None:
        raise first


def _remove_all(asking: _Asking, temps: Sequence[bytes]) -> None:
    """Best effort: the temp names this batch made, removed; what the server says is ignored."""
    for temp in temps:
        asking.send(CMD_REMOVE, temp)
    asking.wait()
    asking.replies.got.clear()
