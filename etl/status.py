"""Plain-text tables for `run.py status`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from etl.ledger import RunRow

_COLUMNS = (
    "when",
    "feed",
    "run",
    "file",
    "rows",
    "rejected",
    "adds",
    "changes",
    "removals",
    "held",
    "outcome",
)


def render_runs(runs: Sequence[RunRow]) -> str:
    """Runs as an aligned table, newest first."""
    if not runs:
        return "no runs yet"
    rows = [_COLUMNS] + [_run_cells(r) for r in runs]
    return _table(rows)


def render_holds(holds: Sequence[dict[str, Any]]) -> str:
    """Pending holds with the command that releases each."""
    rows = [("held since", "feed", "run", "removals", "why", "release with")]
    rows += [
        (
            h["created_at"],
            h["feed"],
            h["run_id"],
            str(h["removals"]),
            h["reason"],
            f"run.py approve {h['run_id']}",
        )
        for h in holds
    ]
    return "Removals waiting for approval:\n" + _table(rows)


def _run_cells(r: RunRow) -> tuple[str, ...]:
    c = r.counts
    name = (r.remote_path or r.kind).rsplit("/", 1)[-1]
    outcome = r.outcome + (f": {r.message}" if r.message and r.outcome != "committed" else "")
    values = [c.get(k) for k in ("rows", "rejected", "adds", "changes", "removals", "held")]
    return (
        r.started_at,
        r.feed,
        r.run_id,
        name,
        *("" if v is None else str(v) for v in values),
        outcome[:90],
    )


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
