"""The snapshot a file is diffed against, read a part at a time.

A snapshot holds every row the feed ever had: at ten million rows several GB as one frame.
The diff needs all of it only as keys and states; the fields it compares a part of the
snapshot at a time, and whole rows only for the few that changed, left or come back. So
the diff takes the snapshot as a lazy frame (a scan of its Parquet file, or a frame in
memory made lazy) and collects just those parts. Rows are addressed by their position in
the snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from etl.models import ACTIVE, HELD, STATE

AT = "__at"  # a row's position in the snapshot
ROW = "__row"  # a file row's position in the file
_HASH = "__key_hash"


@dataclass(frozen=True)
class Matched:
    """A file's keys matched against a snapshot: what the diff found, kept for apply.

    `found`: per file row (ROW) the AT of each snapshot row with its key (null: none), as
    `matched` gives it. The next snapshot needs it again: passed on, the snapshot's keys are
    neither read nor matched a second time, and no key is held for it (at ten million rows
    the keys and states took more than the positions do).
    """

    found: pl.DataFrame
    snapshot_rows: int
    live: int  # the snapshot's rows active or held: the guard's base
    rows: int  # the file's rows: a Matched fits only a file of as many
    # Of a full export, the whole snapshot rows no file row matched, in the snapshot's order:
    # the diff read them (removals are among them), the next snapshot carries them.
    carried: pl.DataFrame | None = None

    @classmethod
    def of(
        cls,
        numbered: pl.DataFrame,
        found: pl.DataFrame,
        rows: int,
        carried: pl.DataFrame | None = None,
    ) -> Matched:
        """The match `found` of a file of `rows` rows against `numbered` (with STATE)."""
        live = numbered.select(pl.col(STATE).is_in([ACTIVE, HELD]).sum()).item()
        return cls(found, numbered.height, int(live), rows, carried)


def columns(old: pl.LazyFrame) -> list[str]:
    """The snapshot's column names (read from the file's schema, no rows)."""
    return old.collect_schema().names()


def numbered(old: pl.LazyFrame, names: Sequence[str]) -> pl.DataFrame:
    """The named columns of every row, with each row's position as AT."""
    return old.select(names).with_row_index(AT).collect()


def rows_at(old: pl.LazyFrame, at: pl.Series) -> pl.DataFrame:
    """The whole rows at the positions `at`, in that order (a position may repeat).

    The rows found have their text copied out of the snapshot's pages, a part at a time (the
    streaming engine): a string polars filters still points into the buffer its page was
    decoded into, so the rows found held every text buffer of the file at once until they
    were put in order (1.5% of a ten-million-row snapshot: about 500 MB, not 150 MB).
    """
    wanted = at.unique()
    found = (
        old.with_row_index(AT)
        .filter(pl.col(AT).is_in(wanted.implode()))
        .with_columns(_own_text(old))
        .collect(engine="streaming")
    )
    return at.alias(AT).to_frame().join(found, on=AT, how="left", maintain_order="left").drop(AT)


def _own_text(old: pl.LazyFrame) -> list[pl.Expr]:
    """Each text column as new strings of its own (no view into the decoded page's buffer).

    Appending an empty string builds every value anew, nulls staying null; a cast or a slice
    would keep the views, and so the buffers they point into.
    """
    text = [name for name, dtype in old.collect_schema().items() if dtype == pl.String]
    return [pl.concat_str(pl.col(name), pl.lit("")).alias(name) for name in text]


def matched(new_keys: pl.DataFrame, numbered: pl.DataFrame, key: Sequence[str]) -> pl.DataFrame:
    """Per row of `new_keys` (ROW, in order) the AT of each snapshot row with its key (null:
    none), as a left join on the key with nulls equal.

    Matched on a 64-bit hash of the key, not the key: the join's table of ten million string
    keys took about 2 GB more than one of hashes, and a join of the hashes still 0.9 to 1 GB,
    where a binary search in the snapshot's sorted hashes takes 0.2 to 0.3 GB. Every pair
    found is checked on the key itself; should two keys share a hash (or the key's types
    differ), the key is joined.
    """
    key = list(key)
    exact = new_keys.select(key).schema == numbered.select(key).schema
    if exact:
        found = _by_sorted_hash(new_keys, numbered, key)
        if found is None:  # a hash twice in the snapshot: a join pairs a row with each
            found = _by_hash(new_keys, numbered, key)
        if _all_equal(new_keys, numbered, found, key):
            return found
    return (
        new_keys.select(key)
        .with_row_index(ROW)
        .join(
            numbered.select(*key, AT), on=key, how="left", nulls_equal=True, maintain_order="left"
        )
        .select(ROW, AT)
    )


def _by_sorted_hash(
    new_keys: pl.DataFrame, numbered: pl.DataFrame, key: list[str]
) -> pl.DataFrame | None:
    """The left join on the keys' hashes as a binary search in the snapshot's sorted hashes:
    (ROW, AT), or None when two snapshot rows share a hash (a search finds only one)."""
    theirs = numbered.select(pl.struct(key).hash().alias(_HASH), AT).sort(_HASH)
    hashes, count = theirs.get_column(_HASH), theirs.height
    if count > 1 and (hashes.slice(1) == hashes.slice(0, count - 1)).any():
        return None
    mine = new_keys.select(pl.struct(key).hash()).to_series()
    at = pl.repeat(None, mine.len(), dtype=theirs.schema[AT], eager=True)
    if not count or not mine.len():
        return at.alias(AT).to_frame().with_row_index(ROW)
    # Searched in sorted order (a fifteenth of the time of searching them as they come: each
    # search starts where the last ended in memory), put back in the file's order at the end.
    rows = mine.arg_sort()
    mine = mine.gather(rows)
    # The first place each hash could go: a match where the hash found there is its own.
    place = hashes.search_sorted(mine, side="left").clip(upper_bound=count - 1)
    hit = hashes.gather(place) == mine
    found = pl.select(pl.when(hit).then(theirs.get_column(AT).gather(place))).to_series()
    return at.scatter(rows, found).alias(AT).to_frame().with_row_index(ROW)


def _by_hash(new_keys: pl.DataFrame, numbered: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """The left join on the keys' hashes: (ROW, AT)."""
    hashed = pl.struct(key).hash().alias(_HASH)
    left = new_keys.select(hashed).with_row_index(ROW)
    right = numbered.select(hashed, AT)
    return left.join(right, on=_HASH, how="left", maintain_order="left").select(ROW, AT)


def _all_equal(
    new_keys: pl.DataFrame, numbered: pl.DataFrame, found: pl.DataFrame, key: list[str]
) -> bool:
    """Whether each pair `found` made has the same key on both sides (nulls equal)."""
    if found.height == new_keys.height:
        # One pair per file row, in its order: the file's keys need no gather (half the
        # copying of every key); a row without a pair compares as equal.
        at = found.get_column(AT)
        unpaired = at.is_null()
        for k in key:
            theirs = numbered.get_column(k).gather(at)
            if not (new_keys.get_column(k).eq_missing(theirs) | unpaired).all():
                return False
        return True
    pairs = found.drop_nulls(AT)
    rows, at = pairs.get_column(ROW), pairs.get_column(AT)
    for k in key:
        mine, theirs = new_keys.get_column(k).gather(rows), numbered.get_column(k).gather(at)
        if not mine.eq_missing(theirs).all():
            return False
    return True


def unmatched(numbered: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """The rows of `numbered` no row of `found` matched (an anti join, from the join made)."""
    hit = pl.repeat(False, numbered.height, eager=True).scatter(
        found.get_column(AT).drop_nulls(), True
    )
    return numbered.filter(~hit)


def left_behind(matched: Matched, off: pl.Series | None) -> tuple[pl.Series, pl.Series]:
    """The positions (AT, in order) of the snapshot rows no file row outside `off` matched,
    and per file row whether no snapshot row has its key (`off`: the rows marked inactive;
    None: none).

    From the match the diff made: an anti join each way, without joining again.
    """
    found = matched.found
    unknown = pl.repeat(False, matched.rows, eager=True).scatter(
        found.filter(pl.col(AT).is_null()).get_column(ROW), True
    )
    if off is not None:  # a row marked inactive carries no snapshot row into the next
        found = found.filter(~off.gather(found.get_column(ROW)))
    hit = pl.repeat(False, matched.snapshot_rows, eager=True).scatter(
        found.get_column(AT).drop_nulls(), True
    )
    return (~hit).arg_true().cast(found.schema[AT]).alias(AT), unknown
