"""Releasing held removals: `run.py approve RUN`.

Approval re-evaluates rather than replays: it deactivates the rows the *current* snapshot
still holds, so a row that came back in a later file is never switched off. Only the
feed's newest pending hold can be approved; a newer file supersedes older holds.

Each row it sends says why, as the run that held it said: the line that marked it inactive,
or its absence from the file, and which run that was (a delta export keeps a row held across
runs, so that may be an earlier hold than the one approved).
"""

from __future__ import annotations

import logging

import polars as pl

from etl.config.contracts import FeedContract
from etl.errors import EtlError
from etl.models import HELD, LINE, STATE, Delta
from etl.runtime import Runtime
from etl.state.areas import from_ledger
from etl.state.ledger.base import SnapshotMoved
from etl.state.locks import feed_lock
from etl.state.manifest import Manifest
from etl.to_norce.masterdata import diff as differ
from etl.to_norce.masterdata.staging import (
    call_context,
    delivery_summary,
    key_text,
    snapshot_commit,
    stage_delta,
)
from etl.to_norce.records import removal_causes

log = logging.getLogger(__name__)


def approve(rt: Runtime, contracts: dict[str, FeedContract], hold_run: str) -> str:
    """Deactivate the rows held by `hold_run`'s guard; returns the approving run's id."""
    hold = rt.ledger.hold(hold_run)
    if hold is None:
        raise EtlError(f"run {hold_run} held no removals (see `run.py status`)")
    contract = contracts.get(hold["feed"])
    if contract is None:
        raise EtlError(f"feed {hold['feed']!r} of run {hold_run} has no contract any more")
    # A feed that reads another feed's file runs under that feed's lock: approving it must
    # take the same lock, or it could overwrite the snapshot of a run committing right now.
    # The lock is this machine's; across machines the ledger's commit is the guard (a
    # compare-and-set on the snapshot, and no run commits while a hold is `approving`).
    family = contract.source.from_feed or contract.name
    with feed_lock(rt.locks, family) as taken:
        if not taken:
            raise EtlError(f"feed {family} is running right now; try again when it has finished")
        # Checked again under the lock: a run that just finished may have superseded it.
        hold = rt.ledger.hold(hold_run)
        assert hold is not None
        if hold["state"] not in ("pending", "approving"):
            by = f" by run {hold['decided_by']}" if hold["decided_by"] else ""
            raise EtlError(
                f"the hold of run {hold_run} is {hold['state']}{by}; only a pending hold can be approved"
            )
        # The intent is recorded before anything is sent: if this process dies after the
        # deactivations went out, the feed's next run finishes the approval first.
        if not rt.ledger.claim_approval(hold_run, rt.stamp()):
            raise EtlError(f"the hold of run {hold_run} was decided meanwhile; see `run.py status`")
        return _release(rt, contract, hold_run)


def finish_interrupted_approvals(rt: Runtime, contract: FeedContract) -> list[str]:
    """Complete approvals a dead process left half done; call while holding the feed lock."""
    done = []
    for hold_run in rt.ledger.holds_in_state(contract.name, "approving"):
        log.warning("%s: finishing the interrupted approval of run %s", contract.name, hold_run)
        done.append(_release(rt, contract, hold_run))
    return done


def _release(rt: Runtime, contract: FeedContract, hold_run: str) -> str:
    feed, entity, key = contract.name, contract.entity, contract.key_fields
    current = rt.ledger.current_snapshot(feed)
    base = current[0] if current else None  # the commit checks it is still current
    old = rt.snapshots.read(base, entity.fields())
    held = old.filter(pl.col(STATE) == HELD).drop(STATE)
    empty = old.clear().drop(STATE)
    texts = held.select(*key, key_text(key).alias("key"))
    evidence = held_evidence(rt, feed, hold_run, texts["key"])
    marked = texts.join(evidence.filter(pl.col(LINE).is_not_null()), on="key").select(*key, LINE)
    delta = Delta(empty, empty, empty, held, empty, marked=marked)
    new_snapshot = differ.apply(old, empty, delta, key)
    calls = entity.build_calls(delta, call_context(rt, contract))
    run_id = rt.new_run_id(feed, "approve")
    rt.ledger.start_run(run_id, feed, "approve", rt.stamp(), None, None)
    try:
        results = rt.deliver(run_id, calls, f"{feed}/approve-{hold_run}") if calls else []
    except EtlError as exc:
        # The hold stays `approving`: the feed's next run sends the deactivations again.
        rt.ledger.fail_run(
            run_id, rt.stamp(), "failed", f"approval of {hold_run} not finished: {exc}"
        )
        raise
    staged = rt.archive.stage(feed, rt.day(), run_id)
    snapshot_path = stage_delta(
        rt,
        contract,
        run_id,
        staged,
        delta,
        new_snapshot,
        base,
        held_by=evidence.drop(LINE),
        calls=calls,
    )
    counts = delta.counts()
    rt.archive.write_manifest(
        staged,
        Manifest.new(
            run_id=run_id,
            feed=feed,
            outcome="committed",
            approves=hold_run,
            counts=counts,
            removals=removal_causes(delta),
            delivery=delivery_summary(rt, results),
            snapshot={"base": base, "new": snapshot_path},
        ),
    )
    commit = snapshot_commit(
        rt,
        contract,
        run_id,
        staged,
        results,
        counts,
        (snapshot_path, new_snapshot.height),
        base,
        message=f"approved the removals held by {hold_run}",
        released_hold=hold_run,
    )
    try:
        rt.ledger.commit(commit)
    except SnapshotMoved as exc:
        # Another machine committed first; the hold stays `approving`, so the feed's next
        # run finishes the approval against the snapshot it finds.
        rt.ledger.fail_run(run_id, rt.stamp(), "failed", str(exc))
        raise
    rt.archive.publish(staged)
    rt.publish(run_id)  # in file mode the deactivations show in outbox/norce/ only now
    rt.snapshots.sweep(feed, rt.ledger.snapshot_paths(feed))
    log.info("%s: approved run %s: %d rows deactivated", feed, hold_run, held.height)
    return run_id


def held_evidence(rt: Runtime, feed: str, hold_run: str, keys: pl.Series) -> pl.DataFrame:
    """Per held key (as trails write it): the LINE that marked it inactive (null: missing
    from the file) and the `run` whose trail says so, newest hold first; a key no kept
    trail names is left out."""
    found = [pl.DataFrame(schema={"key": pl.String, LINE: pl.Int64, "run": pl.String})]
    wanted = set(keys.to_list())
    # Holds a newer one superseded may still hold rows in a delta export: read back until
    # every key is found (a full export's keys are all in the newest trail).
    for run_id in [hold_run, *reversed(rt.ledger.holds_in_state(feed, "superseded"))]:
        trail = _trail(rt, run_id) if wanted else None
        if trail is None:
            continue
        held = trail.filter((pl.col("action") == "held") & pl.col("key").is_in(list(wanted)))
        rows = held.select("key", pl.col("line").alias(LINE), pl.lit(run_id).alias("run"))
        found.append(rows.unique("key", keep="first"))
        wanted -= set(rows["key"].to_list())
    return pl.concat(found, how="vertical")


def _trail(rt: Runtime, run_id: str) -> pl.DataFrame | None:
    """The run's delta.parquet, or None when the archive (disk or object storage) no
    longer keeps it."""
    run = rt.ledger.run(run_id)
    if run is None or not run.archive_dir:
        return None
    with rt.archive.opened(from_ledger(rt.settings.home, run.archive_dir), "delta.parquet") as path:
        return pl.read_parquet(path, glob=False) if path is not None else None
