"""Refused bodies in this machine's folders: `archive/<area>/rejected/` and `retaken/`.

The single-VM default. Each body and its reason are written atomically (temp, fsync,
rename); a retaken body is renamed into `retaken/`, body first, then its reason, so a body
already booked is never left to be taken again. The same seam on object storage is
etl.state.blob_refused.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from etl.state.atomic import fsync_dir_or_log, write_atomically
from etl.state.refused_base import (
    REASON,
    Folder,
    check_refused_name,
    is_refused_name,
    read_reason,
    reason_text,
    refused_name,
)


class LocalRefused:
    """Refused bodies in `rejected` and, once retaken, in `retaken` (a sibling by default)."""

    def __init__(self, rejected: Path, retaken: Path | None = None) -> None:
        self.rejected = rejected
        self.retaken = retaken if retaken is not None else rejected.parent / "retaken"

    def __repr__(self) -> str:
        return f"LocalRefused({self.rejected})"

    def keep(self, body: bytes, kind: str, reason: str, at: dt.datetime) -> str:
        """Write the body, then its reason, each atomically; the body's name."""
        name = refused_name(body, kind, at)
        path = self.rejected / name
        write_atomically(path, body)
        write_atomically(path.with_name(name + REASON), reason_text(reason))
        return name

    def names(self, folder: Folder = "rejected") -> list[str]:
        """Every body in the folder, sorted."""
        where = self._folder(folder)
        if not where.is_dir():
            return []
        return sorted(p.name for p in where.iterdir() if is_refused_name(p.name) and p.is_file())

    def read(self, name: str, folder: Folder = "rejected") -> bytes:
        """The body's bytes; FileNotFoundError when there is none."""
        return (self._folder(folder) / check_refused_name(name)).read_bytes()

    def reason(self, name: str, folder: Folder = "rejected") -> str | None:
        """The reason file's text; None when it is missing or unreadable."""
        path = self._folder(folder) / (check_refused_name(name) + REASON)
        try:
            return read_reason(path.read_bytes())
        except OSError:
            return None

    def set_aside(self, name: str) -> None:
        """Rename the body, then its reason, into `retaken/`."""
        path = self.rejected / check_refused_name(name)
        self.retaken.mkdir(parents=True, exist_ok=True)
        path.replace(self.retaken / name)
        reason = path.with_name(name + REASON)
        if reason.exists():
            reason.replace(self.retaken / reason.name)
        # The body is booked already: a move lost in a power cut shows it here again, and
        # taking it again is answered "already received".
        fsync_dir_or_log(self.retaken, "a retaken body set aside")
        fsync_dir_or_log(self.rejected, "a retaken body set aside")

    def delete(self, name: str, folder: Folder = "rejected") -> None:
        """Remove the body, then its reason."""
        path = self._folder(folder) / check_refused_name(name)
        path.unlink(missing_ok=True)
        path.with_name(name + REASON).unlink(missing_ok=True)

    def _folder(self, folder: Folder) -> Path:
        return self.rejected if folder == "rejected" else self.retaken
