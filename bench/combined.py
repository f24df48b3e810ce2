"""One semicolon export read by three feeds (products, prices, stock): issue 18, rows 1-3.

Generates a 1M-row export carrying product, price and stock columns and its next version
(truth_exports.py: 1% changed, 0.5% added, 0.5% removed, 0.1% invalid), written with `;` in
UTF-8 (decimal point) and in Windows-1252 (decimal comma). Per dialect a template home per
feed set (products alone; products with prices and stock reading its file through
`from_feed`) takes the first version once (the snapshots; not timed). Then, in paired rounds
alternating in fresh subprocesses, each on a copy of its template:

1. bare `polars.read_csv` of the new file, every cell as text (1.00x);
2. our whole `once` for the products feed alone (`run_feed`, what `once --feed` does);
3. our whole `once` for the three feeds from the one file;
4. a plain polars pipeline: read both versions, the same checks, a keyed diff per feed,
   each feed's delta written as Parquet.

Prints the medians, the ratios and peak RSS beside the targets of issue 18.

    python bench/combined.py --rows 1000000 --repeat 3
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
from typing import Any

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.truth_exports import Dialect, Exports, contracts, generate, write  # noqa: E402

# Both written with `;`, as the export is; the cp1252 one with decimal commas.
DIALECTS = {
    "utf8": Dialect("utf8", "utf-8", ";", "."),
    "cp1252": Dialect("cp1252", "cp1252", ";", ","),
}
KINDS = ("read", "products", "three", "plain")
LABELS = {
    "read": "bare polars.read_csv",
    "products": "whole once, products alone",
    "three": "whole once, 3 feeds",
    "plain": "plain polars pipeline",
}
# Per feed: its columns of the file (key first) and the checks the plain pipeline makes.
FEED_COLUMNS = {
    "products": ("sku", "brand", "name", "ean", "vat", "weight"),
    "prices": ("sku", "pricelist", "currency", "price"),
    "stock": ("sku", "warehouse", "location", "onhand"),
}


def _template(work: Path, dialect: Dialect, feeds: tuple[str, ...], first: Path) -> Path:
    """A home with `feeds`' contracts that has taken the first version (the snapshots)."""
    if work.exists():
        shutil.rmtree(work)
    (work / "schemas").mkdir(parents=True)
    for name, text in contracts(dialect).items():
        if name in feeds:
            (work / "schemas" / f"{name}.toml").write_text(text, encoding="utf-8")
    (work / "drop" / "flat").mkdir(parents=True)
    _settings(work)
    shutil.copy(first, work / "drop" / "flat" / "flat_1.csv")
    _spawn("once", str(work))
    return work


def _settings(home: Path) -> None:
    (home / "etl.toml").write_text(
        f'[stores.erp]\nkind = "local"\nroot = "{home / "drop"}"\n[norce]\nchunk_size = 5000\n',
        encoding="utf-8",
    )


def _copy(template: Path, work: Path, second: Path) -> Path:
    """A copy of a template home, pointed at its own drop folder, with the new file in it."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(template, work)
    _settings(work)
    shutil.copy(second, work / "drop" / "flat" / "flat_2.csv")
    return work


def _peak_rss_mb() -> float:
    """This process's peak RSS since exec (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _read(path: Path, dialect: Dialect) -> pl.DataFrame:
    """What a user writes first: every cell as text."""
    encoding = "utf8" if dialect.encoding == "utf-8" else dialect.encoding
    return pl.read_csv(path, separator=dialect.delimiter, infer_schema=False, encoding=encoding)


def _number(column: str, dialect: Dialect) -> pl.Expr:
    text = pl.col(column)
    if dialect.decimal != ".":
        text = text.str.replace(dialect.decimal, ".", literal=True)
    return text.cast(pl.Float64, strict=False)


def _ean_ok() -> pl.Expr:
    """A 13-digit EAN whose check digit is right."""
    digits = [pl.col("ean").str.slice(i, 1).cast(pl.Int32, strict=False) for i in range(13)]
    total = pl.sum_horizontal(d * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits[:12]))
    return pl.col("ean").str.contains(r"^[0-9]{13}$") & (((10 - total % 10) % 10) == digits[12])


def _checked(frame: pl.DataFrame, feed: str, dialect: Dialect) -> pl.DataFrame:
    """The feed's columns of the rows that pass its checks, typed; duplicate keys dropped."""
    ok = pl.col("sku").is_not_null()
    if feed == "products":
        ok &= _ean_ok() & _number("vat", dialect).is_not_null()
        ok &= _number("weight", dialect).is_not_null()
    elif feed == "prices":
        ok &= _number("price", dialect) >= 0
    else:
        ok &= pl.col("onhand").cast(pl.Int64, strict=False).is_not_null()
    rows = frame.select(FEED_COLUMNS[feed]).filter(ok)
    return rows.filter(pl.len().over("sku") == 1)


def _plain_pipeline(old: Path, new: Path, dialect: Dialect, out: Path) -> int:
    """A careful hand-written script: read both files, check, diff on the key, write deltas."""
    before, after = _read(old, dialect), _read(new, dialect)
    sent = 0
    for feed, columns in FEED_COLUMNS.items():
        a, b = _checked(before, feed, dialect), _checked(after, feed, dialect)
        joined = b.join(a, on="sku", how="full", suffix="_old", coalesce=True)
        changed = pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_old")) for c in columns[1:])
        delta = joined.filter(changed)
        delta.write_parquet(out / f"{feed}.delta.parquet")
        sent += delta.height
    return sent


def _worker(argv: list[str]) -> None:
    """In a fresh process: one measured thing; one JSON line with seconds and peak."""
    kind, *rest = argv
    started, cpu_started = time.perf_counter(), time.process_time()
    result: dict[str, object] = {}
    if kind == "read":
        _read(Path(rest[0]), DIALECTS[rest[1]])
    elif kind == "plain":
        old, new, dialect, out = rest
        result["sent"] = _plain_pipeline(Path(old), Path(new), DIALECTS[dialect], Path(out))
    else:
        from etl.config.contract_files import load_contracts
        from etl.config.settings import load_settings
        from etl.runtime import Runtime
        from etl.to_norce.run import run_feed

        settings = load_settings(Path(rest[0]) / "etl.toml", {})
        rt = Runtime.open(settings)
        # Counted in `seconds`, as a user's `once` pays it; kept apart so a note can say so.
        result["startup_seconds"] = time.perf_counter() - started
        outcomes = run_feed(rt, load_contracts(settings)["products"])
        rt.close()
        result["runs"] = {o.feed: [o.outcome, o.run_id] for o in outcomes}
    result["seconds"] = time.perf_counter() - started
    # CPU seconds of every thread: steadier than wall time when other work shares the cores.
    result["cpu_seconds"] = time.process_time() - cpu_started
    result["peak_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def _spawn(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _stages(home: Path, runs: dict[str, list[str]]) -> tuple[dict[str, dict[str, float]], float]:
    """Each committed run's stage laps from its manifest, and the largest stage peak RSS.

    The run resets the peak at each stage (etl.to_norce.records.Timer), so the process's
    VmHWM at its end is only the last stage's: the whole run's peak is the largest of both.
    """
    laps, peak = {}, 0.0
    for feed, (outcome, run_id) in runs.items():
        if outcome != "committed":
            raise AssertionError(f"{feed}: run {run_id} {outcome}, not committed")
        [path] = (home / "archive" / feed).glob(f"*/{run_id}/manifest.json")
        manifest = json.loads(path.read_text())
        laps[feed] = manifest["timings_seconds"]
        peak = max([peak, *manifest.get("peak_rss_mb", {}).values()])
    return laps, peak


def _round(
    data: Path, dialect: str, templates: dict[str, Path], files: tuple[Path, Path]
) -> dict[str, dict[str, Any]]:
    """One paired round: each kind once, in a fresh process."""
    first, second = files
    got: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        if kind == "read":
            got[kind] = _spawn("read", str(second), dialect)
        elif kind == "plain":
            out = data / f"plain-{dialect}"
            out.mkdir(exist_ok=True)
            got[kind] = _spawn("plain", str(first), str(second), dialect, str(out))
        else:
            home = _copy(templates[kind], data / f"run-{dialect}-{kind}", second)
            got[kind] = _spawn("once", str(home))
            got[kind]["stages"], peak = _stages(home, got[kind]["runs"])
            got[kind]["peak_mb"] = max(got[kind]["peak_mb"], peak)
    return got


def _print(
    dialect: str, rows: int, size_mb: float, rounds: list[dict[str, dict[str, Any]]]
) -> None:
    base = [r["read"]["seconds"] for r in rounds]
    print(f"{dialect}: {rows} rows, {size_mb:.1f} MB, median of {len(rounds)} paired rounds")
    for kind in KINDS:
        seconds = [r[kind]["seconds"] for r in rounds]
        ratio = statistics.median(s / b for s, b in zip(seconds, base, strict=True))
        peak = statistics.median(r[kind]["peak_mb"] for r in rounds)
        cpu = statistics.median(r[kind]["cpu_seconds"] for r in rounds)
        print(
            f"  {LABELS[kind]:28} {statistics.median(seconds):6.2f} s  {ratio:5.2f}x"
            f"  cpu {cpu:6.2f} s  peak {peak:5.0f} MiB"
        )
    alone = statistics.median(r["products"]["seconds"] / r["read"]["seconds"] for r in rounds)
    three = statistics.median(r["three"]["seconds"] / r["plain"]["seconds"] for r in rounds)
    peak = statistics.median(r["three"]["peak_mb"] for r in rounds)
    print(f"  products alone / bare read:   {alone:5.2f}x  (target <= 4x)")
    print(f"  3 feeds / plain pipeline:     {three:5.2f}x  (target <= 1.0x)")
    print(f"  3 feeds peak RSS:             {peak:5.0f} MiB (target <= 800 MiB)")
    for feed, laps in rounds[-1]["three"]["stages"].items():
        print(f"    {feed:9} " + "  ".join(f"{k} {v:.2f}" for k, v in laps.items()))


def prepare(data: Path, exports: Exports, name: str) -> tuple[dict[str, Path], tuple[Path, Path]]:
    """The dialect's two files and its template homes (the first version taken, not timed)."""
    dialect = DIALECTS[name]
    first, second = data / f"flat_1.{name}.csv", data / f"flat_2.{name}.csv"
    write(first, exports.first, dialect)
    write(second, exports.second, dialect)
    templates = {
        "products": _template(data / f"template-{name}-products", dialect, ("products",), first),
        "three": _template(data / f"template-{name}-three", dialect, tuple(FEED_COLUMNS), first),
    }
    return templates, (first, second)


def measure(
    data: Path, rows: int, name: str, repeat: int, exports: Exports | None = None
) -> list[dict[str, dict[str, Any]]]:
    """`repeat` paired rounds of the four kinds on the dialect's files under `data`/combined-N."""
    folder = data / f"combined-{rows}"
    folder.mkdir(parents=True, exist_ok=True)
    templates, files = prepare(folder, exports or generate(rows), name)
    return [_round(folder, name, templates, files) for _ in range(repeat)]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dialects", default="utf8,cp1252")
    args = parser.parse_args()
    exports = generate(args.rows)
    data = REPO / "bench" / "data"
    for name in args.dialects.split(","):
        rounds = measure(data, args.rows, name, args.repeat, exports)
        second = data / f"combined-{args.rows}" / f"flat_2.{name}.csv"
        _print(name, args.rows, second.stat().st_size / 1e6, rounds)


if __name__ == "__main__":
    main()
