"""Steps both master-data flows take between delivery and commit: the same in ingest and approve."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from etl.contracts import FeedContract
from etl.entities import CallContext
from etl.flows.runtime import Runtime
from etl.ledger import Commit
from etl.models import Delta
from etl.norce.calls import CallResult
from etl.trace import delta_rows


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
    hold_reason: str | None = None,
) -> str:
    """Write the run's row trail into its archive folder and its candidate snapshot; returns the snapshot path."""
    trail = delta_rows(delta, contract.key_fields, hold_reason)
    trail.write_parquet(staged / "delta.parquet")
    return rt.snapshots.write(contract.name, run_id, snapshot)


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
    **extra: Any,
) -> Commit:
    """The ledger record of a run that delivered and advances the feed's snapshot."""
    return Commit(
        run_id=run_id,
        feed=contract.name,
        outcome="committed",
        finished_at=rt.stamp(),
        counts=counts,
        job_ids=job_ids(results),
        archive_dir=str(rt.archive.final(staged)),
        snapshot=snapshot,
        **extra,
    )
