"""The spool seam: where a received body is kept before it is exported, on any backend.

Two implementations pass one contract suite (tests/state/test_spool_contract.py): the local
folder `state/spool/<area>/` (etl.state.spool, the default) and objects under
`<prefix>/state/spool/<area>/` in a blob store (etl.state.blob_spool, `[storage] backend =
"s3"`), so receivers and workers on several machines read the same bodies.

A body is known by its name alone, `<safe ref>-<hash prefix>.<kind>` (`spool_name`): the
ledger keeps that name, never a path, and either backend resolves it under its area. The
name carries the body's hash, so two different bodies never share one and the same body put
twice lands on the same name (a retry is idempotent). Past its retention (`run.py purge`) a
body is replaced by a tombstone `<name>.purged` (hash, size, when; no content).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
TOMBSTONE = ".purged"
BODY_KINDS = ("json", "xml")


class BodyPurged(FileNotFoundError):
    """The body was removed past its retention; only its hash and size are left."""


@dataclass(frozen=True)
class Spooled:
    """A body kept: its name (what the ledger records), its hash, how it is encoded.

    `path` is the file on this machine when the spool is a local folder, else None.
    """

    name: str
    sha256: str
    kind: str  # json | xml
    path: Path | None = None


class BodySpool(Protocol):
    """Received bodies of one area, by name; `put` may be called from many threads at once."""

    def put(self, ref: str, body: bytes, kind: str) -> Spooled:
        """Store one body durably before returning; the same body again is the same name."""
        ...

    def read(self, name: str) -> bytes:
        """The body under `name`; BodyPurged past its retention, FileNotFoundError if none."""
        ...

    def exists(self, name: str) -> bool:
        """Whether the body under `name` is kept (not purged, not missing)."""
        ...

    def names(self) -> list[str]:
        """Every body kept (no tombstones, no temps), sorted: what recovery walks."""
        ...

    def purged(self, name: str) -> dict[str, object] | None:
        """The tombstone of a body removed past its retention; None while there is none."""
        ...

    def remove_body(self, name: str, at: str, retention_days: int) -> int:
        """Replace the body with its tombstone (hash, size, when); returns the bytes removed."""
        ...

    def replace(self, name: str, body: bytes) -> None:
        """Write the body under `name` over the old one, whole (an erasure's masking)."""
        ...


def spool_name(ref: str, sha256: str, kind: str) -> str:
    """`<safe ref>-<hash prefix>.<kind>`: unique per body, never a path."""
    safe = _UNSAFE.sub("_", ref)[:50].lstrip(".") or "order"
    return f"{safe}-{sha256[:16]}.{kind}"


def matches_name(name: str, body: bytes) -> bool:
    """Whether `body` is what `name` says it is (the hash prefix in it); False for a body torn
    by a crash while it was written, before any OK was answered for it."""
    stem = name.rsplit(".", 1)[0]
    return stem.rsplit("-", 1)[-1] == hashlib.sha256(body).hexdigest()[:16]


def check_spool_name(name: str) -> str:
    """`name` when it is a bare body name (no folder, not hidden); ValueError otherwise."""
    # A string test, not Path(name).name: the export asks this of every body it reads.
    if not name or "/" in name or name.startswith(".") or "\\" in name:
        raise ValueError(f"not a spool file name: {name!r}")
    return name


def is_body_name(name: str) -> bool:
    """Whether a listed name is a body (`.json`/`.xml`), not a tombstone or a temp."""
    return not name.startswith(".") and name.rsplit(".", 1)[-1] in BODY_KINDS and "." in name


def tombstone(name: str, body: bytes, at: str, retention_days: int) -> bytes:
    """What is left of a purged body: its name, hash, size, and when and why it went."""
    record = {
        "name": name,
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "purged_at": at,
        "retention_days": retention_days,
    }
    return json.dumps(record).encode()


def read_tombstone(data: bytes) -> dict[str, object] | None:
    """A tombstone's record; None when it is not one (unreadable, not an object)."""
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def purged_error(name: str, gone: dict[str, object]) -> BodyPurged:
    """The error a read of a purged body raises, saying when and why it went."""
    return BodyPurged(
        f"the body {name} was removed by `run.py purge` on {gone.get('purged_at')} "
        f"(retention {gone.get('retention_days')} days); only its hash is kept"
    )
