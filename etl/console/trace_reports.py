"""The rejected rows of one key in a run's report, for `run.py trace`.

The report's CSV (etl.read.reports) is the machine-readable copy of the XLSX: one row per
rejected cell, titled for people. It is scanned with a filter, so only the key's rows are
read. Text Excel would run as a formula was written with a leading apostrophe: a key is
looked up both ways.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from etl.read.reports import DETAIL_COLUMNS, PART_COLUMN
from etl.state.base import Archive

_TITLES = {column: title for column, title, _ in (*DETAIL_COLUMNS, PART_COLUMN)}


@dataclass(frozen=True)
class Rejection:
    """One rejected cell of the key's row: where, which code and what is wrong."""

    key: str
    line: int | None
    part: str | None  # the file inside a zip of several
    field: str | None
    code: str | None
    message: str | None


def rejections(archive: Archive, run: Path, reports: Sequence[str], key: str) -> list[Rejection]:
    """The key's rejected cells in the run's CSV report, in report order."""
    found: list[Rejection] = []
    for name in reports:
        if not name.endswith(".csv"):
            continue
        with archive.opened(run, name) as report:
            found += _read(report, key) if report is not None else []
    return found


def _read(path: Path, key: str) -> list[Rejection]:
    scan = pl.scan_csv(path, infer_schema=False, encoding="utf8-lossy", glob=False)
    # Written with a BOM for Excel: the first title may carry it.
    names = {n: n.removeprefix("\ufeff") for n in scan.collect_schema().names()}
    scan = scan.rename(names)
    key_column = next((n for n in names.values() if n.startswith(_TITLES["key"])), None)
    if key_column is None:
        return []
    cleaned = pl.col(key_column).str.strip_prefix("'")
    wanted = (cleaned == key) | cleaned.str.starts_with(key + " / ")
    rows = scan.filter(wanted).with_columns(cleaned.alias(key_column)).collect()
    return [_rejection(row, key_column) for row in rows.iter_rows(named=True)]


def _rejection(row: dict[str, str | None], key_column: str) -> Rejection:
    line = row.get(_TITLES["line"])
    return Rejection(
        key=row[key_column] or "",
        line=int(line) if line and line.isdigit() else None,
        part=row.get(_TITLES["part"]),
        field=row.get(_TITLES["field"]),
        code=row.get(_TITLES["code"]),
        message=row.get(_TITLES["message"]),
    )
