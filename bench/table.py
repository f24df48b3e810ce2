"""Issue 18's table in one run: every row as a ratio against its baseline measured beside it.

Runs the rows of the issue's table (or those chosen with --rows-of), each with its baseline in
the same paired rounds, alternating in fresh subprocesses as the scripts that measure them alone
do (combined.py: rows 1-3, big.py: 4-5, xml_stock.py: 6, orders.py: 7, receiver.py: 8). Prints
one Markdown table: each row's baseline and ours (medians), the median of the per-round ratios
and the rounds' own ratios, the peak RSS where the row has a peak target, the target and whether
it is met. --json writes the same table for a note to quote.

    python bench/table.py                               # the issue's sizes, 3 rounds
    python bench/table.py --scale 0.01 --repeat 1       # a smoke run: under a minute
    python bench/table.py --rows-of 1,2,3 --repeat 5 --json /tmp/rows.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.table_rows import (  # noqa: E402
    STATED,
    Row,
    as_json,
    big_rows,
    combined_rows,
    export_row,
    median,
    receiver_row,
    xml_row,
)

ROWS = tuple(range(1, 9))
# The least of each size that still makes every figure: generators' percentages, quantiles.
FLOORS = {"rows": 1_000, "big_rows": 10_000, "xml_records": 1_000, "orders": 10, "requests": 100}
LEGEND = (
    "ratio: our time over the baseline's (row 3: our peak over the baseline's; row 8: our "
    "orders/s over the baseline's, higher is better); rounds: each paired round's ratio"
)


@dataclass(frozen=True)
class Sizes:
    """What each group of rows runs at."""

    rows: int
    big_rows: int
    xml_records: int
    orders: int
    requests: int
    senders: int


def sizes(args: argparse.Namespace) -> Sizes:
    """The issue's sizes times --scale (at least the floors); a size flag given wins."""
    defaults = {**STATED, "requests": 2_000}
    chosen = {}
    for name, full in defaults.items():
        given = getattr(args, name)
        scaled = max(FLOORS.get(name, 1), round(full * args.scale)) if name != "senders" else full
        chosen[name] = given if given is not None else scaled
    return Sizes(**chosen)


def groups(
    s: Sizes, dialects: list[str], repeat: int
) -> list[tuple[set[int], Callable[[Path], list[Row]]]]:
    """Each group of rows measured together, and how to measure it under a data folder."""
    found: list[tuple[set[int], Callable[[Path], list[Row]]]] = [
        ({1, 2, 3}, partial(combined_rows, rows=s.rows, dialect=d, repeat=repeat)) for d in dialects
    ]
    found.append(({4, 5}, lambda data: big_rows(data, s.big_rows, repeat)))
    found.append(({6}, lambda data: xml_row(data, s.xml_records, repeat)))
    found.append(({7}, lambda data: export_row(data, s.orders, repeat)))
    found.append(({8}, lambda data: receiver_row(data, s.requests, s.senders, repeat)))
    return found


def _cell(value: float, unit: str) -> str:
    return f"{value:,.2f} s" if unit == "s" else f"{value:,.0f} {unit}"


def _verdict(row: Row) -> str:
    if row.problems:
        return "NOT met: check failed"
    verdict = "met" if row.met else "NOT met"
    return verdict if row.stated_size else f"{verdict}*"


def render(rows: list[Row], failed: dict[int, str], repeat: int) -> str:
    """The table as Markdown, its legend and what went wrong."""
    lines = [
        f"Issue 18, medians of {repeat} paired round(s), fresh subprocesses. {LEGEND}.",
        "",
        "| row | what | size | baseline | ours | ratio | rounds | peak | target | verdict | note |",
        "|---|---|---|---|---|---:|---|---:|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: r.number):
        peak = f"{median(row.peaks):,.0f} MiB" if row.peaks else ""
        rounds = ", ".join(f"{r:.2f}x" for r in row.ratios)
        lines.append(
            f"| {row.number} | {row.what} | {row.size} | {row.baseline} "
            f"{_cell(median(row.base), row.unit)} | {_cell(median(row.ours), row.unit)} | "
            f"{median(row.ratios):.2f}x | {rounds} | {peak} | {row.target} | {_verdict(row)} | "
            f"{row.note} |"
        )
    lines += [f"| {n} | failed: {why} |  |  |  |  |  |  |  |  |  |" for n, why in failed.items()]
    if any(not r.stated_size for r in rows):
        lines += ["", "* run at another size than the issue states: judge the targets at full size"]
    lines += [f"row {r.number}: {p}" for r in rows for p in r.problems]
    return "\n".join(lines)


def _why(exc: BaseException) -> str:
    """One line that says why a group failed (a worker's last line of stderr if it has one)."""
    stderr = getattr(exc, "stderr", None)
    tail = stderr.strip().splitlines()[-1] if isinstance(stderr, str) and stderr.strip() else ""
    return f"{type(exc).__name__}: {tail or exc}".replace("|", "/")[:300]


def _write_json(
    path: Path, rows: list[Row], failed: dict[int, str], meta: dict[str, object]
) -> None:
    document = {**meta, "rows": [as_json(r) for r in sorted(rows, key=lambda r: r.number)]}
    document["failed"] = {str(n): why for n, why in failed.items()}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows-of", default="1,2,3,4,5,6,7,8", help="table rows to run")
    parser.add_argument("--repeat", type=int, default=3, help="paired rounds per row")
    parser.add_argument("--scale", type=float, default=1.0, help="times the issue's sizes")
    parser.add_argument("--rows", type=int, help="rows 1-3: SKUs in the export (1M)")
    parser.add_argument("--big-rows", type=int, help="rows 4-5: rows of the export (10M)")
    parser.add_argument("--xml-records", type=int, help="row 6: XML records (1M)")
    parser.add_argument("--orders", type=int, help="row 7: orders exported (10,000)")
    parser.add_argument("--requests", type=int, help="row 8: orders posted per round (2,000)")
    parser.add_argument("--senders", type=int, help="row 8: concurrent senders (20)")
    parser.add_argument("--dialects", default="utf8", help="rows 1-3: utf8, cp1252 or both")
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "data")
    parser.add_argument("--json", type=Path, help="write the table here as JSON as well")
    return parser


def main() -> None:
    """Measure the chosen rows, print the table, write the JSON; exit 1 if a check failed."""
    parser = _parser()
    args = parser.parse_args()
    chosen = {int(n) for n in args.rows_of.split(",")}
    if not chosen <= set(ROWS) or args.repeat < 1:
        parser.error("--rows-of: numbers 1 to 8; --repeat: at least 1")
    s, started = sizes(args), time.perf_counter()
    meta: dict[str, object] = {"argv": sys.argv[1:], "repeat": args.repeat, "sizes": s.__dict__}
    rows: list[Row] = []
    failed: dict[int, str] = {}
    for numbers, measure in groups(s, args.dialects.split(","), args.repeat):
        if not numbers & chosen:
            continue
        lap = time.perf_counter()
        try:
            rows += [r for r in measure(args.data) if r.number in chosen]
        except (Exception, SystemExit) as exc:  # one group's failure must not lose the others
            failed.update({n: _why(exc) for n in sorted(numbers & chosen)})
        lap = time.perf_counter() - lap
        print(f"rows {sorted(numbers & chosen)}: {lap:.0f} s", file=sys.stderr, flush=True)
        meta["seconds"] = round(time.perf_counter() - started, 1)
        if args.json:  # after each group: a long run that breaks late keeps what it measured
            _write_json(args.json, rows, failed, meta)
    print(render(rows, failed, args.repeat), flush=True)
    sys.exit(1 if failed or any(r.problems for r in rows) else 0)


if __name__ == "__main__":
    main()
