"""Trailers: the closing lines of an export that say it is complete.

Some ERPs end a file with a line such as `T;1187;245310,50`: how many records they wrote
and a control sum of one column. A file cut short in transfer then says so itself. The
contract's `[format.trailer]` says how the trailer is found (a fixed number of last
non-blank lines, or the first line matching a pattern) and which of its fields hold the
count and the sum. Readers find the trailer's lines their own way (CSV from the end of the
file, XLSX from the last rows of the sheet) and hand them here as text; what a trailer is
and whether the rows agree with it is decided in this one place.

A trailer found by `pattern` must begin within the last `WINDOW` non-blank lines: a CSV file
is only read backwards that far (a 1 GB export is never scanned from the top to find it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import polars as pl

from etl.config.contract_format import FormatSpec, TrailerSpec
from etl.errors import SchemaMismatch, Truncated
from etl.models import LINE
from etl.read.validate import number_pattern

WINDOW = 1000
_PLACES = 38  # a control sum keeps every decimal the cells have; polars decimals hold 38 digits
_CUT = "truncated or cut short; not applied"


@dataclass(frozen=True)
class Trailer:
    """Where the trailer begins (physical line, or sheet row) and the fields of that line."""

    line: int
    fields: tuple[str, ...]


def start(texts: Sequence[str], spec: TrailerSpec) -> int | None:
    """Index of the line that begins the trailer among the last non-blank lines, or None."""
    if spec.lines is not None:
        return len(texts) - spec.lines if len(texts) >= spec.lines else None
    pattern = re.compile(spec.pattern or "")
    return next((i for i, text in enumerate(texts) if pattern.match(text)), None)


def missing(name: str, spec: TrailerSpec, last_line: int) -> Truncated:
    """The rejection of a file whose required trailer is not there."""
    if spec.lines is not None:
        wanted = f"{spec.lines} closing line{'s' if spec.lines > 1 else ''} after the data"
    else:
        wanted = f"a line matching {spec.pattern!r} among the last {WINDOW:,} lines"
    return Truncated(
        f"{name}: no trailer ({wanted}, format.trailer); the file ends on line {last_line}: {_CUT}",
        line=last_line,
    )


def check(
    name: str,
    trailer: Trailer,
    spec: TrailerSpec,
    rows: pl.DataFrame,
    fmt: FormatSpec,
    *,
    broken: pl.DataFrame | None = None,
) -> None:
    """Truncated unless the trailer's record count and control sum agree with the data rows.

    `rows` are every data row read, including those validation will reject later: the
    trailer is about the file being complete, not about its rows being right. `broken`
    (RAGGED_SCHEMA) are the records among them of another width than the header's: each
    is a record the ERP wrote, so it counts, but none of its cells can be read, so with
    one the control sum cannot be checked (a sum without it could never match the ERP's).
    """
    where = f"{name}: trailer on line {trailer.line}"
    if spec.count_field is not None:
        _check_count(where, trailer, spec.count_field, rows.height, fmt)
    if spec.sum_field is not None and spec.sum_of is not None:
        said = _number(_field(trailer, spec.sum_field, "sum_field", where), fmt)
        if said is None:
            raise _unreadable(where, spec.sum_field, "a number", trailer)
        if broken is not None and broken.height:
            line, fields, width = broken.row(0)
            raise Truncated(
                f"{name}: the control sum of {spec.sum_of!r} cannot be checked: line {line} "
                f"has {fields} field{'s' if fields != 1 else ''} where the header has {width}, "
                "so none of its cells can be read; fix the row in the ERP; not applied",
                line=line,
            )
        found = _control_sum(name, rows, spec.sum_of, fmt)
        if said != found:
            raise Truncated(
                f"{where} says {spec.sum_of!r} sums to {_shown(said, fmt)}, the rows sum to "
                f"{_shown(found, fmt)}: {_CUT}",
                line=trailer.line,
            )


def _check_count(where: str, trailer: Trailer, field: int, records: int, fmt: FormatSpec) -> None:
    """Truncated unless field `field` of the trailer is the number of records read."""
    said = _number(_field(trailer, field, "count_field", where), fmt)
    if said is None or said != said.to_integral_value():
        raise _unreadable(where, field, "a record count", trailer)
    if said != records:
        raise Truncated(
            f"{where} says {int(said)} records, the file has {records}: {_CUT}",
            line=trailer.line,
        )


def _field(trailer: Trailer, number: int, key: str, where: str) -> str:
    """Field `number` (1-based) of the trailer's line, or Truncated naming the key."""
    if number > len(trailer.fields):
        raise Truncated(
            f"{where} has {len(trailer.fields)} fields, no field {number} "
            f"(format.trailer.{key}): the trailer is not what the contract says; not applied",
            line=trailer.line,
        )
    return trailer.fields[number - 1]


def _unreadable(where: str, number: int, what: str, trailer: Trailer) -> Truncated:
    shown = trailer.fields[number - 1]
    return Truncated(
        f"{where}: field {number} ({shown!r}) is not {what}: the trailer is not what the "
        "contract says; not applied",
        line=trailer.line,
    )


def _number(text: str, fmt: FormatSpec) -> Decimal | None:
    """A number written in the file's dialect, exactly; None when it is not one."""
    text = text.strip()
    if not re.match(number_pattern(fmt, _PLACES), text):
        return None
    try:
        return Decimal(_plain(text, fmt.decimal))
    except InvalidOperation:
        return None


def _plain(text: str, decimal: str) -> str:
    """Digits, sign and a point: the thousands separators the pattern allowed dropped."""
    return re.sub(rf"[^0-9+\-{re.escape(decimal)}]", "", text).replace(decimal, ".")


def _control_sum(name: str, rows: pl.DataFrame, column: str, fmt: FormatSpec) -> Decimal:
    """The exact sum of a column's cells in the file's dialect; an empty cell counts 0.

    A cell that is not a number means the sum cannot be checked, so the file cannot be
    shown complete: it is rejected naming that line rather than checked on a guess.
    """
    if column not in rows.columns:
        raise SchemaMismatch(
            f"{name}: format.trailer.sum_of names column {column!r}, which the file does not have",
            column=column,
        )
    cells = rows[column]
    bad = rows.filter(cells.is_not_null() & ~cells.str.contains(number_pattern(fmt, _PLACES)))
    if bad.height:
        value, line = bad.row(0, named=True)[column], bad[LINE][0]
        raise Truncated(
            f"{name}: the control sum of {column!r} cannot be checked: {value!r} on line "
            f"{line} is not a number; not applied",
            line=line,
        )
    plain = cells.str.replace_all(rf"[^0-9+\-{re.escape(fmt.decimal)}]", "")
    plain = plain.str.replace(fmt.decimal, ".", literal=True)
    places = plain.str.extract(r"\.([0-9]*)$", 1).str.len_chars().max()
    exact = plain.cast(pl.Decimal(38, places if isinstance(places, int) else 0), strict=False)
    try:
        if exact.null_count() == cells.null_count():
            total = exact.sum()
            if isinstance(total, Decimal):
                return total
    except pl.exceptions.ComputeError:
        pass  # beyond 38 digits: still exact below, only slower
    return sum((Decimal(v) for v in plain.drop_nulls()), Decimal(0))


def _shown(number: Decimal, fmt: FormatSpec) -> str:
    """A number as the file writes it (decimal comma or point), for the message."""
    return f"{number:f}".replace(".", fmt.decimal)
