"""Cell text as every reader hands it on: trimmed, and a contract's null spellings made null.

ERP exports pad cells with spaces (fixed-width habits, Excel's no-break spaces); a cell that
is only spaces, or one of `format.null_values`, is empty. A clean export of a million rows
is not copied for this: one scan finds the columns that need it, and only those are rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

# What the regex `\s` matches (Unicode White_Space): tests/read/formats pins the two equal.
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def clean_cells(frame: pl.DataFrame, columns: Sequence[str], nulls: Sequence[str]) -> pl.DataFrame:
    """Trim the spaces around every cell; a cell that is then one of `nulls` becomes null.

    One scan finds the columns that need either; only those are rewritten, so a clean
    export of a million rows is not copied for nothing.
    """
    if not frame.height or not columns:
        return frame

    def clean(column: str) -> pl.Expr:
        text = pl.col(column).str.strip_chars()
        if not nulls:
            return text
        return pl.when(text.is_in(list(nulls))).then(pl.lit(None, pl.String)).otherwise(text)

    def spaced(column: str) -> pl.Expr:
        # One substring search per cell (Aho-Corasick), half the CPU of the regex below:
        # a column with no white space anywhere (codes, numbers) has none to trim.
        return pl.col(column).str.contains_any(list(WHITESPACE)).any().alias(column)

    def needs(column: str, trim: bool) -> pl.Expr:
        col = pl.col(column)
        # Whether trimming changes a cell, asked of the trim itself: half the CPU of the
        # regex of white space at either end, which says the same.
        dirty = (col.str.strip_chars() != col) if trim else pl.lit(False)
        if nulls:
            dirty = dirty | col.is_in(list(nulls))
        return dirty.any().alias(column)

    trims = frame.select(spaced(c) for c in columns).row(0, named=True)
    looked_at = [c for c in columns if trims[c] or nulls]
    if not looked_at:
        return frame
    flags = frame.select(needs(c, trims[c]) for c in looked_at).row(0, named=True)
    dirty = [c for c in looked_at if flags[c]]
    return frame.with_columns(clean(c).alias(c) for c in dirty) if dirty else frame
