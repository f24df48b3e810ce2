"""Reading an SFTP folder with every name as the server's bytes.

paramiko decodes each name in a listing as UTF-8 and raises on the first that is not, which
would stop a whole pass on one file a Windows ERP named in Windows-1252. So the READDIR
replies are read here, with paramiko's request machinery, several requests in flight as
`listdir_iter` does (one at first, then twice as many each round, up to 16). Errors are
paramiko's and the OS's, for the caller to translate.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, cast

import paramiko
from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR, CMD_STATUS

# READDIR requests in flight at most; each reply carries up to ~100 names.
_AHEAD = 16
_A = paramiko.SFTPAttributes


class Entry(NamedTuple):
    """One folder entry: its name as bytes and the attributes a listing carries."""

    name: bytes
    mode: int | None
    size: int | None
    mtime: int | None


class Wire(Protocol):
    """The parts of paramiko.SFTPClient that send requests and match their replies."""

    def _request(self, t: int, *args: object) -> tuple[int, paramiko.Message]: ...

    def _async_request(self, fileobj: object, t: int, *args: object) -> int: ...

    def _read_response(self, waitfor: int | None = None) -> object: ...

    def _convert_status(self, msg: paramiko.Message) -> None: ...


class Replies:
    """Collects replies to requests sent ahead; paramiko hands each over by request number."""

    def __init__(self) -> None:
        self.got: dict[int, tuple[int, paramiko.Message]] = {}

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        self.got[num] = (t, msg)


def read_folder(sftp: paramiko.SFTPClient, remote: bytes) -> list[Entry]:
    """Every entry of the folder `remote` but `.` and `..`; FileNotFoundError if it is missing."""
    wire = cast(Wire, sftp)
    kind, msg = wire._request(CMD_OPENDIR, remote)
    if kind != CMD_HANDLE:
        raise paramiko.SFTPError("the server answered OPENDIR without a handle")
    handle = msg.get_binary()
    entries: list[Entry] = []
    try:
        done = False
        ahead = 1
        while not done:
            replies = Replies()
            sent = [wire._async_request(replies, CMD_READDIR, handle) for _ in range(ahead)]
            # One request first: a small folder (an export's target, most of the time) is one
            # reply and the end; a big one gets ever more requests in flight, up to _AHEAD.
            ahead = min(2 * ahead, _AHEAD)
            while len(replies.got) < len(sent):
                wire._read_response()
            for num in sent:
                kind, msg = replies.got[num]
                if done:
                    continue  # every request after the end is answered with EOF too
                if kind == CMD_STATUS:
                    done = _at_end(wire, msg)
                elif kind == CMD_NAME:
                    entries += _names(msg)
                else:
                    raise paramiko.SFTPError(f"unexpected reply {kind} to READDIR")
    finally:
        wire._request(CMD_CLOSE, handle)
    return entries


def _at_end(wire: Wire, msg: paramiko.Message) -> bool:
    """True at the end of the folder; any other status raises as paramiko would."""
    try:
        wire._convert_status(msg)
    except EOFError:
        return True
    return False


def _names(msg: paramiko.Message) -> list[Entry]:
    found = []
    for _ in range(msg.get_int()):
        name = msg.get_string()
        msg.get_string()  # the `ls -l` line, in the server's own words and encoding
        entry = Entry(name, *attributes(msg))
        if name not in (b".", b".."):
            found.append(entry)
    return found


def attributes(msg: paramiko.Message) -> tuple[int | None, int | None, int | None]:
    """(mode, size, mtime) of one SFTP v3 ATTRS block; the rest is read past."""
    flags = msg.get_int()
    size = msg.get_int64() if flags & _A.FLAG_SIZE else None
    if flags & _A.FLAG_UIDGID:
        msg.get_int(), msg.get_int()
    mode = msg.get_int() if flags & _A.FLAG_PERMISSIONS else None
    mtime = None
    if flags & _A.FLAG_AMTIME:
        msg.get_int()  # atime
        mtime = msg.get_int()
    if flags & _A.FLAG_EXTENDED:
        for _ in range(msg.get_int()):
            msg.get_string(), msg.get_string()
    return mode, size, mtime
