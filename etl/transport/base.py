"""The Store seam: where ERP files are picked up and put.

A store is a folder tree on some server. Paths handed to a store are relative POSIX paths
inside its root ("exports/products/p.csv"); a store refuses any path that would leave the
root, so a remote name like "../../x" can never be followed. `LocalStore` and `SftpStore`
pass the same contract suite (tests/transport/test_store_contract.py).

Names are text: a name that is not UTF-8 is listed as Windows-1252 and reached by its bytes
as last listed (etl.transport.names). A name is never a pattern: `[`, `*` and `?` are
characters like any other.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

from etl.errors import TransportError


@dataclass(frozen=True)
class RemoteFile:
    """One regular file seen in a listing."""

    path: str  # relative POSIX path inside the store root
    size: int
    mtime: float  # seconds since the epoch, as the server reports it

    @property
    def name(self) -> str:
        """The file's base name."""
        return posixpath.basename(self.path)


class Store(Protocol):
    """A folder tree of files: list, download, upload, rename, remove."""

    name: str
    read_only: bool

    def list(self, folder: str, *, missing_ok: bool = True) -> list[RemoteFile]:
        """Regular files directly in `folder` (not recursive), in no particular order.

        A missing root is always an error; a missing `folder` is empty when `missing_ok`,
        else an error naming it.
        """
        ...

    def stat(self, path: str) -> RemoteFile | None:
        """The regular file at `path` as a listing shows it; None when there is none."""
        ...

    def download(self, path: str, target: Path) -> None:
        """Copy `path` to the local file `target` (the caller picks a temp name)."""
        ...

    def upload(self, source: Path, path: str, *, through_temp: bool = True) -> None:
        """Copy the local file `source` to `path`; an existing file there is an error.

        `through_temp`: the bytes go to a hidden temp name first and are renamed to `path`
        once whole. Without it they are written straight to `path`, created exclusively: for
        a caller whose `path` is itself a temp name it renames later (one temp name, not two).
        """
        ...

    def rename(self, path: str, new_path: str) -> None:
        """Rename within the store, creating the target folder; never overwrites."""
        ...

    def remove(self, path: str) -> None:
        """Delete one file."""
        ...

    def exists(self, path: str) -> bool:
        """Whether a file exists at `path`."""
        ...

    def close(self) -> None:
        """Release connections; the store may not be used afterwards."""
        ...

    def __enter__(self) -> Store: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def safe_relative(path: str) -> str:
    """Normalise a store-relative path and refuse one that is absolute or escapes the root."""
    if not path or "\x00" in path or "\\" in path:
        raise TransportError(f"refused path {path!r}: empty, NUL or backslash")
    if path.startswith("/"):
        raise TransportError(f"refused path {path!r}: absolute paths are not allowed")
    normal = posixpath.normpath(path)
    if normal == ".." or normal.startswith("../"):
        raise TransportError(f"refused path {path!r}: it leaves the store root")
    return normal
