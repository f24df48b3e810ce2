"""Frozen boundary types passed between stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

LINE = "_line"  # source line number of a row, carried from parse to report
STATE = "_state"  # snapshot row state: active, held (removal awaiting approval), inactive
CHANGED = "_changed"  # list of field names a change touches
SPARED_BY = "_spared_by"  # line of the rejected row that kept an old row from removal


def given(name: str) -> str:
    """The mapped frame's marker column: did this key cell come from the file, not a default?"""
    return f"_given:{name}"


ACTIVE, HELD, INACTIVE = "active", "held", "inactive"


@dataclass(frozen=True)
class Part:
    """One data file of a zip that holds several, read as if they followed each other.

    Its rows carry `offset` + their line in the part, so a line number stays one integer
    from parse to report; the report turns it back into the part's name and own line.
    """

    name: str  # the member's name in the archive
    offset: int


def place(parts: tuple[Part, ...], line: int) -> tuple[str | None, int]:
    """(part name, line within it) of a line; (None, line) for a file of one part."""
    for part in reversed(parts):
        if line > part.offset:
            return part.name, line - part.offset
    return None, line


def line_name(parts: tuple[Part, ...], line: int) -> str:
    """A line as a person finds it: `5`, or `b.csv line 5` in a zip of several files."""
    name, local = place(parts, line)
    return str(local) if name is None else f"{name} line {local}"


@dataclass(frozen=True)
class ParsedFile:
    """A file read as text: one string column per source column, plus `_line`."""

    path: Path
    frame: pl.DataFrame
    columns: tuple[str, ...]  # source column names (ERP names or XML paths), in file order
    # XML only: mapped paths that occurred in no record at all (a renamed element?).
    absent: tuple[str, ...] = ()
    parts: tuple[Part, ...] = ()  # a zip of several data files: where each one's lines start


@dataclass(frozen=True)
class Validated:
    """Typed valid rows, the rejected cells, and keys of rejected rows (kept as they were)."""

    valid: pl.DataFrame
    rejections: pl.DataFrame  # columns: line, key, field, source_column, code, message, value
    # Key columns of rejected rows plus LINE; null where a part was unreadable or came from
    # a default: only what the file said is evidence that a row is still there.
    rejected_keys: pl.DataFrame
    rows_read: int
    parts: tuple[Part, ...] = ()  # see ParsedFile.parts
    # Lines of rejected rows whose key's first part (the record: SKU, customer number) was not
    # read from the file: any row that left the file may be one of them.
    unkeyed_lines: tuple[int, ...] = ()

    @property
    def rejected_rows(self) -> int:
        """Number of distinct source lines with at least one rejection."""
        return int(self.rejections["line"].n_unique()) if self.rejections.height else 0


@dataclass(frozen=True)
class Delta:
    """What must change in Norce so it matches the file."""

    adds: pl.DataFrame
    changes: pl.DataFrame  # new rows plus CHANGED: the fields that differ
    reactivations: pl.DataFrame  # rows that come back after a deactivation
    removals: pl.DataFrame  # old rows to deactivate now
    held: pl.DataFrame  # old rows whose deactivation waits for approval
    # Old rows missing from the file that a rejected row may stand for: key plus SPARED_BY.
    spared: pl.DataFrame = field(default_factory=pl.DataFrame)

    def counts(self) -> dict[str, int]:
        """Row counts per kind of change, and per decision about a missing row."""
        return {
            "adds": self.adds.height,
            "changes": self.changes.height,
            "reactivations": self.reactivations.height,
            "removals": self.removals.height,
            "held": self.held.height,
            "spared": self.spared.height,
        }

    def is_empty(self) -> bool:
        """True when nothing is to be sent."""
        return not (
            self.adds.height
            or self.changes.height
            or self.reactivations.height
            or self.removals.height
        )
