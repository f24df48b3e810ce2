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

from etl.models import ACTIVE, DORMANT, HELD, INACTIVE, STATE
from etl.to_norce.masterdata.fields_differ import any_differs

AT = "__at"  # a row's position in the snapshot
ROW = "__row"  # a file row's position in the file
_HASH = "__key_hash"
_ALL_BITS = 2**64 - 1
# File rows matched at a time (see _merged).
MERGED_ROWS = 2**20
# A row's state held as one byte, not as a string's sixteen (at ten million rows 150 MB
# less through the diff). A state no run writes fails the cast rather than pass as another.
_STATES = pl.Enum([ACTIVE, HELD, INACTIVE, DORMANT])


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
    """The named columns of every row, with each row's position as AT (STATE as an Enum)."""
    columns = [pl.col(n).cast(_STATES) if n == STATE else pl.col(n) for n in names]
    return old.select(columns).with_row_index(AT).collect()


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


def matched(
    new_keys: pl.DataFrame,
    old: pl.LazyFrame | pl.DataFrame,
    key: Sequence[str],
    *,
    position_bits: int | None = None,
    part_rows: int = MERGED_ROWS,
) -> pl.DataFrame:
    """Per row of `new_keys` (ROW, in order) the AT of each snapshot row with its key (null:
    none), as a left join on the key with nulls equal: a row's pairs in the snapshot's order.

    `old`: the snapshot (a scan of it), whose keys are read a part at a time and never held
    whole: at ten million rows they took 150 MB beside everything the match holds. Matched on
    a 64-bit hash of the key, not the key: the join's table of ten million string keys took
    about 2 GB more than one of hashes, and a join of the hashes still 0.9 to 1 GB. Every pair
    found is checked on the key itself, so keys that share a hash cost only time. Keys of
    other types on each side (whose hashes differ) are joined on the key.
    `position_bits`: the bits of each hash that carry a row's position (see _by_sorted_hash;
    None: as few as the rows need); a test gives it most, so that many keys share the rest.
    `part_rows`: the file rows matched at a time.
    """
    key, snapshot = list(key), old.lazy()
    if new_keys.select(key).schema != snapshot.select(key).collect_schema():
        theirs = snapshot.select(key).with_row_index(AT).collect()
        joined = (
            new_keys.select(key)
            .with_row_index(ROW)
            .join(theirs, on=key, how="left", nulls_equal=True, maintain_order="left")
        )
        return joined.select(ROW, AT)
    snapshot_rows = snapshot.select(pl.len()).collect().item()
    bits = max(new_keys.height, snapshot_rows, 1).bit_length()
    low = (1 << (bits if position_bits is None else position_bits)) - 1
    return _by_sorted_hash(new_keys, snapshot, snapshot_rows, key, low, part_rows)


def _by_sorted_hash(
    new_keys: pl.DataFrame,
    old: pl.LazyFrame,
    snapshot_rows: int,
    key: list[str],
    low: int,
    part_rows: int,
) -> pl.DataFrame:
    """`matched` by the keys' hashes: both sides in hash order, merged a part at a time, each
    pair then checked on the key.

    Each hash carries its row's position in its `low` bits, so one sort of plain integers
    puts a side in hash order and says where each row came from: sorting the hashes with the
    positions beside them, or taking their order, took three to four times the CPU. The bits
    left of the hash pair the rows; the key check tells apart keys that share them.
    """
    mine = _hash_order(new_keys.lazy(), key, low)
    theirs = _hash_order(old, key, low)
    at = pl.repeat(None, new_keys.height, dtype=pl.get_index_type(), eager=True)
    shared = []
    for start in range(0, mine.len(), part_rows):
        pairs, several = _merged(mine.slice(start, part_rows), theirs, low)
        at = at.scatter(pairs.get_column(ROW), pairs.get_column(AT))
        if several is not None:
            shared.append(several)
    del mine, theirs
    at = _same_key(new_keys, old, snapshot_rows, at, key)
    if not shared:
        return at.alias(AT).to_frame().with_row_index(ROW)
    return _with_shared(at, _equal_keys(new_keys, old, pl.concat(shared), key))


def _merged(
    mine: pl.Series, theirs: pl.Series, low: int
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The pairs (ROW, AT) of a part of the file's hashes (`mine`, sorted) and the snapshot's
    (`theirs`, sorted) of the same hash: each of the part's rows once (AT null: none, or a
    hash some snapshot rows share), and the pairs of the rows whose hash they share (None).

    Only the snapshot's hashes in the part's range are put beside it: a part at a time, the
    pairs and the hashes split from the positions are never held for every row (at ten
    million rows 400 MB at once).
    """
    high = low ^ _ALL_BITS
    first = theirs.search_sorted(mine[0] & high, side="left")
    end = theirs.search_sorted(mine[-1] | low, side="right")
    left = _split(mine, low, ROW)
    right = _split(theirs.slice(first, end - first), low, AT)
    hashes = right.get_column(_HASH)
    twice = hashes.slice(1) == hashes.slice(0, max(hashes.len() - 1, 0))
    if not twice.any():
        return _joined_sorted(left, right), None
    shared = pl.col(_HASH).is_in(hashes.slice(1).filter(twice).unique().implode())
    several = left.filter(shared).join(right.filter(shared), on=_HASH, how="inner")
    return _joined_sorted(left, right.filter(~shared)), several.select(ROW, AT)


def _split(hashes: pl.Series, low: int, name: str) -> pl.DataFrame:
    """Sorted packed hashes as the hash (_HASH, flagged sorted) and the position (`name`)."""
    hashed = (pl.col(_HASH) & pl.lit(low ^ _ALL_BITS, pl.UInt64)).set_sorted()
    position = (pl.col(_HASH) & low).cast(pl.get_index_type()).alias(name)
    return hashes.to_frame().select(hashed, position)


def _joined_sorted(left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
    """The left join of two frames sorted on _HASH, right's hashes each once: (ROW, AT)."""
    # Both sides sorted, and flagged so: polars merges them instead of building a table.
    right = right.with_columns(pl.col(_HASH).set_sorted())
    return left.join(right, on=_HASH, how="left").select(ROW, AT)


def _hash_order(frame: pl.LazyFrame, key: list[str], low: int) -> pl.Series:
    """Per row the key's hash with the row's position in its `low` bits, sorted (as _HASH).

    Both sides hashed alike (the file's keys too go through the streaming engine), which
    reads the snapshot's keys a part at a time.
    """
    packed = (pl.struct(key).hash() & pl.lit(low ^ _ALL_BITS, pl.UInt64)) | pl.col(_HASH)
    positions = frame.select(key).with_row_index(_HASH).with_columns(pl.col(_HASH).cast(pl.UInt64))
    hashes = positions.select(packed.alias(_HASH)).collect(engine="streaming").to_series()
    # One thread: sorting a million integers on two took twice the CPU for little less time.
    return hashes.sort(multithreaded=False)


def _same_key(
    new_keys: pl.DataFrame, old: pl.LazyFrame, snapshot_rows: int, at: pl.Series, key: list[str]
) -> pl.Series:
    """`at` (per file row, the position of its one snapshot row with the same hash) where the
    keys are the same, null where they are not (no other snapshot row has that hash)."""
    differs = any_differs(old, new_keys, at, key, snapshot_rows)
    if not differs.any():
        return at
    return pl.select(pl.when(~differs).then(at)).to_series()


def _equal_keys(
    new_keys: pl.DataFrame, old: pl.LazyFrame, pairs: pl.DataFrame, key: list[str]
) -> pl.DataFrame:
    """The pairs (ROW, AT) whose file row and snapshot row have the same key."""
    paired = pairs.drop_nulls(AT)
    theirs = rows_at(old.select(key), paired.get_column(AT))
    same = pl.repeat(True, paired.height, eager=True)
    for k in key:
        mine = new_keys.get_column(k).gather(paired.get_column(ROW))
        same &= mine.eq_missing(theirs.get_column(k))
    return paired.filter(same)


def _with_shared(at: pl.Series, kept: pl.DataFrame) -> pl.DataFrame:
    """`matched` from the one-pair rows' `at` and the pairs `kept` of rows that had several
    (a snapshot holding a key twice, its contract's key narrowed since, or keys that share a
    hash), as the join on the key orders them: by ROW, a row's pairs in the snapshot's order.
    """
    rows = kept.get_column(ROW)
    if not rows.is_duplicated().any():
        return at.scatter(rows, kept.get_column(AT)).alias(AT).to_frame().with_row_index(ROW)
    one = at.alias(AT).to_frame().with_row_index(ROW).filter(~pl.col(ROW).is_in(rows.implode()))
    return pl.concat([one, kept], how="vertical").sort(ROW, AT)


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
