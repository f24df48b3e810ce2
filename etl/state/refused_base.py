"""The seam of refused bodies: what the receiver would not take, kept for a person, on any backend.

A body the receiver refuses (an order it cannot read, an event that names no party) is kept
under `archive/<orders|parties>/rejected/` with its reason, until an operator takes it in
again (`run.py retake`: it moves to `retaken/`) or `run.py purge` ages it out. Two
implementations keep them: this machine's folders (etl.state.refused_local, the default)
and objects under `<prefix>/archive/<area>/` in a blob store (etl.state.blob_refused,
`[storage] backend = "s3"`), so every machine lists, retakes, purges and erases the bodies
any receiver refused. `open_refused` (in blob_refused) picks one from `[storage]`.

A body is known by its name alone, `<YYYYMMDDTHHMMSSZ>-<hash prefix>.<json|xml>` (when it was
refused, then its SHA-256's first 16 hex digits): the same body refused twice in one second
is one body. Its reason is a text file (an object in the bucket) beside it,
`<name>.reason.txt`, the reason and a newline, in either backend.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Literal, Protocol

REASON = ".reason.txt"
STAMP = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(r"^(\d{8}T\d{6}Z)-([0-9a-f]{16})\.(json|xml)$")

# `rejected/` holds what waits for a person; `retaken/` what `retake` took in since.
Folder = Literal["rejected", "retaken"]
# The folders of each area (orders, parties): only orders are retaken.
FOLDERS: dict[str, tuple[Folder, ...]] = {
    "orders": ("rejected", "retaken"),
    "parties": ("rejected",),
}


class RefusedBodies(Protocol):
    """The refused bodies of one area (orders or parties), by name."""

    def keep(self, body: bytes, kind: str, reason: str, at: dt.datetime) -> str:
        """Store the body and its reason durably before returning; the body's name."""
        ...

    def names(self, folder: Folder = "rejected") -> list[str]:
        """Every body kept in `folder` (no reasons, no temps), sorted."""
        ...

    def read(self, name: str, folder: Folder = "rejected") -> bytes:
        """The body under `name`; FileNotFoundError when there is none."""
        ...

    def reason(self, name: str, folder: Folder = "rejected") -> str | None:
        """Why the body was refused; None when no reason was kept."""
        ...

    def set_aside(self, name: str) -> None:
        """Move the body and its reason from `rejected/` to `retaken/` (body first)."""
        ...

    def delete(self, name: str, folder: Folder = "rejected") -> None:
        """Remove the body, then its reason; an absent one is no error."""
        ...


def refused_name(body: bytes, kind: str, at: dt.datetime) -> str:
    """`<YYYYMMDDTHHMMSSZ>-<hash prefix>.<kind>`: when, and which body."""
    sha = hashlib.sha256(body).hexdigest()
    utc = at if at.tzinfo is None else at.astimezone(dt.UTC)  # a naive clock is UTC already
    return f"{utc.strftime(STAMP)}-{sha[:16]}.{kind}"


def is_refused_name(name: str) -> bool:
    """Whether `name` is a refused body's (not a reason, a temp, a path or anything else)."""
    return _NAME.match(name) is not None


def refused_at(name: str) -> dt.datetime:
    """When the body under `name` was refused (UTC); ValueError for another name."""
    match = _NAME.match(name)
    if match is None:
        raise ValueError(f"not a refused body's name: {name!r}")
    return dt.datetime.strptime(match[1], STAMP).replace(tzinfo=dt.UTC)


def hash_prefix(name: str) -> str:
    """The body's hash prefix in its name ("" for another name)."""
    match = _NAME.match(name)
    return match[2] if match else ""


def check_refused_name(name: str) -> str:
    """`name` when it is a refused body's name (never a path); ValueError otherwise."""
    if not is_refused_name(name) or Path(name).name != name:
        raise ValueError(f"not a refused body's name: {name!r}")
    return name


def reason_text(reason: str) -> bytes:
    """A reason as it is kept: the text and a newline."""
    return (reason + "\n").encode()


def read_reason(data: bytes) -> str:
    """A kept reason's text."""
    return data.decode("utf-8", errors="replace").strip()
