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

_CALL = "__call"  # each add's call, as a number, while the plan runs


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
    at = calls_in_order(adds, [rows for _, rows in carried], key)
    if at is None:
        return None
    labels = [label for label, _ in carried]
    request = pl.col(_CALL).replace_strict(list(range(len(labels))), labels, return_dtype=pl.String)
    # with_columns on the eager frame shares the adds' columns (no copy) and adds 4 bytes a row.
    numbered = adds.with_columns(at.alias(_CALL))
    return numbered.lazy().select(*columns, request.alias("request"))


def calls_in_order(
    adds: pl.DataFrame, sent: Sequence[pl.DataFrame], key: Sequence[str]
) -> pl.Series | None:
    """Each add's call number, if the calls carried the adds one for one, in order, each once.

    Compared call by call, so no column of every sent key is built. Keys are told apart by a
    hash, as the general path does: equal hashes (a key twice, or a collision) give None.
    """
    text, offset, hashes = key_text(key), 0, []
    for rows in sent:
        keys = rows.select(text).to_series()
        mine = adds.slice(offset, rows.height).select(text).to_series()
        if keys.null_count() or not keys.equals(mine):
            return None
        hashes.append(keys.hash())
        offset += rows.height
    if offset != adds.height or _any_twice(pl.concat(hashes, rechunk=False)):
        return None
    numbers = [
        pl.repeat(i, rows.height, dtype=pl.UInt32, eager=True) for i, rows in enumerate(sent)
    ]
    return pl.concat(numbers)


def _any_twice(hashes: pl.Series) -> bool:
    """Whether a hash occurs twice: sorted, then neighbours compared.

    A sort holds one copy of the hashes (80 MB at ten million); `is_duplicated`'s table held
    about three times that (measured), on top of the rows, at the run's peak.
    """
    ordered = hashes.sort()
    return bool((ordered.slice(1) == ordered.slice(0, ordered.len() - 1)).any())


def _only_adds(delta: Delta) -> bool:
    """Whether the delta has nothing but adds: no change, reactivation, removal, hold or spare."""
    others = (delta.changes, delta.reactivations, delta.removals, delta.held, delta.spared)
    return not any(frame.height for frame in others)
