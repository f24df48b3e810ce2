"""Master data, ERP -> Norce: the middle stage of a feed's run: diff, guard, deliver, commit.

etl.to_norce.feed takes the files; for each new one `ingest` reads and validates it, diffs
it against the last accepted snapshot, holds doubtful removals and delivers the delta. The
commit is one ledger transaction: until it happens the inbox file, the remote file and the
current snapshot are untouched, so a run that dies anywhere before it is re-run to the same
delta.
"""

from __future__ import annotations

import logging
import threading

import polars as pl

from etl.config.contracts import FeedContract
from etl.errors import NorceError, TransportError
from etl.models import HELD, IS_ACTIVE, LINE, STATE, Delta, Validated
from etl.read.deactivations import marked_inactive
from etl.read.references import Holdings, holdings, settle
from etl.read.same_rows import manifest_facts, merged_counts, merges
from etl.runtime import Runtime
from etl.state.ledger.base import SnapshotMoved
from etl.to_norce import records
from etl.to_norce.feed import (
    DerivedIngest,
    opened_feed,
    read_validated,
    refuse_if_suspect,
    take_files,
)
from etl.to_norce.intake import Fetched
from etl.to_norce.masterdata import diff as differ
from etl.to_norce.masterdata.approve import finish_interrupted_approvals
from etl.to_norce.masterdata.old_rows import Matched
from etl.to_norce.masterdata.staging import call_context, snapshot_commit, stage_delta
from etl.to_norce.replay import replay_note, take_replays

log = logging.getLogger(__name__)


def run_masterdata_feed(
    rt: Runtime, contract: FeedContract, stop: threading.Event | None, derived: DerivedIngest
) -> list[records.FileOutcome]:
    """One pass over a master-data feed: interrupted approvals finished, then every new file."""
    with opened_feed(rt, contract) as busy:
        if busy is not None:
            return [busy]
        try:
            for feed in (contract, *contract.derived):  # one lock for the file family
                finish_interrupted_approvals(rt, feed)
        except (NorceError, TransportError, SnapshotMoved) as exc:
            # SnapshotMoved: another machine finished it (or ran the feed) first.
            log.error(
                "%s: an interrupted approval could not be finished yet: %s", contract.name, exc
            )
            return [records.FileOutcome(contract.name, "-", "failed", message=str(exc))]
        # Files an operator asked to have taken again go first: they are older.
        outcomes = take_replays(rt, contract, ingest, derived)
        if any(o.outcome == "failed" for o in outcomes):
            return outcomes
        return [*outcomes, *take_files(rt, contract, stop, ingest, derived)]


def ingest(
    rt: Runtime, contract: FeedContract, fetched: Fetched, run_id: str
) -> records.FileOutcome:
    """Read, validate and diff one new file; deliver the delta, archive and commit it."""
    feed, entity, timer = contract.name, contract.entity, records.Timer()
    local, sha = fetched.local, fetched.sha
    log.info("%s: %s: %.1f MB fetched, reading", feed, local.name, local.stat().st_size / 1e6)
    validated = read_validated(rt, contract, local, run_id, fetched.parses)
    validated = settle(validated, contract, referenced_values(rt, contract))
    refuse_if_suspect(validated, contract, local.name)
    timer.lap("parse_validate")
    log.info(
        "%s: %s: %d rows read, %d rejected",
        feed,
        local.name,
        validated.rows_read,
        validated.rejected_rows,
    )
    current = rt.ledger.current_snapshot(feed)
    base = current[0] if current else None  # the commit checks it is still current
    delta, hold_reason, new_snapshot = diffed(rt, contract, validated, base)
    # A delta export keeps rows an earlier run held until a file names them (differ.apply):
    # their hold stays pending, or this run's own hold takes them over.
    waiting = new_snapshot.select((pl.col(STATE) == HELD).sum()).item()
    if hold_reason and waiting > delta.held.height:
        hold_reason += f"; with {waiting - delta.held.height} held by an earlier run"
    timer.lap("diff")
    log.info(
        "%s: %s: delta %s",
        feed,
        local.name,
        ", ".join(f"{k} {v}" for k, v in delta.counts().items()),
    )
    calls = entity.build_calls(delta, call_context(rt, contract))
    timer.lap("build")
    results = rt.deliver(run_id, calls, f"{feed}/{local.stem}-{sha[:12]}") if calls else []
    timer.lap("deliver")
    log.info("%s: %s: delivered %d calls; committing", feed, local.name, len(results))
    rt.pause_before_commit()
    staged = rt.archive.stage(feed, rt.day(), run_id)
    rt.archive.keep_input(local, staged)
    counts = {
        "rows": validated.rows_read,
        "accepted": validated.valid.height,
        "rejected": validated.rejected_rows,
        # Rows taken once as an identical earlier row: rows = accepted + rejected + merged.
        **merged_counts(contract.checks.same_key_rows, validated.merged),
        **delta.counts(),
        **records.inactive_counts(contract, validated, delta),
    }
    reports = records.write_rejections(validated, contract, fetched, staged, counts)
    snapshot_path = stage_delta(
        rt, contract, run_id, staged, delta, new_snapshot, base, hold_reason, calls=calls
    )
    timer.lap("stage")
    manifest = records.manifest(
        rt,
        contract,
        fetched,
        run_id,
        counts,
        results,
        timer,
        (base, snapshot_path),
        hold_reason,
        reports,
        records.removal_causes(delta),
    )
    if validated.parts:  # delta.parquet numbers the lines of a zip's files one after another
        parts = [{"name": p.name, "lines_after": p.offset} for p in validated.parts]
        manifest = manifest.updated(input=fetched.describe() | {"parts": parts})
    if merges(contract.checks.same_key_rows):
        manifest = manifest.updated(**manifest_facts(validated.merged))
    if fetched.candidate.replay_of:
        manifest = manifest.updated(replay_of=fetched.candidate.replay_of)
    note = replay_note(rt, run_id, hold_reason)  # a replay's run says which run, and why
    rt.archive.write_manifest(staged, manifest)
    rt.ledger.commit(
        snapshot_commit(
            rt,
            contract,
            run_id,
            staged,
            results,
            counts,
            (snapshot_path, new_snapshot.height),
            base,
            message=note,
            file=fetched.ledger_file(),
            hold=(waiting, hold_reason) if hold_reason else None,
            # A new snapshot that holds nothing ends older holds; one that still holds rows
            # without a hold of its own (a delta export) leaves the earlier hold pending.
            ends_holds=not waiting,
        )
    )
    rt.publish(run_id)
    records.after_commit(rt, contract, fetched, staged, "committed")
    rt.snapshots.sweep(feed, rt.ledger.snapshot_paths(feed))
    log.info(
        "%s: %s: committed run %s: %d rows, %d rejected, %d adds, %d changes, %d removals, %d held",
        feed,
        local.name,
        run_id,
        counts["rows"],
        counts["rejected"],
        counts["adds"],
        counts["changes"],
        counts["removals"],
        counts["held"],
    )
    if hold_reason:
        log.warning(
            "%s: removals held, approve with `run.py approve %s`: %s", feed, run_id, hold_reason
        )
    return records.FileOutcome(feed, local.name, "committed", run_id, counts, note or "")


def diffed(
    rt: Runtime, contract: FeedContract, validated: Validated, base: str | None
) -> tuple[Delta, str | None, pl.DataFrame]:
    """The delta against the snapshot at `base`, the hold's reason, and the next snapshot.

    The old snapshot is never read whole: the diff reads its keys and states, its fields a
    part of its rows at a time and only the rows it needs whole (at ten million rows,
    gigabytes less).
    """
    old = rt.snapshots.scan(base, contract.entity.fields())
    delta, hold_reason, matched = planned(old, validated, contract)
    full, key = contract.feed.export == "full", contract.key_fields
    # The diff's match of the file's keys serves the next snapshot too: not made twice.
    new_snapshot = differ.apply(old, validated.valid.drop(LINE), delta, key, full, matched)
    return delta, hold_reason, new_snapshot


def referenced_values(rt: Runtime, contract: FeedContract) -> Holdings:
    """The current snapshots a file's rows are checked against: the feed's own keys (when
    it maps is_active: they tell a removal from an add) and each `[references]` feed's."""

    def snapshot_of(feed: str, fields: dict[str, pl.DataType]) -> pl.DataFrame:
        base = rt.ledger.current_snapshot(feed)
        return rt.snapshots.read(base[0] if base else None, fields)

    key = {k: contract.entity.fields()[k] for k in contract.key_fields}
    own = snapshot_of(contract.name, key) if IS_ACTIVE in contract.carried_fields() else None
    return holdings(contract, own, lambda feed, other: snapshot_of(feed, {other: pl.String()}))


def plan(
    old: pl.DataFrame | pl.LazyFrame, validated: Validated, contract: FeedContract
) -> tuple[Delta, str | None]:
    """The delta against the snapshot, with removals held when the guard says so."""
    delta, hold_reason, _ = planned(old, validated, contract)
    return delta, hold_reason


def planned(
    old: pl.DataFrame | pl.LazyFrame, validated: Validated, contract: FeedContract
) -> tuple[Delta, str | None, Matched]:
    """`plan`, and the match of the file's keys the diff made (for differ.apply)."""
    key = contract.key_fields
    full = contract.feed.export == "full"
    delta, matched = differ.compared(old, validated.valid, validated.rejected_keys, key, full)
    live = matched.live  # counted from the states the diff read: no second scan
    g = contract.guard
    # Unless the contract takes the risk (see docs/feed-contracts.md, [guard]).
    unkeyed = validated.unkeyed_lines if g.hold_on_unreadable_key else ()
    valid = validated.valid.height
    # A full export whose every row is marked inactive is held like an empty one.
    rows = validated.valid
    # Counted, not filtered: a filter would copy every row of the file to count them.
    active = rows.select((~marked_inactive(rows)).sum()).item() if full else None
    limits = (g.max_removals, g.max_removal_ratio)
    delta, reason = differ.guard(delta, live, valid, *limits, unkeyed, active_rows=active)
    return delta, reason, matched
