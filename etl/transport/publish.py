"""Files put where another program takes them: each whole under its final name, or not there.

A file is written under a temp name the other side ignores (created exclusively, so nothing
there is ever overwritten), its size on the server is checked against the local file, and only
then is it renamed to its final name, never over a file. `publish` does that for a batch of
files and calls `published(i)` as each one is in place, so the caller can record it at once.

Any store can do this with `upload`, `stat` and `rename`, one file after the other. A store
that can do it for many files in fewer round trips (SFTP sends every request of a batch before
it awaits the answers: etl.transport.sftp_publish) offers `publish_many`, and is given the
whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from etl.errors import TransportError
from etl.transport.base import Store


@dataclass(frozen=True)
class Outgoing:
    """One local file and where it goes: its temp name, then its final name (store paths)."""

    source: Path
    temp: str
    path: str


@runtime_checkable
class Publishing(Protocol):
    """A store that publishes a batch of files itself, in fewer round trips than one by one."""

    def publish_many(self, files: Sequence[Outgoing], published: Callable[[int], None]) -> None:
        """Publish each file as `publish` does; `published(i)` as each is in place."""


def publish(store: Store, files: Sequence[Outgoing], published: Callable[[int], None]) -> None:
    """Put each file under its temp name, check its size, rename it to its final name.

    `published(i)` is called as soon as file `i` is under its final name. The first failure
    raises TransportError: a file whose size came out wrong is removed from the server first;
    a file whose final name is taken keeps its temp name. Files published before it stay.
    """
    if isinstance(store, Publishing):
        store.publish_many(files, published)
        return
    for index, file in enumerate(files):
        publish_one(store, file)
        published(index)


def publish_one(store: Store, file: Outgoing) -> None:
    """One file: upload under its temp name, check its size, rename it."""
    size = file.source.stat().st_size
    store.upload(file.source, file.temp, through_temp=False)  # the temp name is the only one
    found = store.stat(file.temp)
    if found is None or found.size != size:
        store.remove(file.temp)
        raise TransportError(
            short_upload(store.name, file.temp, found.size if found else None, size)
        )
    store.rename(file.temp, file.path)


def short_upload(store: str, temp: str, found: int | None, size: int) -> str:
    """Why a file was not published: the server holds other than its bytes."""
    return (
        f"{store}: {temp} is {found} bytes after the upload, not {size}; removed, the next run "
        "uploads it again"
    )
