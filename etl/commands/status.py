"""Plain text for `run.py status`: the problems first, then tables of runs, holds, jobs, orders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from etl.console.problems import Problem
from etl.state.ledger.base import RunRow
from etl.state.ledger.job_outcomes import JobOutcome
from etl.to_erp.orders.book import OrderRow
from etl.transport.names import one_line, printable

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


# How each kind of problem is named at the start of its line; a missing file says `missing`.
_LABELS = {
    "failed": "failed",
    "rejected_file": "rejected",
    "held_removals": "removals held",
    "rejected_rows": "rejected rows",
    "order_held": "order held",
    "order_refused": "order refused",
    "order_changed": "order changed",
    "document_refused": "document refused",
    "document_conflict": "document conflict",
    "document_waiting": "document waiting",
    "export_stuck": "export stuck",
    "quarantined": "quarantined",
    "missing_file": "missing",
    "not_running": "not running",
}


def headline(problems: Sequence[Problem]) -> str:
    """The first line of `status`: whether anything needs a person."""
    n = len(problems)
    if not n:
        return "nothing needs a person"
    return f"{n} problem{'s' * (n != 1)} need{'s' * (n == 1)} a person"


def render_problems(problems: Sequence[Problem]) -> str:
    """The headline, then each problem: what, to what, what the product did, what helps."""
    lines = [headline(problems)]
    for p in problems:
        label = _LABELS.get(p.kind, p.kind)
        lines.append(f"- {label}: {one_line(p.subject)} (since {p.since}): {one_line(p.what)}")
        lines.append(f"    done: {one_line(p.did)}")
        if p.command:
            lines.append(f"    helps: {one_line(p.command)}")
    return "\n".join(lines)


def render_jobs(jobs: Sequence[JobOutcome]) -> str:
    """How each job last ended, with its message when it did not end ok."""
    rows = [("job", "last ended", "outcome", "failing since", "last ok", "message")]
    rows += [
        (
            printable(j.job),
            j.at,
            j.outcome,
            j.failing_since or "",
            j.last_ok or "",
            one_line(j.message)[:90],
        )
        for j in jobs
    ]
    return "Jobs, as each last ended:\n" + table(rows)


def render_runs(runs: Sequence[RunRow]) -> str:
    """Runs as an aligned table, newest first."""
    if not runs:
        return "no runs yet"
    rows = [_COLUMNS] + [_run_cells(r) for r in runs]
    return table(rows)


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
    return "Removals waiting for approval:\n" + table(rows)


def _run_cells(r: RunRow) -> tuple[str, ...]:
    c = r.counts
    # Escaped: a newline in a remote name or a message must not break the table.
    name = printable((r.remote_path or r.kind).rsplit("/", 1)[-1])
    # A committed run's note is noise, but a replay's names the run it replays.
    noted = r.message and (r.outcome != "committed" or r.kind == "replay")
    outcome = r.outcome + (f": {r.message}" if noted else "")
    # A failed or rejected run is what a person acts on: its reason comes after the store's
    # or the file's prefix, so it keeps far more than the other outcomes' short note.
    limit = 500 if r.outcome in ("failed", "rejected") else 90
    values = [c.get(k) for k in ("rows", "rejected", "adds", "changes", "removals", "held")]
    return (
        r.started_at,
        r.feed,
        r.run_id,
        name,
        *("" if v is None else str(v) for v in values),
        one_line(outcome)[:limit],
    )


def table(rows: Sequence[Sequence[str]]) -> str:
    """Rows of cells as aligned columns; the first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def render_orders(orders: Sequence[OrderRow], exported_to: dict[str, list[str]]) -> str:
    """Orders with their state, why they wait, and where they went."""
    if not orders:
        return "no orders yet"
    rows = [("received", "order", "via", "state", "exported to", "why held")]
    rows += [
        (
            o.received_at,
            # Escaped: a reference or a reason from Norce may hold an escape sequence.
            printable(o.ref),
            o.source,
            o.state + (f" (resend {o.generation - 1})" if o.generation > 1 else ""),
            ", ".join(printable(layout) for layout in exported_to.get(o.ref, [])),
            one_line(o.reason or ""),
        )
        for o in orders
    ]
    return table(rows)


def render_order_list(
    orders: Sequence[OrderRow],
    exported_to: dict[str, list[str]],
    matching: int,
    everything: int,
    state: str | None,
) -> str:
    """`run.py orders`: newest first; says when the list is cut and when a state has none."""
    if not orders:
        if state is None or not everything:
            return "no orders yet"
        return f"no {state} orders ({everything:,} order{'s' * (everything != 1)} in all)"
    text = render_orders(orders, exported_to)
    if matching > len(orders):
        text += f"\nshowing {len(orders):,} of {matching:,}, newest first; use --limit"
    return text


def render_order_counts(counts: dict[str, int]) -> str:
    """One line: orders per state."""
    if not counts:
        return "Orders: none yet"
    return "Orders: " + ", ".join(f"{state} {n}" for state, n in sorted(counts.items()))
