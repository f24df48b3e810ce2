"""The object-storage seam: whole objects under keys, on a local folder or an S3 bucket.

A blob store holds objects, each written whole and read whole, under keys that look like
relative POSIX paths ("products/2026-12-07/r1/manifest.json"). There is no rename and no
folder to fsync on an object store, so the seam offers only what both sides can promise:

- `put` is atomic: a reader sees the old object or the new one, never half of one. Once it
  returns the object is durable (local: file and folder fsync'd; S3: the PUT was answered).
- `create_only` refuses to replace an object (local: a hard link, which fails when the name
  is taken; S3: `If-None-Match: *`): of two writers of one key exactly one wins, the other
  gets `BlobExists`. This is what "published once" rests on.
- A listing is one level, as a folder's: the objects directly under a prefix and the
  sub-prefixes that hold at least one object (S3 has no empty folders; the local store
  removes a folder its last object left).

Keys are checked here, the same for every implementation (`check_key`). Every
implementation passes tests/state/blobs/test_blobs_contract.py.

    StorageError         the store failed or cannot be reached -> nothing published, retry later
    ├── BlobNotFound     no object under that key
    └── BlobExists       a create-only put found the key taken: someone published it first
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from etl.errors import EtlError

MAX_KEY_BYTES = 1024  # S3's limit
MAX_NAME_BYTES = 255  # a local file name's limit, for each part of a key


class StorageError(EtlError):
    """Object storage failed or could not be reached; nothing was published, retry later."""


class BlobNotFound(StorageError):
    """No object under the key."""


class KeyRefused(StorageError, ValueError):
    """A key no store can hold as it is (a ValueError too: a caller's mistake, not an outage)."""


class BlobExists(StorageError):
    """A create-only put found an object under the key already: it was published before."""


@dataclass(frozen=True)
class Blob:
    """One object as a listing or `stat` shows it."""

    key: str
    size: int
    # The store's version tag (S3 ETag), from `stat` only: changes with every rewrite; "" not
    # known. Not part of equality: a listing and a `stat` of one object are the same Blob.
    etag: str = field(default="", compare=False)
    # When the object was last written (S3 LastModified, a file's mtime); None: not known.
    modified: dt.datetime | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """The last part of the key."""
        return self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Listing:
    """One level under a prefix: its objects and its sub-prefixes (names), both sorted."""

    blobs: list[Blob] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)


class Blobs(Protocol):
    """Whole objects under keys: put, read, stat, list one level, delete."""

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        """Store `data` under `key` all at once; `create_only`: BlobExists if the key is taken."""
        ...

    def put_file(self, key: str, source: Path, *, create_only: bool = False) -> None:
        """Store the local file `source` under `key` all at once, as `put` does."""
        ...

    def read(self, key: str) -> bytes:
        """The object's bytes; BlobNotFound when there is none."""
        ...

    def get_file(self, key: str, target: Path) -> int:
        """Copy the object to the local file `target` in pieces (never whole in memory), all
        at once as `put` stores it; returns its size. BlobNotFound when there is none."""
        ...

    def stat(self, key: str) -> Blob | None:
        """The object under `key`; None when there is none."""
        ...

    def list(self, prefix: str) -> Listing:
        """What lies directly under `prefix` ("" for the top); an absent prefix lists empty."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; an absent one is no error (deleting twice is deleting once)."""
        ...


def check_key(key: str) -> str:
    """`key` when every store can hold it as it is; KeyRefused naming the problem otherwise."""
    if not key or len(key.encode()) > MAX_KEY_BYTES:
        raise KeyRefused(f"object key must have 1 to {MAX_KEY_BYTES} bytes: {key!r}")
    for part in key.split("/"):
        check_name(part, key)
    return key


def check_prefix(prefix: str) -> str:
    """A listing prefix: "" (the top) or a key."""
    return prefix if prefix == "" else check_key(prefix)


def check_name(part: str, key: str) -> None:
    """One part of a key: not empty, not hidden (temp names are), no backslash or control."""
    if not part or part.startswith("."):
        # "." and ".." would leave the folder; other dot names are the local store's temps.
        raise KeyRefused(f"object key has an empty or dot-named part: {key!r}")
    if "\\" in part or any(unicodedata.category(c)[0] == "C" for c in part):
        raise KeyRefused(f"object key has a backslash or a control character: {key!r}")
    if len(part.encode()) > MAX_NAME_BYTES:
        raise KeyRefused(f"object key has a part longer than {MAX_NAME_BYTES} bytes: {key!r}")


def is_listable(name: str) -> bool:
    """Whether a listed name may be a key's part (hidden temps, odd names others left: not)."""
    try:
        check_name(name, name)
    except ValueError:
        return False
    return True


def join(*parts: str) -> str:
    """Key parts joined with "/", empty parts left out."""
    return "/".join(p for p in parts if p)


def objects_below(blobs: Blobs, key: str, under: str = "") -> dict[str, int]:
    """Every object below `key`/`under`, every level down: size by name relative to `key`."""
    listing = blobs.list(join(key, under))
    found = {join(under, b.name): b.size for b in listing.blobs}
    for folder in listing.folders:
        found |= objects_below(blobs, key, join(under, folder))
    return found
