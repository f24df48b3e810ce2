"""The pending request: what `forget` knows of the person until the erasure is complete.

Files and snapshots are masked before the ledger; a crash in between leaves the person's
values only in places the next run can no longer read them from (the snapshot row is
masked already). So before masking anything, `forget` writes what it found to
`state/privacy/pending/<request id>.json` (owner-only), a re-run of the same request adds
it to what it finds, and the file is deleted once the erasure is logged.
"""

from __future__ import annotations

import json
from pathlib import Path

from etl.privacy.person import Found
from etl.state.atomic import fsync_dir, write_atomically

FIELDS = ("codes", "emails", "strong", "weak", "orders")


class Journal:
    """The pending-request file of one request (by its salted id, never its value)."""

    def __init__(self, folder: Path, request_id: str) -> None:
        self.path = folder / "pending" / f"{request_id.split(':')[-1]}.json"

    def merged(self, found: Found) -> Found:
        """`found` with what an unfinished run of the same request had found."""
        if not self.path.is_file():
            return found
        saved = json.loads(self.path.read_bytes())
        for name in FIELDS:
            getattr(found, name).update(str(v) for v in saved.get(name, []))
        return found

    def write(self, found: Found) -> None:
        """Keep what was found, durably and owner-only, before anything is masked."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = json.dumps({name: sorted(getattr(found, name)) for name in FIELDS})
        write_atomically(self.path, body.encode("utf-8"), mode=0o600)  # the person's values

    def close(self) -> None:
        """The erasure is logged: the person's values go from here too."""
        if self.path.exists():
            self.path.unlink()
            fsync_dir(self.path.parent)
