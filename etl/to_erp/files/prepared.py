"""A unit prepared for a file: its rows as text, and what kept it from fitting the file.

`etl.to_erp.files.render.prepare` makes them; the CSV and XML writers take them.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.to_erp.files.layouts import Record


@dataclass(frozen=True)
class Row:
    """One CSV line or one XML part: the record and its cells, aligned with its columns."""

    record: Record
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Prepared:
    """One unit's rows (an order's, a party's), and what kept it from fitting the file."""

    ref: str  # the order's ClientOrderRef, the party's Norce Id
    rows: tuple[Row, ...]
    unfit: tuple[str, ...] = ()  # one reason per cell with a character the file cannot hold
    changed: tuple[str, ...] = ()  # cells the policy transliterated or replaced, for the log
    # Why the layout cannot write the unit correctly (wrong money, no buyer identifier):
    # unlike `unfit`, no setting and no release changes it; the order must be corrected.
    wrong: tuple[str, ...] = ()
