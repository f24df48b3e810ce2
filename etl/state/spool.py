"""The order spool: each received body on disk, fsync'd, before anyone is told OK.

A body is kept exactly as it came (JSON or XML): what Norce sent is the evidence when an
order is disputed. The name is derived from the order reference, made safe for a file
name, plus the body's hash, so two different bodies for one reference never overwrite each
other and a reference like `../../x` cannot leave the folder.

Past its retention (`run.py purge`) a body is removed and a tombstone `<name>.purged` takes
its place: its hash, size and when it went, no content. Reading it then says the body is
gone; recovery skips it (neither `.json` nor `.xml`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from etl.state.atomic import fsync_dir, write_atomically, write_renamed
from etl.state.group_commit import GroupCommit

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
TOMBSTONE = ".purged"


class BodyPurged(FileNotFoundError):
    """The body was removed past its retention; only its hash and size are left."""


@dataclass(frozen=True)
class Spooled:
    """A body on disk: where, its hash, and how it is encoded."""

    path: Path
    sha256: str
    kind: str  # json | xml


def spool_name(ref: str, sha256: str, kind: str) -> str:
    """`<safe ref>-<hash prefix>.<kind>`: unique per body, never a path."""
    safe = _UNSAFE.sub("_", ref)[:50].lstrip(".") or "order"
    return f"{safe}-{sha256[:16]}.{kind}"


class Spool:
    """A folder of received bodies; `put` may be called from many threads at once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # Bodies put at the same time share one fsync of the folder (etl.state.group_commit);
        # when it fails, it failed for all of them.
        self._folder_synced: GroupCommit[Path, None] = GroupCommit(
            self._sync_folder, retry_alone=False
        )

    def put(self, ref: str, body: bytes, kind: str) -> Spooled:
        """Store one body durably; the same body again replaces itself (one file per body).

        As etl.state.atomic writes a file (temp name, fsync, rename, folder fsync'd), but the
        folder's fsync is shared with the bodies other threads put meanwhile.
        """
        sha = hashlib.sha256(body).hexdigest()
        path = self.folder / spool_name(ref, sha, kind)
        # Written again when the body is there too (its name says the same bytes): it may be
        # the one of a put whose folder fsync failed (answered 503). Linux reports such an
        # error once, so a second fsync of the folder alone would pass without its entry on
        # disk; a fresh rename gives the folder's fsync something to write. A retry is rare
        # and a body small.
        write_renamed(path, body)
        # The caller answers 200 only after the folder holding the body is fsync'd.
        self._folder_synced.submit(path)
        return Spooled(path, sha, kind)

    def _sync_folder(self, paths: Sequence[Path]) -> list[None]:
        fsync_dir(self.folder)
        return [None for _ in paths]

    def read(self, name: str) -> bytes:
        """The body stored under `name` (a bare file name from the order book)."""
        path = self._path(name)
        gone = self.purged(name)
        if gone is not None and not path.exists():
            raise BodyPurged(
                f"the body {name} was removed by `run.py purge` on {gone.get('purged_at')} "
                f"(retention {gone.get('retention_days')} days); only its hash is kept"
            )
        return path.read_bytes()

    def purged(self, name: str) -> dict[str, object] | None:
        """The tombstone of a body removed past its retention; None while the body is kept."""
        tombstone = self._path(name).with_name(name + TOMBSTONE)
        try:
            doc = json.loads(tombstone.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    def remove_body(self, name: str, at: str, retention_days: int) -> int:
        """Replace the body with its tombstone (hash, size, when); returns the bytes removed."""
        path = self._path(name)
        if path.is_symlink() or not path.is_file():
            return 0
        body = path.read_bytes()
        record = {
            "name": name,
            "sha256": hashlib.sha256(body).hexdigest(),
            "size": len(body),
            "purged_at": at,
            "retention_days": retention_days,
        }
        write_atomically(path.with_name(name + TOMBSTONE), json.dumps(record).encode())
        path.unlink()
        fsync_dir(self.folder)
        return len(body)

    def _path(self, name: str) -> Path:
        if Path(name).name != name or name.startswith("."):
            raise ValueError(f"not a spool file name: {name!r}")
        return self.folder / name
