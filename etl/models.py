"""Frozen boundary types passed between stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

LINE = "_line"  # source line number of a row, carried from parse to report
STATE = "_state"  # snapshot row state: active, held (removal awaiting approval), inactive, dormant
CHANGED = "_changed"  # list of field names a change touches
SPARED_BY = "_spared_by"  # line of the rejected row that kept an old row from removal


def given(name: str) -> str:
    """The mapped frame's marker column: did this key cell come from the file, not a default?"""
    return f"_given:{name}"


ACTIVE, HELD, INACTIVE = "active", "held", "inactive"
# A row we only ever sent as an add the ERP marked inactive. Norce may hold it in any state
# (a SKU's status on an add is create-only), so it is inactive to every rule but one: when
# it comes back it is an add again, never a reactivation that would set a real status.
DORMANT = "dormant"
GONE = (INACTIVE, DORMANT)  # the states of rows not live in Norce from us
# ParsedFile.ragged: the line of a record, the fields it has, the fields the header has.
RAGGED_SCHEMA = {LINE: pl.Int64, "fields": pl.Int64, "width": pl.Int64}
# The ERP's own active flag, an optional field of every snapshot entity. It is no value Norce
# keeps: false makes the row a removal (or an add that stays inactive), true or empty leaves
# it live, so the diff decides a row's state by it and never compares it as a field.
IS_ACTIVE = "is_active"


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
    # CSV: records with more or fewer fields than the header, left out of `frame`: none of
    # their cells can be trusted, so validation rejects each as a row with no readable key.
    ragged: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RAGGED_SCHEMA))


@dataclass(frozen=True)
class Merge:
    """Rows that repeated an earlier row field for field, taken once as that row."""

    key: str  # the key's parts joined by " / "
    into: int  # the line of the row that was taken
    lines: tuple[int, ...]  # the first lines merged into it (see etl.read.same_rows.MERGE_LINES)
    count: int  # every line merged into it

    def describe(self, parts: tuple[Part, ...] = ()) -> str:
        """`lines 5, 9 merged into line 3`, with how many more a long list leaves out."""
        shown = ", ".join(line_name(parts, n) for n in self.lines)
        more = f" and {self.count - len(self.lines):,} more" if self.count > len(self.lines) else ""
        # In a zip of several files a line is named with its file: `b.csv line 5`.
        word, into = ("", "") if parts else ("lines " if self.count > 1 else "line ", "line ")
        return f"{word}{shown}{more} merged into {into}{line_name(parts, self.into)}"


@dataclass(frozen=True)
class MergedRows:
    """What `same_key_rows = "merge_identical"` took once: a count and the first examples."""

    count: int = 0
    examples: tuple[Merge, ...] = ()


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
    # Rows read that repeated an earlier row exactly: rows_read = valid + rejected + merged.
    merged: MergedRows = field(default_factory=MergedRows)
    # Failed cells of rows taken as deactivations all the same (etl.read.deactivations): their
    # key and is_active = false read cleanly, so those rows are in `valid`, the cells null.
    forgiven: pl.DataFrame = field(default_factory=pl.DataFrame)
    # Every copy `take_once` dropped (etl.read.same_rows.Copies.frame): rows rejected after
    # validation (etl.read.references.settle) take their copies with them to the rejections.
    copies: pl.DataFrame = field(default_factory=pl.DataFrame)

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
    # Of the removals (or held), the rows the file marked inactive: key plus the LINE that
    # said is_active = false. The others are missing from the file.
    marked: pl.DataFrame = field(default_factory=pl.DataFrame)

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
