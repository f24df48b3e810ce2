"""The files an export job wrote for the ERP, two-phase, for any book that exports.

Orders and party changes are exported the same way (etl.to_erp.files.export): a file's row is
begun (`uploading`) before the upload and finished (`done`) after it, so a crash in between
is settled by looking on the server, never by uploading again under a new name. Each book
keeps its files in a table of its own (`files_table`) with this shape, and says how to list
the units (orders, parties) a file carried (`_refs_of`).
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from etl.state.ledger.connection import Tables


@dataclass(frozen=True)
class ExportRow:
    """One file: its name, its state, and the units (orders, parties) in it."""

    export_id: str
    layout: str
    file_name: str
    state: str  # uploading | done
    sha256: str
    size: int
    refs: tuple[str, ...]


class ExportedFiles(Tables, ABC):
    """The export-file half of a book: begin, finish, find unfinished, names used."""

    files_table: ClassVar[str]  # a constant of the subclass, never input: safe in SQL text

    def unfinished_exports(self, layout: str) -> list[ExportRow]:
        """Exports begun but not known to have reached the ERP (the process died)."""
        rows = self._db.execute(
            f"SELECT * FROM {self.files_table} WHERE layout=? AND state='uploading' "  # noqa: S608
            "ORDER BY created_at",
            (layout,),
        ).fetchall()
        return [self._export(r) for r in rows]

    def file_name_taken(self, layout: str, file_name: str) -> bool:
        """True when an export of `layout` already used this name."""
        row = self._db.execute(
            f"SELECT 1 FROM {self.files_table} WHERE layout=? AND file_name=?",  # noqa: S608
            (layout, file_name),
        ).fetchone()
        return row is not None

    def finished_at(self, layout: str, file_name: str) -> str | None:
        """When the export of `layout` that used this name was committed; None: it was not."""
        row = self._db.execute(
            f"SELECT finished_at FROM {self.files_table} "  # noqa: S608
            "WHERE layout=? AND file_name=? AND state='done'",
            (layout, file_name),
        ).fetchone()
        return None if row is None else str(row["finished_at"])

    def _begin_file(
        self,
        db: sqlite3.Connection,
        export: tuple[str, str, str],  # export_id, layout, file_name
        sha256: str,
        size: int,
        at: str,
    ) -> None:
        export_id, layout, file_name = export
        db.execute(
            f"INSERT INTO {self.files_table} VALUES (?,?,?,?,?,?,?,NULL)",  # noqa: S608
            (export_id, layout, file_name, "uploading", sha256, size, at),
        )

    def _finish_file(self, db: sqlite3.Connection, export_id: str, at: str) -> None:
        db.execute(
            f"UPDATE {self.files_table} SET state='done', finished_at=? WHERE export_id=?",  # noqa: S608
            (at, export_id),
        )

    def _export(self, row: sqlite3.Row) -> ExportRow:
        return ExportRow(
            export_id=row["export_id"],
            layout=row["layout"],
            file_name=row["file_name"],
            state=row["state"],
            sha256=row["sha256"],
            size=row["size"],
            refs=self._refs_of(row["export_id"]),
        )

    @abstractmethod
    def _refs_of(self, export_id: str) -> tuple[str, ...]:
        """The units the file carried, sorted (each book knows its own)."""
