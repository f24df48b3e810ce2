"""LocalStore: the Store seam over a folder on this machine (tests, samples, mounted shares).

OS errors are translated into TransportError in exactly one place, `LocalStore._failures`.
"""

from __future__ import annotations

import builtins
import errno
import os
import posixpath
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from etl.config.settings import LocalStoreSettings
from etl.errors import TransportError
from etl.state.private_files import make_store_folders, store_mode
from etl.transport.base import RemoteFile, safe_relative
from etl.transport.names import RawNames

# errno values meaning "this filesystem cannot hardlink", not "this link is wrong".
_NO_HARDLINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK})


class LocalStore:
    """A folder tree on this machine behind the Store protocol."""

    def __init__(self, name: str, settings: LocalStoreSettings) -> None:
        self.name = name
        self.read_only = settings.read_only
        self._root = settings.root.resolve()
        self._where = f"local store {name!r} ({self._root})"
        self._names = RawNames()

    def list(self, folder: str, *, missing_ok: bool = True) -> builtins.list[RemoteFile]:
        """Regular files directly in `folder`; a missing folder is empty when `missing_ok`."""
        files: builtins.list[tuple[bytes, os.stat_result]] = []
        with self._failures("list", folder):
            rel = safe_relative(folder)
            try:
                # Bytes: the names exactly as the filesystem holds them, UTF-8 or not.
                entries = builtins.list(os.scandir(os.fsencode(self._path(rel))))
            except FileNotFoundError:
                self._missing(folder, missing_ok)
                return []
            for entry in entries:
                try:
                    # lstat: symlinks are left out, as an SFTP server's listing leaves them out.
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # moved away since scandir saw it
                if stat.S_ISREG(info.st_mode):
                    files.append((entry.name, info))
        names = self._names.listed(rel, [name for name, _ in files])
        return [
            RemoteFile(posixpath.normpath(posixpath.join(rel, name)), info.st_size, info.st_mtime)
            for name, (_, info) in zip(names, files, strict=True)
        ]

    def stat(self, path: str) -> RemoteFile | None:
        """The regular file at `path` (not a symlink) as a listing shows it, else None."""
        with self._failures("stat", path):
            self._path(path)  # refuses a path that resolves outside the root
            try:
                info = os.lstat(self._root / os.fsdecode(self._names.raw(safe_relative(path))))
            except (FileNotFoundError, NotADirectoryError):
                return None
        if not stat.S_ISREG(info.st_mode):
            return None
        return RemoteFile(safe_relative(path), info.st_size, info.st_mtime)

    def download(self, path: str, target: Path) -> None:
        """Copy `path` to the local file `target`, creating its folder."""
        with self._failures("download", path):
            source = self._path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(source, target)
            except BaseException:
                target.unlink(missing_ok=True)
                raise

    def upload(self, source: Path, path: str, *, through_temp: bool = True) -> None:
        """Copy `source` to `path` (through a temp name unless told); an existing one is an error."""
        self._refuse_if_read_only("upload", path)
        with self._failures("upload", path), source.open("rb") as data:
            final = self._path(path)
            make_store_folders(final.parent)
            if not through_temp:
                _write_new(data, final)
                return
            temp = final.with_name(f".{final.name}.part")
            try:
                with temp.open("wb") as out:
                    shutil.copyfileobj(data, out)
                # The ERP's folder, not ours: the user's umask applies, as on an SFTP server.
                store_mode(temp)
                _move_no_overwrite(temp, final)
            finally:
                temp.unlink(missing_ok=True)

    def rename(self, path: str, new_path: str) -> None:
        """Rename `path` to `new_path`, creating the folder; never overwrites."""
        self._refuse_if_read_only("rename", path)
        with self._failures("rename", f"{path} -> {new_path}"):
            raw_target = self._names.renamed(safe_relative(path), safe_relative(new_path))
            source, target = self._path(path), self._contained(new_path, raw_target)
            if not source.is_file():
                raise FileNotFoundError(errno.ENOENT, "no such file", path)
            if os.path.lexists(target):
                # A cp1252 name kept its bytes, and a file with those bytes is there already:
                # take the text name the caller checked was free (its UTF-8 bytes) instead.
                target = self._path(new_path)
            make_store_folders(target.parent)
            _move_no_overwrite(source, target)

    def remove(self, path: str) -> None:
        """Delete one file."""
        self._refuse_if_read_only("remove", path)
        with self._failures("remove", path):
            self._path(path).unlink()

    def exists(self, path: str) -> bool:
        """Whether a regular file exists at `path`."""
        with self._failures("check", path):
            return self._path(path).is_file()

    def close(self) -> None:
        """Nothing to release; present for the protocol."""

    def __enter__(self) -> LocalStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _path(self, path: str) -> Path:
        """The real local path for a store path; refuses one that resolves outside the root."""
        return self._contained(path, self._names.raw(safe_relative(path)))

    def _contained(self, path: str, raw: bytes) -> Path:
        # fsdecode: a name that is not UTF-8 rides in the Path as surrogates, back to its bytes.
        real = (self._root / os.fsdecode(raw)).resolve()
        if not real.is_relative_to(self._root):
            raise TransportError(f"refused path {path!r}: it resolves outside the store root")
        return real

    def _missing(self, folder: str, missing_ok: bool) -> None:
        """After a listing found no folder: the root missing, or the folder when it must exist."""
        if not self._root.is_dir():
            raise TransportError(f"the root {self._root} does not exist")
        if not missing_ok:
            raise TransportError(f"folder {folder!r} does not exist")

    def _refuse_if_read_only(self, action: str, path: str) -> None:
        if self.read_only:
            raise TransportError(f"{self._where}: cannot {action} {path!r}: the store is read-only")

    @contextmanager
    def _failures(self, action: str, path: str) -> Iterator[None]:
        """Turn OS errors (and bare path refusals) into TransportError naming store and path."""
        try:
            yield
        except TransportError as exc:
            raise TransportError(f"{self._where}: cannot {action} {path!r}: {exc}") from exc
        except FileExistsError as exc:
            raise TransportError(
                f"{self._where}: cannot {action} {path!r}: the target already exists"
            ) from exc
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise TransportError(f"{self._where}: cannot {action} {path!r}: {reason}") from exc


def _write_new(data: BinaryIO, target: Path) -> None:
    """Write `data` to a new file `target`; an existing file (or link) there is an error."""
    # O_EXCL: never through a file or symlink someone else put there.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(data, out)
        store_mode(target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _move_no_overwrite(source: Path, target: Path) -> None:
    """Move `source` to `target`, raising FileExistsError if `target` exists."""
    try:
        # link() refuses an existing target atomically, which rename() would silently replace.
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_HARDLINKS:
            raise
        # No hardlinks here (FAT, some SMB mounts): check, then rename; the window is small.
        if target.exists() or target.is_symlink():
            raise FileExistsError(errno.EEXIST, "target exists", str(target)) from exc
        source.rename(target)
        return
    source.unlink()
