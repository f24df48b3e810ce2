"""A go-live's row trail, planned lazily so it is written a morsel at a time.

The general trail (etl.to_norce.masterdata.staging) holds every row's key, action and request
as text at once: at ten million adds that was ~790 MB on top of the rows (measured). When a
run only adds, no add carries changed values and the calls carried the adds one for one in
file order (a go-live, or a feed's first run), each trail row is its add's own columns plus
the number of the call that carried it: the plan reads the adds in place and the streaming
engine writes it, holding one morsel's text at a time. Any other delta returns None and takes
the general path; both give the same rows (tests/to_norce/masterdata/test_go_live_trail.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from etl.entities.calls import NorceCall
from etl.models import Delta
from etl.to_norce.masterdata.trace import adds_trail_columns, has_changed_values, key_text

_CALL = "__call"  # each add's call label, as an Enum, while the plan runs
_HASH = "hash"
_PARTS = 8  # the key hashes are checked for a repeat an eighth at a time


def go_live_trail(
    delta: Delta, key: Sequence[str], calls: Sequence[NorceCall]
) -> pl.LazyFrame | None:
    """The trail of a delta of adds only, carried in file order, as a plan; else None."""
    adds = delta.adds
    if not adds.height or not _only_adds(delta) or has_changed_values(delta):
        return None
    carried = [(c.label, c.rows) for c in calls if c.rows is not None and c.rows.height]
    columns = adds_trail_columns(adds, key)
    if not carried:
        return adds.lazy().select(*columns, pl.lit(None, pl.String).alias("request"))
    if not calls_in_order(adds, [rows for _, rows in carried], key):
        return None
    # Each add's call as an Enum of the labels (4 bytes a row), made text as the trail is
    # written: a label mapped per row with replace_strict was a whole text column the sink
    # held at once (+78 MB per 2M rows, measured). Per-call slices with the label as a
    # literal held less but took a second more of CPU per 2,000 calls to plan.
    names = list(dict.fromkeys(label for label, _ in carried))  # an Enum's are unique
    number = {name: n for n, name in enumerate(names)}
    at = [
        pl.repeat(number[label], rows.height, dtype=pl.UInt32, eager=True)
        for label, rows in carried
    ]
    request = pl.Series(_CALL, names).cast(pl.Enum(names)).gather(pl.concat(at))
    # with_columns on the eager frame shares the adds' columns (no copy).
    numbered = adds.with_columns(request)
    return numbered.lazy().select(*columns, pl.col(_CALL).cast(pl.String).alias("request"))


def calls_in_order(adds: pl.DataFrame, sent: Sequence[pl.DataFrame], key: Sequence[str]) -> bool:
    """Whether the calls carried the adds one for one, in order, each once.

    Compared call by call, so no column of every sent key is built. Keys are told apart by a
    hash, as the general path does: equal hashes (a key twice, or a collision) give False.
    """
    text, offset, hashes = key_text(key), 0, []
    for rows in sent:
        keys = rows.select(text).to_series()
        mine = adds.slice(offset, rows.height).select(text).to_series()
        if keys.null_count() or not keys.equals(mine):
            return False
        hashes.append(keys.hash().alias(_HASH).to_frame())
        offset += rows.height
    return offset == adds.height and not _any_twice(pl.concat(hashes, rechunk=False))


def _any_twice(hashes: pl.DataFrame) -> bool:
    """Whether a hash occurs twice: an eighth of them at a time sorted, neighbours compared.

    Equal hashes fall in the same eighth (by their lowest bits). A sort of them all held a
    second copy of every hash (80 MB at ten million) at the trail's peak; an eighth, 10 MB.
    (`is_duplicated`'s table held about three times that, measured.)
    """
    for part in range(_PARTS):
        found = hashes.lazy().filter(pl.col(_HASH) % _PARTS == part)
        ordered = found.collect(engine="streaming").to_series().sort()
        if ordered.len() > 1 and (ordered.slice(1) == ordered.slice(0, ordered.len() - 1)).any():
            return True
    return False


def _only_adds(delta: Delta) -> bool:
    """Whether the delta has nothing but adds: no change, reactivation, removal, hold or spare."""
    others = (delta.changes, delta.reactivations, delta.removals, delta.held, delta.spared)
    return not any(frame.height for frame in others)
