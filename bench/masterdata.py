"""Benchmark of the master-data flow against plain polars on the same data.

Generates, for each feed, an export of N rows and its previous version (1% of rows changed,
0.5% added, 0.5% removed, 0.1% invalid; see erp_exports.py), runs the real pipeline in file
mode on the previous version (which makes the snapshot), then measures the run on the new
version. Every measured run is a fresh subprocess, so peak RSS is that run's own. Baselines in
fresh subprocesses too, alternated with our run in each round: a bare read of the same file
(polars.read_csv, lxml iterparse, polars.read_excel with calamine), and for CSV and XLSX a
hand-written polars pipeline that reads and checks both files and diffs them. Figures are
medians over --repeat paired rounds, printed as ratios to the bare read, with the DESIGN.md
performance target of the feed beside them.

    python bench/masterdata.py --rows 1000000 --repeat 3
    python bench/masterdata.py --feeds xlsx --xlsx-rows 100000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# As a package module, so table.py (and a test) can import this module by its full name.
from bench.erp_exports import FEEDS, XLSX_HEADER_ROW, XLSX_SHEET, Feed, generate  # noqa: E402

SHIPPED = REPO / "etl" / "embedded" / "schemas"  # the embedded default's contracts

BARE_READ = {
    "csv": "bare polars.read_csv",
    "xml": "bare lxml iterparse",
    "xlsx": "bare polars.read_excel",
}


def _home(work: Path) -> Path:
    """A fresh home with the shipped contracts; files are dropped under work/drop."""
    if work.exists():
        shutil.rmtree(work)
    (work / "schemas").mkdir(parents=True)
    for contract in SHIPPED.glob("*.toml"):
        text = contract.read_text(encoding="utf-8").replace(
            "stable_seconds = 2", "stable_seconds = 0"
        )
        (work / "schemas" / contract.name).write_text(text, encoding="utf-8")
    (work / "etl.toml").write_text(
        f'[stores.erp]\nkind = "local"\nroot = "{work / "drop"}"\n[norce]\nchunk_size = 5000\n',
        encoding="utf-8",
    )
    return work


def _place(data: Path, work: Path, feed: Feed, version: str) -> None:
    source = feed.path(data, version)
    target = work / "drop" / source.parent.name / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)
    if feed.done_marker:
        target.with_name(target.name + ".done").touch()


def _bare_read(path: Path, feed: Feed) -> None:
    """The least a reader must do: every cell of the file as text (XML: every record seen)."""
    if feed.kind == "xml":
        from lxml import etree

        for _, el in etree.iterparse(str(path), events=("end",), tag="Item"):
            el.clear()
    else:
        _read_text(path, feed)


def _read_text(path: Path, feed: Feed) -> pl.DataFrame:
    if feed.kind == "xlsx":  # as our reader does: calamine, every cell as a string
        return pl.read_excel(
            path,
            engine="calamine",
            sheet_name=XLSX_SHEET,
            read_options={"header_row": XLSX_HEADER_ROW - 1},
            infer_schema_length=0,
        )
    return pl.read_csv(path, separator=feed.separator, infer_schema=False, encoding="utf8-lossy")


def _worker(argv: list[str]) -> None:
    """Run in a fresh process; print one JSON line with wall time and peak RSS."""
    kind, *rest = argv
    started = time.perf_counter()
    result: dict[str, object] = {}
    if kind == "read":
        path, name = rest
        _bare_read(Path(path), FEEDS[name])
    elif kind == "polars_pipeline":
        old, new, name = rest
        result["rows"] = _plain_polars_pipeline(Path(old), Path(new), FEEDS[name])
    elif kind == "reader":
        home, path, name = rest
        started, result["rows"] = _our_reader(Path(home), Path(path), FEEDS[name].contract)
    else:
        home, name = rest
        from etl.config.contract_files import load_contracts
        from etl.config.settings import load_settings
        from etl.runtime import Runtime
        from etl.to_norce.run import run_feed

        settings = load_settings(Path(home) / "etl.toml", {})
        rt = Runtime.open(settings)
        [outcome] = run_feed(rt, load_contracts(settings)[FEEDS[name].contract])
        rt.close()
        result = {"outcome": outcome.outcome, "counts": outcome.counts}
    result["seconds"] = time.perf_counter() - started
    result["peak_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def _our_reader(home: Path, path: Path, contract: str) -> tuple[float, int]:
    """Our reader alone (etl.read.formats.read_file), the parse half of parse_validate: when it
    started (after the imports and the contract, as parse_validate is timed) and its rows."""
    from etl.config.contract_files import load_contracts
    from etl.config.settings import load_settings
    from etl.read.formats import read_file

    spec = load_contracts(load_settings(home / "etl.toml", {}))[contract]
    scratch = home / "scratch"
    scratch.mkdir(exist_ok=True)
    started = time.perf_counter()
    return started, read_file(path, spec, scratch).frame.height


def _peak_rss_mb() -> float:
    """This process's peak RSS since exec (VmHWM); ru_maxrss would count the forking parent."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _plain_polars_pipeline(old: Path, new: Path, feed: Feed) -> int:
    """What a careful hand-written script does: read both, check, diff on the key."""

    def load(path: Path) -> pl.DataFrame:
        frame = _read_text(path, feed)
        key = frame.columns[0]
        return frame.filter(pl.col(key).str.contains(r"^[A-Za-z0-9]")).unique(
            subset=[key], keep="first"
        )

    a, b = load(old), load(new)
    key = a.columns[0]
    joined = b.join(a, on=key, how="full", suffix="_old", coalesce=True)
    diff = pl.any_horizontal(
        [pl.col(c).ne_missing(pl.col(f"{c}_old")) for c in a.columns if c != key]
    )
    return joined.filter(diff).height


def _spawn(*args: str) -> dict[str, Any]:
    """Run one worker in a fresh process; its JSON line (seconds, peak_mb, ...)."""
    out = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


Timing = tuple[float, float]  # median seconds, median peak RSS in MB


@dataclass(frozen=True)
class Figures:
    """One feed's medians over the paired rounds."""

    feed: str
    rows: int
    file_mb: float
    counts: dict[str, int]
    read: Timing
    run: Timing
    plain: Timing | None
    reader: Timing | None
    stages: dict[str, Timing]
    # Per round: the bare read's and the run's results, and the run's stages (seconds, peak).
    rounds: list[dict[str, Any]] = field(default_factory=list)


def _median(results: list[dict[str, Any]]) -> Timing | None:
    if not results:
        return None
    return (
        statistics.median(float(x["seconds"]) for x in results),
        statistics.median(float(x["peak_mb"]) for x in results),
    )


def measure(data: Path, name: str, rows: int, repeat: int) -> Figures:
    """Median figures for one feed over `repeat` paired rounds."""
    from etl.state.manifest import read_manifest  # after REPO is on sys.path

    feed = FEEDS[name]
    new_file, old_file = feed.path(data, "2"), feed.path(data, "1")
    runs, reads, plains, readers, stages = [], [], [], [], []
    for _ in range(repeat):
        work = _home(data.parent / "work" / name)
        _place(data, work, feed, "1")
        first = _spawn("run", str(work), name)
        _place(data, work, feed, "2")
        reads.append(_spawn("read", str(new_file), name))
        run = _spawn("run", str(work), name)
        runs.append(run)
        if feed.kind != "xml":
            plains.append(_spawn("polars_pipeline", str(old_file), str(new_file), name))
        if feed.kind == "xlsx":
            readers.append(_spawn("reader", str(work), str(new_file), name))
        manifest = sorted((work / "archive" / feed.contract).glob("*/*/manifest.json"))[-1]
        document = read_manifest(manifest)
        peaks, laps = document.peak_rss_mb or {}, document.timings_seconds or {}
        # The run resets the peak counter at every stage: its true peak is the largest of them.
        run["peak_mb"] = max(float(run["peak_mb"]), *peaks.values())
        stages.append({k: {"seconds": v, "peak_mb": peaks.get(k, 0.0)} for k, v in laps.items()})
        assert first["outcome"] == "committed" and run["outcome"] == "committed", (first, run)
    timings = {k: _median([s[k] for s in stages]) for k in stages[0]}
    return Figures(
        feed=name,
        rows=rows,
        file_mb=new_file.stat().st_size / 1e6,
        counts=runs[-1]["counts"],
        read=_median(reads) or (0.0, 0.0),
        run=_median(runs) or (0.0, 0.0),
        plain=_median(plains),
        reader=_median(readers),
        stages={k: v for k, v in timings.items() if v is not None},
        rounds=[
            {"read": read, "run": run, "stages": laps}
            for read, run, laps in zip(reads, runs, stages, strict=True)
        ],
    )


def _target(f: Figures) -> str:
    """The feed's DESIGN.md performance target and the figure it is judged on."""
    kind = FEEDS[f.feed].kind
    parse_s, parse_mb = f.stages["parse_validate"]
    if kind == "csv":
        ratio, peak = f.run[0] / f.read[0], f.run[1]
        verdict = "met" if ratio <= 5 and peak <= 1024 else "NOT met"
        line = f"whole run <= 5x bare read, peak <= 1.0 GB: {ratio:.2f}x, {peak:.0f} MB"
        at = 1_000_000
    elif kind == "xml":
        verdict = "met" if parse_s <= 8 and parse_mb <= 400 else "NOT met"
        line = (
            f"1M records read in <= 8 s, <= 400 MB: parse+validate {parse_s:.2f} s, "
            f"peak {parse_mb:.0f} MB"
        )
        at = 1_000_000
    else:
        verdict = "met" if parse_s <= 3 else "NOT met"
        alone = f" (our reader alone {f.reader[0]:.2f} s)" if f.reader else ""
        line = f"100k rows x 10 columns read in <= 3 s: parse+validate {parse_s:.2f} s{alone}"
        at = 100_000
    scale = "" if f.rows == at else f" [stated for {at} rows; this run has {f.rows}]"
    return f"  DESIGN target: {line} ({verdict}){scale}"


def report(f: Figures) -> str:
    """The feed's figures as printed lines."""
    feed = FEEDS[f.feed]

    def row(label: str, timing: Timing, indent: int = 2) -> str:
        seconds, peak = timing
        return (
            f"{' ' * indent}{label:<{30 - indent}} {seconds:7.2f} s  "
            f"{seconds / f.read[0]:5.2f}x   peak {peak:6.0f} MB"
        )

    lines = [
        f"{f.feed} (contract {feed.contract}): {feed.dialect}",
        f"  {f.rows} rows, new file {f.file_mb:.1f} MB, delta {f.counts}",
        row(BARE_READ[feed.kind], f.read),
    ]
    if f.plain is not None:
        lines.append(row("plain polars pipeline", f.plain))
    if f.reader is not None:
        lines.append(row("our reader alone", f.reader))
    lines.append(row("whole `once` run", f.run))
    lines += [row(name, timing, indent=4) for name, timing in f.stages.items()]
    lines.append(_target(f))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the CSV and XML feeds")
    parser.add_argument("--xlsx-rows", type=int, default=100_000, help="rows of the XLSX feed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--feeds", default=",".join(FEEDS), help=f"comma-separated, of: {', '.join(FEEDS)}"
    )
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "data")
    args = parser.parse_args()
    feeds = args.feeds.split(",")
    unknown = [f for f in feeds if f not in FEEDS]
    if unknown:
        parser.error(f"unknown feed(s) {', '.join(unknown)}; choose from {', '.join(FEEDS)}")
    rows = {f: args.xlsx_rows if FEEDS[f].kind == "xlsx" else args.rows for f in feeds}
    for feed in feeds:
        generate(args.data / f"rows-{rows[feed]}", rows[feed], FEEDS[feed])
    print(
        f"rows={args.rows} xlsx-rows={args.xlsx_rows} repeat={args.repeat} "
        "(medians of paired rounds; ratios to the bare read of the new file)"
    )
    for feed in feeds:
        figures = measure(args.data / f"rows-{rows[feed]}", feed, rows[feed], args.repeat)
        print(report(figures), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2:])
    else:
        main()
