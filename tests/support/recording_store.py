"""A real store wrapped to record every change it makes and to die before or after one."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from etl.transport.base import RemoteFile, Store


class Crash(BaseException):
    """The process dies here (not an error the job could catch)."""


class Recording:
    """A real store that writes down every change it makes, and can die before or after one."""

    def __init__(self, inner: Store, before: str = "", after: str = "") -> None:
        self.inner, self.before, self.after = inner, before, after
        self.name, self.read_only = inner.name, inner.read_only
        self.calls: list[tuple[str, ...]] = []

    def _change(self, op: str, *paths: str) -> None:
        if op == self.before:
            raise Crash(op)
        self.calls.append((op, *paths))

    def list(self, folder: str) -> list[RemoteFile]:
        """The inner store's listing."""
        return self.inner.list(folder)

    def download(self, path: str, target: Path) -> None:
        """Download from the inner store."""
        self.inner.download(path, target)

    def stat(self, path: str) -> RemoteFile | None:
        """Ask the inner store."""
        return self.inner.stat(path)

    def upload(self, source: Path, path: str, *, through_temp: bool = True) -> None:
        """Record, then upload (dying before or after if told)."""
        self._change("upload", path)
        self.inner.upload(source, path, through_temp=through_temp)
        if self.after == "upload":
            raise Crash("upload")

    def rename(self, path: str, new_path: str) -> None:
        """Record, then rename (dying before or after if told)."""
        self._change("rename", path, new_path)
        self.inner.rename(path, new_path)
        if self.after == "rename":
            raise Crash("rename")

    def remove(self, path: str) -> None:
        """Record, then remove."""
        self._change("remove", path)
        self.inner.remove(path)

    def exists(self, path: str) -> bool:
        """Ask the inner store."""
        return self.inner.exists(path)

    def close(self) -> None:
        """Close the inner store."""
        self.inner.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
