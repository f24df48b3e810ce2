"""Steps both master-data flows take between delivery and commit: the same in ingest and approve."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from etl.config.contracts import FeedContract
from etl.entities import CallContext
from etl.entities.calls import CallResult, NorceCall
from etl.models import LINE, Delta
from etl.runtime import Runtime
from etl.state.areas import kept_in_ledger
from etl.state.blobs import StorageError
from etl.state.ledger.base import Commit, SnapshotMoved
from etl.to_norce.masterdata.go_live import go_live_trail
from etl.to_norce.masterdata.trace import delta_rows, with_changed_values

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def call_context(rt: Runtime, contract: FeedContract) -> CallContext:
    """What the feed's payload builder needs: account, chunk size, options, carried and seeded fields."""
    norce = rt.settings.norce
    options = contract.entity.parse_options(contract.options)
    carried, seeds = contract.carried_fields(), frozenset(contract.create_only)
    return CallContext(norce.account_id, norce.chunk_size, options, carried, seeds)


def stage_delta(
    rt: Runtime,
    contract: FeedContract,
    run_id: str,
    staged: Path,
    delta: Delta,
    snapshot: pl.DataFrame,
    base: str | None,
    hold_reason: str | None = None,
    held_by: pl.DataFrame | None = None,
    calls: Sequence[NorceCall] = (),
) -> str:
    """Write the run's row trail into its archive folder and its candidate snapshot; returns the snapshot path.

    `base`: the snapshot the delta was diffed against (None: the feed's first). `held_by`
    (an approval's): per removal's key text, the `run` that held it. `calls`: what was sent;
    each row of the trail names the request that carried it.
    """
    path = staged / "delta.parquet"
    streamed = None if held_by is not None else go_live_trail(delta, contract.key_fields, calls)
    if streamed is not None:
        sink_trail(streamed, delta, contract.key_fields, path)
    else:
        _write_trail(rt, contract, run_id, path, delta, base, hold_reason, held_by, calls)
    # The trail is on disk and freed before the snapshot is written: they never share the peak.
    return rt.snapshots.write(contract.name, run_id, snapshot)


def _write_trail(
    rt: Runtime,
    contract: FeedContract,
    run_id: str,
    path: Path,
    delta: Delta,
    base: str | None,
    hold_reason: str | None,
    held_by: pl.DataFrame | None,
    calls: Sequence[NorceCall],
) -> None:
    """The trail of any delta, built whole and written to `path`."""
    trail = carried_by(delta_rows(delta, contract.key_fields, hold_reason), calls, contract)
    if LINE in delta.marked.columns:  # an approval's lines are those of the runs that held
        trail = with_removal_causes(trail, delta.marked, contract.key_fields)
    if held_by is not None:
        trail = approved_causes(trail, held_by)
    # The trail keeps each changed field's old value from the base (`run.py trace`); not the
    # ledger's current snapshot, which another machine may have moved on since the diff. The
    # store gives its local file (on object storage it fetches it into its cache).
    personal = contract.entity.personal or frozenset()
    base_path = base_file(rt, contract.name, run_id, base)
    trail = with_changed_values(trail, delta, contract.key_fields, base_path, personal)
    trail.write_parquet(path)


def sink_trail(trail: pl.LazyFrame, delta: Delta, key: Sequence[str], path: Path) -> None:
    """A go-live's planned trail, with what the general path adds, streamed to `path`."""
    if LINE in delta.marked.columns:
        causes = with_removal_causes(trail, delta.marked, key)
        # Nothing to join (no removal at a go-live): only the general path's types are kept.
        kept = trail.cast(causes.collect_schema())
        trail = causes if delta.marked.height else kept
    trail.sink_parquet(path)


def base_file(rt: Runtime, feed: str, run_id: str, base: str | None) -> Path | None:
    """The local file of the snapshot a run diffed against (fetched if the store is remote).

    Gone from the store because another machine's commit moved the feed on (and swept it):
    SnapshotMoved, as the commit would have said; gone while still current: the store's error.
    """
    if base is None:
        return None
    try:
        return rt.snapshots.path(base)
    except StorageError as exc:
        current = rt.ledger.current_snapshot(feed)
        now = current[0] if current else None
        if now == base:
            raise
        raise SnapshotMoved(
            f"the current snapshot changed while run {run_id} ran (now {now}, it "
            f"diffed against {base}); nothing committed, the file is taken again"
        ) from exc


def carried_by(
    trail: pl.DataFrame, calls: Sequence[NorceCall], contract: FeedContract
) -> pl.DataFrame:
    """The trail with `request`: the label of the call that carried each row (null if none).

    A key is in at most one call of a run (adds, each change group, reactivations and
    removals are apart), so the first label found is the one.
    """
    carried = [(c.label, c.rows) for c in calls if c.rows is not None and c.rows.height]
    if not carried or not trail.height:
        return trail.with_columns(pl.lit(None, pl.String).alias("request"))
    text = key_text(contract.key_fields)
    sent = pl.concat([rows.select(text.alias("key")) for _, rows in carried]).to_series()
    # Each sent row's call as a number: a label per row cost 16 bytes of view each.
    calls_at = [
        pl.repeat(i, rows.height, dtype=pl.UInt32, eager=True)
        for i, (_, rows) in enumerate(carried)
    ]
    at, labels = pl.concat(calls_at), pl.Series("request", [label for label, _ in carried])
    if _in_trail_order(sent, trail.get_column("key")):
        return trail.with_columns(labels.gather(at))
    first = sent.to_frame().with_columns(at.alias("_call"))
    first = first.unique("key", keep="first", maintain_order=True)
    joined = trail.join(first, on="key", how="left", maintain_order="left")
    return joined.with_columns(labels.gather(joined.get_column("_call"))).drop("_call")


def _in_trail_order(sent: pl.Series, trail_keys: pl.Series) -> bool:
    """Whether the calls carried the trail's keys one for one, in its order, each once.

    So it is at a go-live: every row an add, sent in file order. Then each row's call is
    known without the join and the tables of every key it builds (288 MB per million rows,
    measured). Keys are told apart by a hash: equal hashes (a key twice, or a collision)
    take the join.
    """
    return (
        sent.len() == trail_keys.len()
        and not sent.null_count()
        and sent.equals(trail_keys)
        and not sent.hash().is_duplicated().any()
    )


def key_text(key: Sequence[str]) -> pl.Expr:
    """A row's key as the trail writes it: its parts joined by ` / `."""
    return pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator=" / ")


def approved_causes(trail: pl.DataFrame, held_by: pl.DataFrame) -> pl.DataFrame:
    """An approval's removals, each with the run whose file gave its cause."""
    joined = trail.join(held_by, on="key", how="left", maintain_order="left")
    known = pl.format("{} in run {}; hold approved", pl.col("reason"), pl.col("run"))
    lost = pl.lit("held by an earlier run whose trail is no longer kept; hold approved")
    reason = pl.when(pl.col("run").is_not_null()).then(known).otherwise(lost)
    return joined.with_columns(reason.alias("reason")).drop("run")


def with_removal_causes(trail: Frame, marked: pl.DataFrame, key: Sequence[str]) -> Frame:
    """Each removal (sent or held) says why: the line that marked it inactive, or its absence.

    `marked` holds the keys the file marked inactive (is_active false) with their LINE; a
    row missing from the file has no line. A held row keeps the guard's reason after its own.
    """
    lines = marked.select(key_text(key).alias("key"), pl.col(LINE).alias("_marked"))
    removal = pl.col("action").is_in(["remove", "held"])
    line = pl.when(removal).then(pl.coalesce("line", "_marked")).otherwise("line").alias("line")
    if isinstance(trail, pl.LazyFrame):  # a go-live's planned trail (etl...masterdata.go_live)
        trail = trail.join(lines.lazy(), on="key", how="left", maintain_order="left")
    else:
        trail = trail.join(lines, on="key", how="left", maintain_order="left")
    trail = trail.with_columns(line)
    why = (
        pl.when(pl.col("_marked").is_not_null())
        .then(pl.format("is_active = false on line {}", pl.col("_marked")))
        .otherwise(pl.lit("missing from the file"))
    )
    held = pl.concat_str([why, pl.col("reason")], separator="; ", ignore_nulls=True)
    action = pl.col("action")
    reason = pl.when(action == "remove").then(why).when(action == "held").then(held)
    return trail.with_columns(reason.otherwise("reason").alias("reason")).drop("_marked")


def delivery_summary(rt: Runtime, results: Sequence[CallResult]) -> dict[str, Any]:
    """The manifest's account of what went to Norce."""
    return {
        "mode": rt.settings.norce.mode,
        "calls": [r.__dict__ for r in results],
        "bytes": sum(r.bytes for r in results),
    }


def job_ids(results: Sequence[CallResult]) -> list[str]:
    """Norce job ids of the calls (none in file mode)."""
    return [r.job_id for r in results if r.job_id]


def snapshot_commit(
    rt: Runtime,
    contract: FeedContract,
    run_id: str,
    staged: Path,
    results: Sequence[CallResult],
    counts: dict[str, int],
    snapshot: tuple[str, int],
    base: str | None,
    **extra: Any,
) -> Commit:
    """The ledger record of a run that delivered and advances the feed's snapshot from `base`.

    The commit is refused (SnapshotMoved) if `base` is no longer the feed's current snapshot.
    """
    return Commit(
        run_id=run_id,
        feed=contract.name,
        outcome="committed",
        finished_at=rt.stamp(),
        counts=counts,
        job_ids=job_ids(results),
        archive_dir=kept_in_ledger(rt.settings.home, rt.archive.final(staged)),
        snapshot=snapshot,
        checks_base=True,
        base=base,
        **extra,
    )
