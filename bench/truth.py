"""Trustworthy deltas at full size: one flat export read by products, prices and stock.

Generates a 200,000-row export and its next version with known truth (truth_exports.py),
runs the real pipeline in file mode in fresh subprocesses (first version: makes the
snapshots; second version: measured), checks every feed's delta.parquet against the truth
(adds, changes, held removals, rejected keys), approves the holds and checks that exactly
the removed keys were deactivated. Per dialect, paired rounds alternate our run with a bare
`polars.read_csv` of the same file; medians are printed as ratios, with peak RSS.

    python bench/truth.py --rows 200000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.truth_exports import DIALECTS, FEEDS, Exports, contracts, generate, write  # noqa: E402


def _home(work: Path, dialect: str) -> Path:
    if work.exists():
        shutil.rmtree(work)
    (work / "schemas").mkdir(parents=True)
    for name, text in contracts(DIALECTS[dialect]).items():
        (work / "schemas" / f"{name}.toml").write_text(text, encoding="utf-8")
    (work / "drop" / "flat").mkdir(parents=True)
    (work / "etl.toml").write_text(
        f'[stores.erp]\nkind = "local"\nroot = "{work / "drop"}"\n[norce]\nchunk_size = 5000\n',
        encoding="utf-8",
    )
    return work


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _worker(argv: list[str]) -> None:
    """In a fresh process: one `once` of the products family, or a bare read; one JSON line."""
    kind, *rest = argv
    started = time.perf_counter()
    result: dict[str, object] = {}
    if kind == "read":
        path, dialect = rest
        d = DIALECTS[dialect]
        pl.read_csv(path, separator=d.delimiter, infer_schema=False, encoding="utf8-lossy")
    else:
        from etl.config.contract_files import load_contracts
        from etl.config.settings import load_settings
        from etl.runtime import Runtime
        from etl.to_norce.run import run_feed

        settings = load_settings(Path(rest[0]) / "etl.toml", {})
        rt = Runtime.open(settings)
        outcomes = run_feed(rt, load_contracts(settings)["products"])
        rt.close()
        result["runs"] = {o.feed: [o.outcome, o.run_id] for o in outcomes}
    result["seconds"] = time.perf_counter() - started
    result["peak_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def _spawn(*args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _decisions(home: Path, feed: str, run_id: str) -> dict[str, set[str]]:
    [path] = list((home / "archive" / feed).glob(f"*/{run_id}/delta.parquet"))
    trail = pl.read_parquet(path).with_columns(pl.col("key").str.split(" / ").list.first())
    return {
        a: set(trail.filter(pl.col("action") == a)["key"])
        for a in ("add", "change", "remove", "held")
    }


def _check(home: Path, runs: dict[str, list[str]], exports: Exports) -> list[str]:
    """Every feed against the truth, then approve and check the deactivations; problems found."""
    from etl.config.contract_files import load_contracts
    from etl.config.settings import load_settings
    from etl.runtime import Runtime
    from etl.to_norce.masterdata.approve import approve

    problems = []
    for feed in FEEDS:
        got, truth = _decisions(home, feed, runs[feed][1]), exports.truth[feed]
        expected = {
            "add": truth.adds,
            "change": truth.changes,
            "held": truth.removed,
            "remove": set(),
        }
        problems += [
            f"{feed}: {a} differs from truth" for a, keys in expected.items() if got[a] != keys
        ]
        if truth.rejected & (got["change"] | got["held"] | got["remove"]):
            problems.append(f"{feed}: a rejected key was sent")
    settings = load_settings(home / "etl.toml", {})
    rt = Runtime.open(settings)
    try:
        for feed in FEEDS:
            run = approve(rt, load_contracts(settings), runs[feed][1])
            if _decisions(home, feed, run)["remove"] != exports.truth[feed].removed:
                problems.append(f"{feed}: approval did not deactivate exactly the removed keys")
    finally:
        rt.close()
    return problems


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dialects", default="utf8,cp1252")
    args = parser.parse_args()
    exports = generate(args.rows)
    data = REPO / "bench" / "data" / f"truth-{args.rows}"
    for dialect in args.dialects.split(","):
        data.mkdir(parents=True, exist_ok=True)
        first, second = data / f"flat_1.{dialect}.csv", data / f"flat_2.{dialect}.csv"
        write(first, exports.first, DIALECTS[dialect])
        write(second, exports.second, DIALECTS[dialect])
        ours, bare, peaks, problems = [], [], [], []
        for _ in range(args.repeat):
            home = _home(data / f"home-{dialect}", dialect)
            shutil.copy(first, home / "drop" / "flat" / "flat_1.csv")
            _spawn("once", str(home))
            shutil.copy(second, home / "drop" / "flat" / "flat_2.csv")
            read = _spawn("read", str(second), dialect)
            run = _spawn("once", str(home))
            bare.append(float(read["seconds"]))  # type: ignore[arg-type]
            ours.append(float(run["seconds"]))  # type: ignore[arg-type]
            peaks.append(float(run["peak_mb"]))  # type: ignore[arg-type]
            problems = _check(home, run["runs"], exports)  # type: ignore[arg-type]
        size = second.stat().st_size / 1e6
        ratios = [o / b for o, b in zip(ours, bare, strict=True)]
        print(f"{dialect}: {args.rows} rows, {size:.1f} MB, 3 feeds from one file")
        print(f"  bare polars.read_csv  {statistics.median(bare):6.2f} s")
        print(
            f"  whole once (3 feeds)  {statistics.median(ours):6.2f} s  "
            f"{statistics.median(ratios):5.2f}x  peak {statistics.median(peaks):.0f} MB"
        )
        print(f"  truth: {'exact' if not problems else '; '.join(problems)}")


if __name__ == "__main__":
    main()
