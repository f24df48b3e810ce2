"""Objects as files under a local folder: what the state areas have always done on disk.

A put writes a hidden temp file beside the object (etl.state.atomic names it), fsyncs it and
renames it into place, then fsyncs the folder: "stored" means on the disk, all of it. A
create-only put hard-links the temp file to the key instead of renaming it, which fails when
the name is taken, so of two writers exactly one stores it. Folders exist only while they hold
an object: a delete removes the folders its object leaves empty. Hidden names (temps being
written, or left by a dead writer) are never listed. A key cannot be an object and a prefix at
once here, as it can on S3; no caller needs both.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from etl.state.atomic import (
    PRIVATE,
    fsync_dir,
    fsync_dir_or_log,
    put_in_place,
    temp_path,
    write_temp,
)
from etl.state.blobs.base import (
    Blob,
    BlobExists,
    BlobNotFound,
    Listing,
    StorageError,
    check_key,
    check_prefix,
    is_listable,
    join,
)

_CHUNK = 1 << 20  # a put_file copies a large input in 1 MiB pieces, never whole in memory


class LocalBlobs:
    """A blob store on a folder of this machine."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"LocalBlobs({str(self.root)!r})"

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        """Write `data` to a temp file, fsync it, and move it to the key's name."""
        path = self._path(key)
        with _translated(key):
            self._place(write_temp(path, data, fsync=True), path, key, create_only=create_only)

    def put_file(self, key: str, source: Path, *, create_only: bool = False) -> None:
        """Copy `source` to a temp file in pieces, fsync it, and move it to the key's name."""
        path = self._path(key)
        with _translated(key):
            self._place(_copied(source, path), path, key, create_only=create_only)

    def read(self, key: str) -> bytes:
        """The file's bytes."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise BlobNotFound(f"{key}: no such object in {self.root}") from exc
        except OSError as exc:
            raise StorageError(f"{key}: cannot read: {exc}") from exc

    def get_file(self, key: str, target: Path) -> int:
        """Copy the file in pieces to a temp file beside `target`, fsync it, rename it."""
        source = self._path(key)
        with _translated(key):
            try:
                temp = _copied(source, target)
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
                raise BlobNotFound(f"{key}: no such object in {self.root}") from exc
            put_in_place(temp, target)
        return target.stat().st_size

    def stat(self, key: str) -> Blob | None:
        """The regular file under the key, never through a symlink."""
        try:
            found = self._path(key).lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StorageError(f"{key}: cannot look: {exc}") from exc
        if not stat.S_ISREG(found.st_mode):
            return None
        return Blob(key, found.st_size, modified=_modified(found))

    def list(self, prefix: str) -> Listing:
        """Files and non-empty folders directly in the prefix's folder, hidden names left out."""
        folder = self.root.joinpath(*check_prefix(prefix).split("/")) if prefix else self.root
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return Listing()
        except OSError as exc:
            raise StorageError(f"{prefix or '(top)'}: cannot list: {exc}") from exc
        blobs, folders = [], []
        for entry in entries:
            if not is_listable(entry.name) or entry.is_symlink():
                continue
            if entry.is_file():
                found = entry.stat()
                blobs.append(
                    Blob(join(prefix, entry.name), found.st_size, modified=_modified(found))
                )
            elif entry.is_dir() and _holds_object(Path(entry.path)):
                folders.append(entry.name)
        return Listing(blobs, folders)

    def delete(self, key: str) -> None:
        """Unlink the file, then the folders it leaves empty (up to the root)."""
        path = self._path(key)
        with _translated(key):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
                path.unlink()
            self._prune(path.parent)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def _place(self, temp: Path, path: Path, key: str, *, create_only: bool) -> None:
        """Move a finished, fsync'd temp file to `path`, then make that durable."""
        try:
            if create_only:
                try:
                    os.link(temp, path)  # fails if the name is taken: one writer wins
                except FileExistsError as exc:
                    raise BlobExists(f"{key}: already stored in {self.root}") from exc
                finally:
                    temp.unlink(missing_ok=True)
            else:
                temp.replace(path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)

    def _prune(self, folder: Path) -> None:
        """Remove `folder` and its parents while they are empty; the root stays."""
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:  # not empty (or already gone with a racing delete): stop
                return
            # An empty folder back after a power cut is pruned by the next delete.
            fsync_dir_or_log(folder.parent, "pruning empty blob folders")
            folder = folder.parent


@contextlib.contextmanager
def _translated(key: str) -> Iterator[None]:
    """The one place an OSError of a write becomes a StorageError."""
    try:
        yield
    except StorageError:
        raise
    except OSError as exc:
        raise StorageError(f"{key}: cannot store: {exc}") from exc


def _copied(source: Path, path: Path) -> Path:
    """`source` copied to a fresh, owner-only, fsync'd temp file beside `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(path)
    # O_EXCL: never write through a file (or symlink) someone else put at the temp name.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    try:
        with os.fdopen(fd, "wb") as target, source.open("rb") as origin:
            os.fchmod(target.fileno(), PRIVATE)
            shutil.copyfileobj(origin, target, _CHUNK)
            target.flush()
            os.fsync(target.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _holds_object(folder: Path) -> bool:
    """Whether any file a key may name lies below `folder` (S3 has no empty folders)."""
    return any(
        p.is_file() and not p.is_symlink() and all(map(is_listable, p.relative_to(folder).parts))
        for p in folder.rglob("*")
    )


def _modified(found: os.stat_result) -> dt.datetime:
    """A file's modification time, as S3's LastModified is given."""
    return dt.datetime.fromtimestamp(found.st_mtime, dt.UTC)
