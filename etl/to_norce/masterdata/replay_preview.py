"""`run.py replay RUN --dry-run` for master data: the delta the replay would send, nothing kept.

The archived file is read, checked and diffed exactly as its replay would (today's contract,
the feed's current snapshot, the removal guard), in a scratch folder of its own: no run row,
no snapshot, no outbox file, no archive folder.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from etl.config.contracts import FeedContract
from etl.errors import FileRejected
from etl.models import CHANGED, Validated
from etl.read.references import settle
from etl.runtime import Runtime
from etl.to_norce.feed import parse_and_validate, refuse_if_suspect
from etl.to_norce.masterdata.flow import plan, referenced_values
from etl.to_norce.replay import Preview

# Rows shown per part of the delta; the counts say how many there are in all.
SHOWN = 5


def preview_masterdata(rt: Runtime, contract: FeedContract, copy: Path) -> Preview:
    """What replaying `copy` would send now: counts, and the first rows of each part."""
    try:
        validated = _read(rt, contract, copy)
    except FileRejected as exc:
        return Preview(f"the file would be rejected whole: {exc}", [])
    base = rt.ledger.current_snapshot(contract.name)
    old = rt.snapshots.read(base[0] if base else None, contract.entity.fields())
    delta, hold_reason = plan(old, validated, contract)
    counts = {"rows": validated.rows_read, "rejected": validated.rejected_rows, **delta.counts()}
    headline = ", ".join(f"{k} {v}" for k, v in counts.items())
    if hold_reason:
        headline += f"; removals would be held: {hold_reason}"
    if delta.is_empty() and not delta.held.height:
        headline += "; nothing differs from the current snapshot: nothing would be sent"
    keys = contract.key_fields
    # A feed about people shows which rows and fields, never their values.
    values = contract.entity.personal is None
    parts = (
        ("adds", _keys(delta.adds, keys)),
        ("changes", _changes(delta.changes, keys, values)),
        ("reactivations", _keys(delta.reactivations, keys)),
        ("removals", _keys(delta.removals, keys)),
        ("held removals", _keys(delta.held, keys)),
    )
    sections = [(f"{title} (first {SHOWN})", rows) for title, rows in parts if rows]
    return Preview(headline, sections)


def _read(rt: Runtime, contract: FeedContract, copy: Path) -> Validated:
    """The file read and checked as a run would, with a scratch folder that goes away."""
    with tempfile.TemporaryDirectory(prefix="replay-dry-run-") as scratch:
        validated = parse_and_validate(copy, contract, Path(scratch))
    validated = settle(validated, contract, referenced_values(rt, contract))
    refuse_if_suspect(validated, contract, copy.name)
    return validated


def _keys(frame: pl.DataFrame, keys: Sequence[str]) -> list[str]:
    """The first rows' keys, as `field=value` pairs."""
    return [_key(row, keys) for row in frame.head(SHOWN).iter_rows(named=True)]


def _changes(frame: pl.DataFrame, keys: Sequence[str], values: bool) -> list[str]:
    """The first changed rows: key, then each changed field (with its new value if shown)."""
    lines = []
    for row in frame.head(SHOWN).iter_rows(named=True):
        fields = row.get(CHANGED) or []
        said = [f"{f}={row.get(f)}" if values else f for f in fields]
        lines.append(f"{_key(row, keys)}: {', '.join(said)}")
    return lines


def _key(row: dict[str, object], keys: Sequence[str]) -> str:
    return " ".join(f"{k}={row.get(k)}" for k in keys)
