"""The order spool on this machine's disk: each received body in a file, fsync'd, before OK.

A body is kept exactly as it came (JSON or XML): what Norce sent is the evidence when an
order is disputed. The name is derived from the order reference, made safe for a file
name, plus the body's hash (etl.state.spool_base.spool_name), so two different bodies for
one reference never overwrite each other and a reference like `../../x` cannot leave the
folder.

Past its retention (`run.py purge`) a body is removed and a tombstone `<name>.purged` takes
its place: its hash, size and when it went, no content. Reading it then says the body is
gone; recovery skips it (neither `.json` nor `.xml`). On object storage the same spool is
etl.state.blob_spool; `open_spool` (there) picks one from `[storage]`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from etl.state.atomic import PRIVATE, fsync_dir, write_atomically, write_renamed
from etl.state.folder_sync import SharedFolderSync
from etl.state.spool_base import (
    TOMBSTONE,
    BodyPurged,
    BodySpool,
    Spooled,
    check_spool_name,
    is_body_name,
    purged_error,
    read_tombstone,
    spool_name,
    tombstone,
)

__all__ = ["TOMBSTONE", "BodyPurged", "BodySpool", "Spool", "Spooled", "spool_name"]

# O_EXCL: never write through a file (or symlink) someone else put at the name.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


class Spool:
    """A folder of received bodies; `put` may be called from many threads at once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # Bodies put at the same time share one fsync of the folder, and a body's share runs
        # while its data is written (etl.state.folder_sync); when it fails, it failed for all.
        self._folder_synced = SharedFolderSync(self._sync_folder)

    def put(self, ref: str, body: bytes, kind: str) -> Spooled:
        """Store one body durably; the same body again replaces itself (one file per body).

        A new body is created under its own name, written and fsync'd, and the folder's fsync
        is shared with the bodies other threads put meanwhile: any folder fsync begun after
        the file was created will do, so one runs while the data is written (the two durable
        steps side by side; the folder's used to wait for the file's). No temp name and
        rename: the rename dirtied the folder again after the file's fsync, so every body cost
        the file system two journal commits instead of one (bench/receiver.py). A crash leaves
        a torn file under the name, never answered OK: its bytes do not match the hash in
        its name (`matches_name`), recovery passes it over and the sender's retry replaces it.
        """
        sha = hashlib.sha256(body).hexdigest()
        name = spool_name(ref, sha, kind)
        path = self.folder / name
        mark = self._create_synced(path, body)
        if mark is None:
            # The name is taken: the same bytes put before (its name says so), or a body torn
            # by a crash. Written again through a temp name and a rename: it may be the one
            # of a put whose fsync failed (answered 503). Linux reports such an error once, so
            # a second fsync alone would pass without the data on disk; a fresh file and
            # rename give the fsyncs something to write. A retry is rare and a body small.
            write_renamed(path, body)
            mark = self._folder_synced.note()
        # The caller answers 200 only after the folder holding the body is fsync'd.
        self._folder_synced.wait(mark)
        return Spooled(name, sha, kind, path)

    def _create_synced(self, path: Path, body: bytes) -> int | None:
        """A new file at `path` holding `body`, fsync'd; None when the name is taken, else
        the entry's mark for the folder's fsync (noted as soon as the file exists)."""
        fd = self._open_new(path)
        if fd is None:
            return None
        mark = self._folder_synced.note()
        try:
            os.fchmod(fd, PRIVATE)  # the umask must not narrow or widen it
            _write_all(fd, body)
            os.fsync(fd)
        except BaseException:
            _unlink_own(path, fd)  # not durable, never answered OK: no torn file left
            raise
        finally:
            os.close(fd)
        return mark

    def _open_new(self, path: Path) -> int | None:
        """A descriptor of a new file at `path`; None when the name is taken."""
        try:
            try:
                return os.open(path, _CREATE, PRIVATE)
            except FileNotFoundError:  # the first body of a new home: make the folder
                self.folder.mkdir(parents=True, exist_ok=True)
                return os.open(path, _CREATE, PRIVATE)
        except FileExistsError:
            return None

    def _sync_folder(self) -> None:
        fsync_dir(self.folder)

    def read(self, name: str) -> bytes:
        """The body stored under `name` (a bare file name from the order book)."""
        path = self._path(name)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            # Only a body that is not there is looked for among the tombstones: the export
            # reads thousands that are, and a tombstone's failed open cost as much as a body.
            gone = self.purged(name)
            if gone is not None:
                raise purged_error(name, gone) from None
            raise

    def exists(self, name: str) -> bool:
        """Whether the body's file is here."""
        return self._path(name).exists()

    def names(self) -> list[str]:
        """The bodies in the folder, sorted; none when it was never made."""
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir() if is_body_name(p.name))

    def purged(self, name: str) -> dict[str, object] | None:
        """The tombstone of a body removed past its retention; None while the body is kept."""
        try:
            data = self._path(name).with_name(name + TOMBSTONE).read_bytes()
        except OSError:
            return None
        return read_tombstone(data)

    def remove_body(self, name: str, at: str, retention_days: int) -> int:
        """Replace the body with its tombstone (hash, size, when); returns the bytes removed."""
        path = self._path(name)
        if path.is_symlink() or not path.is_file():
            return 0
        body = path.read_bytes()
        write_atomically(
            path.with_name(name + TOMBSTONE), tombstone(name, body, at, retention_days)
        )
        path.unlink()
        fsync_dir(self.folder)
        return len(body)

    def replace(self, name: str, body: bytes) -> None:
        """Write the file over the old one (temp, fsync, rename, folder fsync)."""
        write_atomically(self._path(name), body)

    def _path(self, name: str) -> Path:
        return self.folder / check_spool_name(name)


def _write_all(fd: int, data: bytes) -> None:
    """Every byte of `data` to `fd` (a write may take fewer than it was given)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _unlink_own(path: Path, fd: int) -> None:
    """Remove `path` if it is still the file open as `fd`: a writer of the same body that
    found the name taken may have put its whole file there meanwhile (it stays)."""
    try:
        if os.path.samestat(os.fstat(fd), path.stat()):
            path.unlink()
    except OSError:
        pass  # gone already, or unreadable: a retry replaces whatever is there
