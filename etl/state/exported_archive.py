"""The archive of files the ERP got: `archive/<area>/exported/<layout>/<day>/<name>`, anywhere.

The export (etl.to_erp.files.export) archives each file once its export is committed, through
this seam alone. Two implementations keep the same layout:

- `LocalExported` (the default): the file is moved from the outbox's `sent/` folder into the
  day folder on this machine's disk, as one machine always did; the folders are fsync'd once
  for a batch (a move lost in a power cut is archived by the next run: its export is done).
- `BlobExported` (etl.state.blob_exported, `[storage] backend = "s3"`): the file is put in the
  bucket under its home-relative key, create-only, so every machine's purge and `forget`
  find it, whichever machine committed the export.

`keep` raises StorageError when the bucket cannot be reached: the caller keeps its copies (the
bucket's outbox object, the local `sent/` file) and the next run archives them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from etl.state.areas import Areas, FileArea
from etl.state.atomic import fsync_dir_or_log, write_atomically
from etl.state.blob_exported import open_blob_exported
from etl.state.blobs import StorageOptions


class ExportedArchive(Protocol):
    """Where committed export files are archived, by layout and day."""

    @property
    def shared(self) -> bool:
        """Whether every machine sees the archive (object storage), not only this one."""
        ...

    def keep(self, layout: str, day: str, files: Mapping[str, Path | bytes]) -> list[str]:
        """Archive each committed file (name -> local file or bytes) under `day`; the names kept.

        A `Path` source may be gone afterwards (moved into place); keeping a name again leaves
        one copy.
        """
        ...

    def read(self, layout: str, day: str, name: str) -> bytes | None:
        """An archived file's bytes; None when there is none."""
        ...


class LocalExported:
    """The day folders under `archive/<area>/exported/` on this machine's disk."""

    shared = False

    def __init__(self, root: Path, what: str) -> None:
        self.root = root  # archive/<area>/exported/
        self.what = what  # "<noun> <layout>": how a failed fsync is logged

    def keep(self, layout: str, day: str, files: Mapping[str, Path | bytes]) -> list[str]:
        """Move each file (or write its bytes) into the day folder; fsync'd once for all."""
        folder = self.root / layout / day
        sources = set()
        if files:
            folder.mkdir(parents=True, exist_ok=True)  # once for the batch, not once a file
        for name, source in files.items():
            if isinstance(source, Path):
                # Not fsync'd one by one: a file left in `sent/` after a power cut is archived
                # by the next run (its export is done).
                source.replace(folder / name)
                sources.add(source.parent)
            else:
                write_atomically(folder / name, source)
        if files:
            # After the commit: a move lost in a power cut is archived by the next run.
            fsync_dir_or_log(folder, f"{self.what}: archiving")
            for parent in sorted(sources):
                fsync_dir_or_log(parent, f"{self.what}: archiving")
        return list(files)

    def read(self, layout: str, day: str, name: str) -> bytes | None:
        """The file in the day folder; None when there is none."""
        path = self.root / layout / day / name
        return path.read_bytes() if path.is_file() else None


class SharedExported:
    """`BlobExported` as the export sees it: the bucket's archive, every machine's."""

    shared = True

    def __init__(self, storage: StorageOptions, areas: Areas, area: FileArea) -> None:
        self.stored = open_blob_exported(storage, areas, area)

    def keep(self, layout: str, day: str, files: Mapping[str, Path | bytes]) -> list[str]:
        """Put each file in the bucket, create-only; StorageError when it cannot be reached."""
        return self.stored.keep(layout, day, files)

    def read(self, layout: str, day: str, name: str) -> bytes | None:
        """The object's bytes; None when there is none."""
        return self.stored.read(layout, day, name)


def open_exported(
    storage: StorageOptions, areas: Areas, area: FileArea, what: str
) -> ExportedArchive:
    """The archive of `area`'s exported files where `[storage]` keeps it."""
    if storage.backend == "s3":
        return SharedExported(storage, areas, area)
    return LocalExported(areas.exported_layouts(area), what)
