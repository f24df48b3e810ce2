"""Compare the file's valid rows with the last accepted snapshot, by key.

A snapshot row has a state: active, held (its removal waits for approval), inactive (we
deactivated it in Norce; kept so a returning row is a reactivation, not a silent add) or
dormant (we only ever sent it as an add marked inactive: inactive to every rule, but when it
comes back it is an add again, as Norce may never have taken the state we sent).
A rejected row keeps its last accepted state: its key is neither a change nor a removal,
so a typo in a price can never deactivate a product. A row the file marks inactive (the
ERP's `is_active` false) is a removal, never a change: the flag says which state a row is
in, it is no value to compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import polars as pl

from etl.models import (
    ACTIVE,
    CHANGED,
    DORMANT,
    HELD,
    INACTIVE,
    IS_ACTIVE,
    LINE,
    SPARED_BY,
    STATE,
    Delta,
)
from etl.read.deactivations import marked_inactive
from etl.to_norce.masterdata import old_rows
from etl.to_norce.masterdata.fields_differ import any_differs
from etl.to_norce.masterdata.old_rows import AT, ROW, Matched

_OLD = "__old"


def diff(
    old: pl.DataFrame | pl.LazyFrame,
    new: pl.DataFrame,
    rejected_keys: pl.DataFrame,
    key: Sequence[str],
    full_export: bool,
) -> Delta:
    """Adds, changes (with the fields that changed), reactivations and removal candidates.

    A row the file marks inactive (IS_ACTIVE false) is never a change. Live in the snapshot
    it is a removal candidate, as a row missing from a full export is (so the guard counts
    it the same), sent as Norce has it, its LINE in `marked`; new to the snapshot it is
    an add that stays inactive; inactive already, it is nothing. A dormant row back in the
    file is an add, carrying CHANGED like a reactivation (an adds frame without any has no
    CHANGED column). `old` may be a scan of the snapshot: only parts of it are read (see
    etl.to_norce.masterdata.old_rows).
    """
    return compared(old, new, rejected_keys, key, full_export)[0]


def compared(
    old: pl.DataFrame | pl.LazyFrame,
    new: pl.DataFrame,
    rejected_keys: pl.DataFrame,
    key: Sequence[str],
    full_export: bool,
) -> tuple[Delta, Matched]:
    """`diff`'s delta, and the match of the file's keys it made (for `apply` and the guard)."""
    key, snapshot = list(key), old.lazy()
    empty_snapshot = not snapshot.select(pl.len()).collect().item()
    if empty_snapshot and not new.select(marked_inactive(new).any()).item():
        # A feed's first run (a go-live): every row an add. The frames a join would give,
        # without the join's copy of every row and a null column per old field.
        numbered, empty = old_rows.numbered(snapshot, [STATE]), new.clear()
        nobody = old_rows.matched(empty.select(key), snapshot, key)
        none, _ = _joined(snapshot, numbered, nobody, empty, rejected_keys, key, full_export)
        kept = [c for c in old_rows.columns(snapshot) if c not in key and c != STATE]
        nothing = pl.repeat(None, new.height, dtype=numbered.schema[AT], eager=True)
        found = nothing.alias(AT).to_frame().with_row_index(ROW)
        adds = new.select(*key, *kept, LINE)
        return replace(none, adds=adds), Matched.of(numbered, found, new.height)
    found = old_rows.matched(new.select(key), snapshot, key)
    # The states read once the keys are matched: not held beside the match's own frames.
    numbered = old_rows.numbered(snapshot, [STATE])
    delta, carried = _joined(snapshot, numbered, found, new, rejected_keys, key, full_export)
    return delta, Matched.of(numbered, found, new.height, carried)


def _joined(
    old: pl.LazyFrame,
    numbered: pl.DataFrame,
    found: pl.DataFrame,
    new: pl.DataFrame,
    rejected_keys: pl.DataFrame,
    key: list[str],
    full_export: bool,
) -> tuple[Delta, pl.DataFrame | None]:
    """The diff of a file against a snapshot (`numbered`: its states) by key, the file's rows
    matched to the snapshot's as `found` (`old_rows.matched`), and, of a full export, the
    snapshot rows the file does not have (whole, in the snapshot's order).

    Only the keys are joined: a join of the whole rows held every field twice for every row
    of the file (at ten million rows several GB), though about 1% of them differ. Each
    field is compared on its own, and the rows that need their old values (changes,
    returning rows, removals) are the only ones read whole and put side by side.
    """
    names = old_rows.columns(old)
    kept = [c for c in names if c not in key and c != STATE]
    fields = [c for c in kept if c != IS_ACTIVE]  # the flag decides the state, not a change
    if found.height != new.height:
        # The snapshot holds a key twice: the contract's key was narrowed since it was
        # written. Each file row goes beside every snapshot row of its key, as the join of
        # whole rows did; this run's snapshot then holds the key once again.
        new = new.select(pl.all().gather(found.get_column(ROW)))
    at = found.get_column(AT)  # per file row, the position of its snapshot row (or null)
    state = numbered.get_column(STATE).gather(at)
    live, off = state.is_in([ACTIVE, HELD]), new.select(marked_inactive(new)).to_series()
    returning = state.is_in([INACTIVE, DORMANT]) & ~off
    differs = any_differs(old, new, at, fields, numbered.height)
    needed = (live & (off | differs)) | returning
    gone = numbered.clear().get_column(AT)
    if full_export:  # the join made says which rows left
        gone = old_rows.unmatched(numbered, found).get_column(AT)
    side_at = at.filter(needed)
    # One read for both; of a full export every row the file left, live or not: the next
    # snapshot carries them all (etl.to_norce.masterdata.old_rows.Matched.carried).
    read = old_rows.rows_at(old, pl.concat([side_at, gone]))
    renamed = read.select([*kept, STATE]).rename({c: c + _OLD for c in [*kept, STATE]})
    side = pl.concat([new.filter(needed), renamed.head(side_at.len())], how="horizontal")
    carried = read.tail(gone.len()) if full_export else None
    gone_rows = None
    if carried is not None:
        gone_rows = carried.filter(pl.col(STATE).is_in([ACTIVE, HELD])).select(names)
    added = new.filter(state.is_null())
    return _delta(names, added, side, gone_rows, rejected_keys, key), carried


def _delta(
    names: list[str],
    added: pl.DataFrame,
    joined: pl.DataFrame,
    missing: pl.DataFrame | None,
    rejected_keys: pl.DataFrame,
    key: list[str],
) -> Delta:
    """The delta from the new rows (`added`), the rows put beside their snapshot row
    (`joined`) and, of a full export, the live snapshot rows the file lacks (`missing`)."""
    kept = [c for c in names if c not in key and c != STATE]
    fields = [c for c in kept if c != IS_ACTIVE]
    state = pl.col(STATE + _OLD)
    live, off = state.is_in([ACTIVE, HELD]), marked_inactive(joined)
    differs = [pl.col(f).ne_missing(pl.col(f + _OLD)) for f in fields]
    flags = [pl.when(d).then(pl.lit(f)) for d, f in zip(differs, fields, strict=True)]
    changed_rows = joined.filter(live & ~off & pl.any_horizontal(differs))
    columns = [*key, *kept, LINE]
    changes = changed_rows.select(*columns, pl.concat_list(flags).list.drop_nulls().alias(CHANGED))
    adds = added.select(columns)
    # A returning row carries the fields that differ from its last accepted state, so a
    # field the ERP emptied while the row was away is cleared like any change to empty.
    differing = pl.concat_list(flags).list.drop_nulls().alias(CHANGED)
    reactivations = joined.filter((state == INACTIVE) & ~off).select(*columns, differing)
    returned = joined.filter((state == DORMANT) & ~off)
    if returned.height:
        adds = pl.concat([adds, returned.select(*columns, differing)], how="diagonal")
    shape = [c for c in names if c != STATE]
    turned = joined.filter(live & off)
    was = [pl.col(c + _OLD).alias(c) for c in kept]
    removals = turned.select(*key, *was).select(shape)
    marked = turned.select(*key, pl.col(LINE).cast(pl.Int64))
    spared = added.select(key).clear().with_columns(pl.lit(None, pl.Int64).alias(SPARED_BY))
    if missing is not None:
        gone, spared = _spare_rejected(missing, rejected_keys, key, spared)
        removals = pl.concat([removals, gone.select(shape)], how="vertical")
    return Delta(adds, changes, reactivations, removals, removals.clear(), spared, marked)


def _spare_rejected(
    candidates: pl.DataFrame, rejected: pl.DataFrame, key: list[str], spared: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Old rows a rejected row may stand for are not removed: (removals, spared rows).

    A rejected row names its record by the key's first part (validate keeps only those);
    where other parts could not be read (a price row with a bad quantity break) it spares
    every missing row of that record that matches on the parts it had: better to keep a
    row one run too long than to deactivate one because of a typo. `spared` names the line
    of the rejected row that kept each one.
    """
    found = [spared]
    for pattern in _patterns(rejected, key):
        known = [k for k, present in zip(key, pattern, strict=True) if present]
        rows = rejected.filter(
            pl.all_horizontal(
                pl.col(k).is_not_null() == p for k, p in zip(key, pattern, strict=True)
            )
        )
        line = pl.col(LINE) if LINE in rows.columns else pl.lit(None, pl.Int64)
        by = rows.select(*known, line.alias(SPARED_BY)).unique(subset=known, keep="first")
        hits = candidates.join(by, on=known, how="inner", nulls_equal=True, maintain_order="left")
        found.append(hits.select(*key, SPARED_BY))
        candidates = candidates.join(
            by, on=known, how="anti", nulls_equal=True, maintain_order="left"
        )
    return candidates, pl.concat(found, how="vertical")


def _patterns(rejected: pl.DataFrame, key: list[str]) -> list[list[bool]]:
    """Which key parts the rejected rows had, each combination once; the first part always."""
    if not rejected.height:
        return []
    known = rejected.filter(pl.col(key[0]).is_not_null()).select(
        pl.concat_list([pl.col(k).is_not_null() for k in key]).alias("_known")
    )
    return sorted(known.unique()["_known"].to_list(), reverse=True)


def guard(
    delta: Delta,
    live_before: int,
    valid_rows: int,
    max_removals: int,
    max_ratio: float,
    unkeyed_lines: Sequence[int] = (),
    active_rows: int | None = None,
) -> tuple[Delta, str | None]:
    """Hold the removals when they exceed both thresholds, when the file has no valid rows,
    or when a rejected row without its key's first part may be any of them (`unkeyed_lines`).

    `active_rows`: of a full export, the valid rows not marked inactive. None of them is the
    empty file again (every row switched off, an ERP's export job gone wrong): held whatever
    the thresholds. A delta export leaves it None: a file of deactivations only is normal there.
    A row without its key can only stand for a row missing from the file: a removal the file
    marked inactive on its own line has its evidence and goes (the thresholds count it).
    """
    count = delta.removals.height
    if not count:
        return delta, None
    reason = _mass_removal(count, live_before, valid_rows, max_removals, max_ratio, active_rows)
    if reason is not None:
        return _held(delta, delta.removals.clear(), delta.removals), reason
    if not unkeyed_lines:
        return delta, None
    marked, missing = _by_evidence(delta)
    if not missing.height:
        return delta, None
    return _held(delta, marked, missing), _unkeyed_reason(unkeyed_lines, missing.height)


def _mass_removal(
    count: int,
    live_before: int,
    valid_rows: int,
    max_removals: int,
    max_ratio: float,
    active_rows: int | None,
) -> str | None:
    """Why all `count` removals wait, or None: an empty or all-inactive file, or the thresholds."""
    reason = None
    if valid_rows == 0:
        reason = f"the file has no valid rows but {live_before} are live: {count} removals held"
    elif active_rows == 0:
        reason = (
            f"every valid row of the file is marked inactive (is_active false) and {live_before} "
            f"are live: {count} removals held"
        )
    elif count > max_removals and count / max(live_before, 1) > max_ratio:
        reason = (
            f"{count} removals ({count / max(live_before, 1):.1%} of {live_before}) exceed the guard "
            f"(more than {max_removals} and more than {max_ratio:.0%})"
        )
    return reason


def _by_evidence(delta: Delta) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The removals the file marked inactive on a line, and those missing from the file."""
    key = [c for c in delta.marked.columns if c != LINE]
    if not key or not delta.marked.height:
        return delta.removals.clear(), delta.removals
    lines = delta.marked.select(key)
    marked = delta.removals.join(lines, on=key, how="semi", nulls_equal=True)
    missing = delta.removals.join(lines, on=key, how="anti", nulls_equal=True)
    return marked, missing


def _unkeyed_reason(unkeyed_lines: Sequence[int], missing: int) -> str:
    shown = ", ".join(str(n) for n in unkeyed_lines[:5])
    more = f" and {len(unkeyed_lines) - 5} more" if len(unkeyed_lines) > 5 else ""
    return (
        f"{len(unkeyed_lines)} rejected row(s) had no readable key (line {shown}{more}): "
        f"any of the {missing} removals missing from the file may be one of them, so those "
        "are held; fix the rows in the ERP, or check the report and approve"
    )


def _held(delta: Delta, removals: pl.DataFrame, held: pl.DataFrame) -> Delta:
    return Delta(
        delta.adds,
        delta.changes,
        delta.reactivations,
        removals,
        held,
        delta.spared,
        delta.marked,
    )


def apply(
    old: pl.DataFrame | pl.LazyFrame,
    new: pl.DataFrame,
    delta: Delta,
    key: Sequence[str],
    full_export: bool = True,
    matched: Matched | None = None,
) -> pl.DataFrame:
    """The next snapshot: the file's valid rows, plus old rows it did not carry, with states.

    Of a full export, `held` is the state of exactly this delta's held rows: a row held by
    an earlier run that this run neither removes nor holds again (it was spared by a
    rejected row) is active again, so approving a hold can only ever release what the
    latest run held. A delta export says nothing of the rows it leaves out: a held row it
    does not name stays held, its hold pending, until a file names it or it is approved.
    A row the file marks inactive keeps its old values (Norce has those) with its state
    moved; one the snapshot never had is kept dormant with the file's values. `old` may be
    a scan of the snapshot: only its keys and the rows the file does not carry are read.
    `matched`: what `compared` found for these rows of `new` (None: matched here).
    """
    key, snapshot = list(key), old.lazy()
    columns = old_rows.columns(snapshot)
    if matched is None or matched.rows != new.height:
        found = old_rows.matched(new.select(key), snapshot, key)
        snapshot_rows = snapshot.select(pl.len()).collect().item()
        matched = Matched(found, snapshot_rows, live=0, rows=new.height)  # apply counts none
    off = marked_inactive(new)
    if new.select(off.any()).item():
        present, marked = new.filter(~off), new.filter(off)
        off_rows = new.select(off).to_series()
    else:  # the usual file: no row marked inactive, and no copy of every row
        present, marked, off_rows = new, new.clear(), None
    current = present.with_columns(pl.lit(ACTIVE).alias(STATE)).select(columns)
    gone, unknown = old_rows.left_behind(matched, off_rows)
    # A marked row the snapshot never had is kept dormant (rows in the file's order).
    dormant = marked.clear() if off_rows is None else new.filter(off_rows & unknown)
    dormant = dormant.with_columns(pl.lit(DORMANT).alias(STATE)).select(columns)
    # Of a full export without rows marked inactive, the diff read them already.
    read = matched.carried if off_rows is None else None
    carried = read if read is not None else old_rows.rows_at(snapshot, gone)
    if full_export:
        released = pl.when(pl.col(STATE) == HELD).then(pl.lit(ACTIVE)).otherwise(pl.col(STATE))
        carried = carried.with_columns(released.alias(STATE))
    removed = delta.removals.select(key).with_columns(pl.lit(INACTIVE).alias("_to"))
    held = delta.held.select(key).with_columns(pl.lit(HELD).alias("_to"))
    moves = pl.concat([removed, held]) if held.height or removed.height else None
    if moves is not None:
        # Matched on the key alone: a key twice in the snapshot (a narrowed key) meets each
        # of its moves, so each key moves once, and only a live row moves (an inactive twin
        # stays inactive, not held again for an approval to deactivate twice).
        moves = moves.unique(subset=key, keep="first", maintain_order=True)
        live = pl.col(STATE).is_in([ACTIVE, HELD])
        carried = (
            carried.join(moves, on=key, how="left", nulls_equal=True, maintain_order="left")
            .with_columns(
                pl.when(live).then(pl.coalesce("_to", STATE)).otherwise(STATE).alias(STATE)
            )
            .select(columns)
        )
    return pl.concat([current, carried, dormant], how="vertical")
