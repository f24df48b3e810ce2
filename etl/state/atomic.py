"""One way to put a file in place: a temp file in the same folder, fsync'd, renamed, folder fsync'd.

A reader (or a crash) sees the old file or the new one, never half of one. The durability rule is
the same for every caller: the file is fsync'd before the rename and its folder after it, so once
a write returns it survives a power cut. Files are owner-only (0600) unless a caller says
otherwise: what the product keeps holds personal data (see etl.state.private_files).

The temp file's name is owned here: `.<name>.<pid>-<token>.part`, unique per writer (the receiver
writes from several threads and processes at once), hidden, and matched by `TEMP_GLOB`, the one
pattern the clean-up of dead runs (etl.state.staged, etl.runtime) looks for.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".part"
# Every temp file (and staged run folder) is hidden and ends in `.part`: what a dead writer left.
TEMP_GLOB = f".*{TEMP_SUFFIX}"
PRIVATE = 0o600
# Room for ".", ".<pid>-<8 hex>.part" (pid up to 7 digits) within a 255-byte name.
_KEPT_NAME_BYTES = 200
# How a file system says it cannot fsync a folder at all (not that the disk failed).
_FOLDER_SYNC_REFUSED = frozenset({errno.EINVAL, errno.EBADF, errno.ENOTSUP, errno.EOPNOTSUPP})


def temp_path(path: Path) -> Path:
    """A fresh temp name next to `path` that no other writer (thread or process) would pick."""
    # Cut long names: the temp name must fit where the final one does (255 bytes).
    stem = path.name.encode()[:_KEPT_NAME_BYTES].decode(errors="ignore")
    return path.with_name(f".{stem}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}")


def is_temp(path: Path) -> bool:
    """Whether `path` is named as a temp file or staged folder (what `TEMP_GLOB` matches)."""
    return path.match(TEMP_GLOB)


def write_atomically(path: Path, data: bytes, *, mode: int = PRIVATE) -> None:
    """Put `data` at `path` durably and all at once, with `mode`."""
    with atomic_file(path, mode=mode) as handle:
        handle.write(data)


def write_text_atomically(path: Path, text: str, *, mode: int = PRIVATE) -> None:
    """Put `text` (UTF-8) at `path` durably and all at once, with `mode`."""
    write_atomically(path, text.encode("utf-8"), mode=mode)


def write_renamed(path: Path, data: bytes) -> None:
    """`data` at `path`: temp name, fsync, rename. The caller fsyncs the folder, once for the
    many files it puts there together (the spool's shared fsync, a delivery batch)."""
    temp = write_temp(path, data, fsync=True)
    try:
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_temp(path: Path, data: bytes, *, fsync: bool, mode: int = PRIVATE) -> Path:
    """`data` under a fresh temp name beside `path` (fsync'd if asked); the caller renames it.

    For writers that share the fsyncs (of the files or of their folder) among many files,
    as the spool and the export's outbox do; every other write is `write_atomically`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(path)
    # O_EXCL: never write through a file (or symlink) someone else put at the temp name.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)  # the umask must not narrow or widen it
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


@contextlib.contextmanager
def atomic_file(path: Path, *, mode: int = PRIVATE) -> Iterator[BinaryIO]:
    """A binary handle to write `path` in a stream; in place only when the block ends cleanly.

    An exception in the block removes the temp file and leaves the old `path` as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(path)
    # O_EXCL: never write through a file (or symlink) someone else put at the temp name.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)  # the umask must not narrow or widen it
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_path(path: Path, *, mode: int = PRIVATE) -> Iterator[Path]:
    """A temp path for a library that writes a file by name (polars, openpyxl); put in place after.

    The block writes the yielded path; on a clean exit it is fsync'd, given `mode` and renamed
    to `path`. An exception removes it and leaves the old `path` as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(path)
    try:
        yield temp
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    put_in_place(temp, path, mode=mode)


def put_in_place(temp: Path, path: Path, *, mode: int = PRIVATE) -> None:
    """Rename a finished temp file (named by `temp_path`) to `path`: `mode`, fsync, rename, fsync.

    For a writer that must look at what it wrote before deciding to keep it (a download that
    may have changed under it); a temp file it drops instead is its own to unlink.
    """
    try:
        temp.chmod(mode)
        fsync_file(temp)
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_file(path: Path) -> None:
    """Flush a file written by someone else's code to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Make the renames in `folder` durable; an I/O error (EIO, ENOSPC...) is raised.

    A caller that goes on after this (commits a run, answers OK) relies on the names being on
    disk. Only where folders cannot be fsync'd at all is there nothing to wait for: Windows
    (no folder handles) and the network and FUSE file systems that refuse it (EINVAL, EBADF,
    ENOTSUP), as PostgreSQL's fsync_fname allows for.
    """
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _FOLDER_SYNC_REFUSED:
            raise
    finally:
        os.close(fd)


def fsync_dir_or_log(folder: Path, what: str) -> None:
    """fsync `folder` after a tidy-up the next run repairs if lost: an I/O error is logged."""
    try:
        fsync_dir(folder)
    except OSError as exc:
        log.error("%s: the folder %s could not be fsync'd (%s); going on", what, folder, exc)
