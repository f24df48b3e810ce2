"""Rows that repeat an earlier row field for field, taken once and accounted for.

With `[checks] same_key_rows = "merge_identical"` a company on each of its contacts' rows is
one company. The rows merged away are counted, and the first ones named by line, so the
report and the manifest can say where every row read went: read = accepted + rejected +
merged. A copy of a row that is rejected is no merged row: it is rejected too, on its own
line. A file of 100k repeated rows names MERGE_EXAMPLES rows taken, each with at most
MERGE_LINES of the lines merged into it, never all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from etl.models import LINE, Merge, MergedRows, Validated, given
from etl.read.mapping import failed_column, received_column

MERGE_EXAMPLES = 20  # rows taken that a report or manifest names, the first in the file
MERGE_LINES = 10  # lines merged into one of them that it names
KEY_PREVIEW = 200  # characters of a key shown, as a report shows a long key

_FIRST, _INTO, _COPY = "_first", "_into", "_copy"
_COPIES = {LINE: pl.Int64, _INTO: pl.Int64, "key": pl.String}
_NOT_FIELDS = (given(""), received_column(""))  # column prefixes that are no part of a row


@dataclass(frozen=True)
class Copies:
    """The rows `take_once` dropped: each one's line, the line taken for it, its key named."""

    frame: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_COPIES))

    def share_outcome(self, rejections: pl.DataFrame) -> tuple[pl.DataFrame, MergedRows]:
        """`rejections` with each copy of a rejected row rejected as it was, on its own line.

        A copy shares the outcome of the row taken for it: merged when that row was applied,
        rejected with the same cells (code, message, value) when it was not, so a bad line
        repeated three times is three rejected rows, none of them "taken once".
        """
        bad = self.frame[_INTO].is_in(rejections["line"].implode())
        rejected, merged = self.frame.filter(bad), self.frame.filter(~bad)
        if rejected.height:
            pairs = rejected.select(pl.col(_INTO).alias("line"), pl.col(LINE).alias(_COPY))
            copied = rejections.join(pairs, on="line").with_columns(pl.col(_COPY).alias("line"))
            both = pl.concat([rejections, copied.select(rejections.columns)])
            rejections = both.sort("line", "field", nulls_last=True)
        return rejections, MergedRows(merged.height, _examples(merged))

    def of(self, lines: Sequence[int]) -> list[int]:
        """The lines of the copies of the rows on `lines`."""
        return self.frame.filter(pl.col(_INTO).is_in(lines))[LINE].to_list()


def take_once(text: pl.DataFrame, key: Sequence[str]) -> tuple[pl.DataFrame, Copies]:
    """`text` with each row that repeats an earlier one on every field dropped, and what went.

    The first of the rows stands for all (its line is reported); the key markers are not
    fields: a row whose key came from a default is still the same row. Nor is the cell as
    the ERP wrote it: "Sverige" and "SE" mapped to one country are the same row; only a cell
    its conversion refused is compared as written ("Narnia" and "Atlantis" are two rejections).
    """
    refused = _refused_cells(text.columns)
    same = [*_fields(text.columns), *refused]
    marked = text.with_columns(*refused.values()).with_columns(
        pl.struct(same).is_first_distinct().alias(_FIRST)
    )
    first = marked.filter(pl.col(_FIRST))
    if first.height == text.height:
        return text, Copies()
    kept = first.drop(_FIRST, *refused)
    dropped = marked.filter(~pl.col(_FIRST)).select(*same, LINE)
    into = first.select(*same, pl.col(LINE).alias(_INTO))
    # Every dropped row has its twin among the kept ones; an empty cell matches an empty one,
    # as it did when the row was found to repeat.
    merged = dropped.join(into, on=same, how="left", nulls_equal=True)
    named = pl.concat_str([pl.col(k).cast(pl.String).fill_null("") for k in key], separator=" / ")
    # A key is named, not kept: a hostile cell of megabytes repeated must not fill the manifest.
    lines = [pl.col(c).cast(pl.Int64) for c in (LINE, _INTO)]
    return kept, Copies(merged.select(*lines, named.str.slice(0, KEY_PREVIEW).alias("key")))


def same_fields(text: pl.DataFrame) -> pl.Series:
    """Per row of `text`, what `take_once` compares of it: two rows are identical when equal."""
    refused = _refused_cells(text.columns)
    compared = text.with_columns(*refused.values())
    return compared.select(pl.struct([*_fields(text.columns), *refused])).to_series()


def _fields(columns: Sequence[str]) -> list[str]:
    """The columns that are fields of a row, as mapped: not its line or key markers."""
    return [c for c in columns if c != LINE and not c.startswith(_NOT_FIELDS)]


def _refused_cells(columns: Sequence[str]) -> dict[str, pl.Expr]:
    """A temporary column per converted field: its cell as written where conversion refused it."""
    received = [c for c in columns if c.startswith(_NOT_FIELDS[1])]
    return {
        f"_refused:{c}": pl.when(
            pl.col(failed_column(c.removeprefix(_NOT_FIELDS[1]))).is_not_null()
        )
        .then(pl.col(c))
        .alias(f"_refused:{c}")
        for c in received
    }


def _examples(merged: pl.DataFrame) -> tuple[Merge, ...]:
    """The first MERGE_EXAMPLES rows taken, in file order, with the lines merged into each."""
    groups = (
        merged.group_by(_INTO)
        .agg(
            pl.col("key").first(),
            pl.col(LINE).sort().head(MERGE_LINES).alias("lines"),
            pl.len().alias("count"),
        )
        .sort(_INTO)
        .head(MERGE_EXAMPLES)
    )
    return tuple(
        Merge(k, into, tuple(lines), count) for into, k, lines, count in groups.iter_rows()
    )


def merges(same_key_rows: str) -> bool:
    """Does the contract's `same_key_rows` take identical rows once (so a count is due)?"""
    return same_key_rows == "merge_identical"


def merged_counts(same_key_rows: str, merged: MergedRows) -> dict[str, int]:
    """A run's `merged` count, for a contract that merges rows (others have none to count)."""
    return {"merged": merged.count} if merges(same_key_rows) else {}


def manifest_facts(merged: MergedRows) -> dict[str, object]:
    """`rows_merged` and the first examples, as the manifest records them."""
    examples = [
        {"key": m.key, "line": m.into, "merged_lines": list(m.lines), "merged": m.count}
        for m in merged.examples
    ]
    return {"rows_merged": merged.count, "merged_examples": examples}


def share_late_outcomes(validated: Validated, earlier: pl.DataFrame) -> Validated:
    """`validated` with the copies of rows rejected since `earlier` (validate's rejections)
    rejected as well, and its merged rows counted again.

    Settle rejects rows after validation (a new row forgiven as a deactivation, a name of an
    unknown record); their copies are then no merged rows but rejected ones, on their own lines.
    """
    if not validated.copies.height:
        return validated
    copies = Copies(validated.copies)
    late = validated.rejections.filter(~pl.col("line").is_in(earlier["line"].implode()))
    rejections, _ = copies.share_outcome(late)
    everything = pl.concat([earlier, rejections]).sort("line", "field", nulls_last=True)
    _, merged = copies.share_outcome(everything)
    return replace(validated, rejections=everything, merged=merged)
