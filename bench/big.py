"""The products feed at ten million rows: a go-live (every row an add) and a normal night.

Generates a products export of --rows rows (10M: about 1.5 GB, Windows-1252, `;`, decimal
comma, as the shipped `products` contract reads it) and its next version (1% changed, 0.5%
added, 0.5% removed, 0.1% invalid), vectorised in polars so 10M rows take seconds, not
minutes. Each round, in fresh subprocesses: the **first run** of a fresh home on the first
version (no snapshot: every row an add), a bare `polars.read_csv` of that file, then the
**second run** on the next version (against the snapshot the first made) and a bare read of
that one. Printed: medians over --repeat paired rounds, as ratios to the bare read of the same
round, with peak RSS (VmHWM) and the run's stage figures from its manifest.

    python bench/big.py --rows 10000000 --repeat 1
    python bench/big.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# Before polars: etl sets polars' allocator up as `run.py` runs it (see etl/__init__.py).
import etl  # noqa: E402, F401, I001

import polars as pl  # noqa: E402

SHIPPED = REPO / "etl" / "embedded" / "schemas"
FEED = "products"


def _ean(n: pl.Expr) -> pl.Expr:
    """A valid 13-digit EAN for id `n` (735 + nine digits + the check digit)."""
    body = pl.lit(735_000_000_000, pl.Int64) + n
    digits = [(body // 10 ** (11 - i)) % 10 * (1 if i % 2 == 0 else 3) for i in range(12)]
    check = (10 - pl.sum_horizontal(digits) % 10) % 10
    return body.cast(pl.String) + check.cast(pl.String)


def _products(ids: pl.DataFrame) -> pl.DataFrame:
    """The export's columns for the ids (`i`) with their `changed` and `invalid` marks."""
    i = pl.col("i")
    text = i.cast(pl.String)
    ean = _ean(i)
    wrong = ean.str.head(12) + pl.when(ean.str.tail(1) == "0").then(pl.lit("1")).otherwise(
        pl.lit("0")
    )
    kg = (i % 900).cast(pl.Float64) / 100 + 0.05
    return ids.select(
        text.str.zfill(7).alias("Artikelnr"),
        pl.when(i % 3 != 0).then(pl.lit("ACME")).otherwise(pl.lit("BRIGHT")).alias("Varumärke"),
        pl.when(i % 3 != 0)
        .then(pl.lit("Acme Arbetskläder AB"))
        .otherwise(pl.lit("Bright Lights Oy"))
        .alias("Tillverkare"),
        ("AG-" + text).alias("Tillv. artnr"),
        ("PG-" + (i // 4).cast(pl.String)).alias("Produktgrupp"),
        (
            "Arbetshandske läder modell "
            + text
            + pl.when(pl.col("changed")).then(pl.lit(" (ny)")).otherwise(pl.lit(""))
        ).alias("Benämning"),
        (
            "Slitstark handske i läder, storlek "
            + (i % 12).cast(pl.String)
            + " \u2013 pris i \u20ac"
        ).alias("Beskrivning"),
        ("CAT-" + (i % 50).cast(pl.String)).alias("Kategori"),
        pl.when(pl.col("invalid")).then(wrong).otherwise(ean).alias("EAN"),
        pl.when(i % 7 != 0).then(pl.lit("25")).otherwise(pl.lit("12")).alias("Moms %"),
        kg.round(2).cast(pl.String).str.replace(r"\.", ",").alias("Vikt kg"),
    )


def _mark(i: pl.Expr, prime: int, every: int) -> pl.Expr:
    """A deterministic, scattered 1-in-`every` choice of ids."""
    return (i * prime) % every == 3


def generate(folder: Path, rows: int) -> tuple[Path, Path]:
    """The first and the next export under `folder` (written once per row count)."""
    first, second = folder / "products_1.csv", folder / "products_2.csv"
    if first.exists() and second.exists():
        return first, second
    folder.mkdir(parents=True, exist_ok=True)
    i = pl.col("i")
    prev = pl.DataFrame({"i": pl.arange(0, rows, eager=True, dtype=pl.Int64)})
    added = pl.DataFrame({"i": pl.arange(rows, rows + rows // 200, eager=True, dtype=pl.Int64)})
    kept = prev.filter(~_mark(i, 104_729, 200))
    for path, ids in ((first, prev), (second, pl.concat([kept, added]))):
        changed = _mark(i, 7_919, 100) if path is second else pl.lit(False)
        marked = ids.with_columns(
            changed.alias("changed"), _mark(i, 15_485_863, 1000).alias("invalid")
        )
        text = _products(marked).write_csv(separator=";", line_terminator="\r\n")
        part = path.with_suffix(".part")
        part.write_bytes(text.encode("cp1252"))
        part.replace(path)
        del text
    return first, second


def _home(work: Path) -> Path:
    """A fresh home with the shipped contracts, file mode, files dropped under work/drop."""
    if work.exists():
        shutil.rmtree(work)
    (work / "schemas").mkdir(parents=True)
    for contract in SHIPPED.glob("*.toml"):
        text = contract.read_text(encoding="utf-8")
        (work / "schemas" / contract.name).write_text(text, encoding="utf-8")
    (work / "etl.toml").write_text(
        f'[stores.erp]\nkind = "local"\nroot = "{work / "drop"}"\n[norce]\nchunk_size = 5000\n',
        encoding="utf-8",
    )
    return work


def _drop(work: Path, source: Path) -> None:
    """The export into the feed's folder, as the ERP leaves it (renamed when complete)."""
    target = work / "drop" / "products" / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    for old in target.parent.glob("*.csv"):
        old.unlink()
    shutil.copy(source, target)


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _worker(kind: str, target: str) -> None:
    """In a fresh process: one bare read or one run; prints seconds and peak as JSON."""
    started = time.perf_counter()
    result: dict[str, Any] = {}
    if kind == "read":
        pl.read_csv(target, separator=";", infer_schema=False, encoding="utf8-lossy")
    else:
        from etl.config.contract_files import load_contracts
        from etl.config.settings import load_settings
        from etl.runtime import Runtime
        from etl.to_norce.run import run_feed

        settings = load_settings(Path(target) / "etl.toml", {})
        rt = Runtime.open(settings)
        started = time.perf_counter()  # after imports and opening, as for the bare read
        [outcome] = run_feed(rt, load_contracts(settings)[FEED])
        rt.close()
        result = {"outcome": outcome.outcome, "counts": outcome.counts}
    result["seconds"] = time.perf_counter() - started
    result["cpu_s"] = time.process_time()  # the machine is shared: CPU time is steadier
    result["peak_mb"] = _peak_mb()
    print(json.dumps(result))


def _spawn(kind: str, target: Path) -> dict[str, Any]:
    # The bare read is polars as a user's script runs it: the allocator's own defaults.
    env = os.environ | ({"_RJEM_MALLOC_CONF": ""} if kind == "read" else {})
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind, str(target)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _stages(work: Path) -> dict[str, tuple[float, float]]:
    """The last run's stage seconds and peaks from its manifest."""
    manifest = sorted((work / "archive" / FEED).glob("*/*/manifest.json"))[-1]
    document = json.loads(manifest.read_text(encoding="utf-8"))
    laps, peaks = document.get("timings_seconds") or {}, document.get("peak_rss_mb") or {}
    return {k: (float(v), float(peaks.get(k, 0.0))) for k, v in laps.items()}


def _round(first: Path, second: Path, work: Path) -> dict[str, dict[str, Any]]:
    """One paired round: first run and its bare read, second run and its bare read."""
    home = _home(work)
    _drop(home, first)
    out: dict[str, dict[str, Any]] = {}
    out["first"] = _spawn("run", home) | {"stages": _stages(home)}
    out["read1"] = _spawn("read", first)
    _drop(home, second)
    out["read2"] = _spawn("read", second)
    out["second"] = _spawn("run", home) | {"stages": _stages(home)}
    for run in ("first", "second"):
        assert out[run]["outcome"] == "committed", out[run]
        peaks = [p for _, p in out[run]["stages"].values()]
        out[run]["peak_mb"] = max([float(out[run]["peak_mb"]), *peaks])
    return out


def measure(data: Path, rows: int, repeat: int) -> list[dict[str, dict[str, Any]]]:
    """The exports under `data`/big-N (written once), then `repeat` paired rounds."""
    first, second = generate(data / f"big-{rows}", rows)
    return [_round(first, second, data / "work" / "big") for _ in range(repeat)]


def _line(label: str, runs: list[dict[str, Any]], reads: list[dict[str, Any]]) -> str:
    ratio = statistics.median(r["seconds"] / b["seconds"] for r, b in zip(runs, reads, strict=True))
    seconds = statistics.median(r["seconds"] for r in runs)
    peak = statistics.median(r["peak_mb"] for r in runs)
    cpu = statistics.median(r["cpu_s"] / b["cpu_s"] for r, b in zip(runs, reads, strict=True))
    # The CPU seconds too: a loaded machine's bare read swings the ratio on its own.
    cpu_s = statistics.median(r["cpu_s"] for r in runs)
    return (
        f"  {label:<34} {seconds:8.2f} s  {ratio:6.2f}x  (CPU {cpu:5.2f}x, {cpu_s:7.2f} s)"
        f"   peak {peak:7.0f} MB"
    )


def main() -> None:
    """Generate the exports, run the paired rounds, print the medians."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "data")
    args = parser.parse_args()
    rounds = measure(args.data, args.rows, args.repeat)
    second = args.data / f"big-{args.rows}" / "products_2.csv"
    print(
        f"products, rows={args.rows} ({second.stat().st_size / 1e6:.0f} MB), "
        f"repeat={args.repeat} (medians of paired rounds; ratios to the bare read of that round)"
    )
    for run, read, label in (
        ("first", "read1", "first run (every row an add)"),
        ("second", "read2", "second run (1% changed)"),
    ):
        runs, reads = [r[run] for r in rounds], [r[read] for r in rounds]
        print(_line("bare polars.read_csv", reads, reads))
        print(_line(f"{label}", runs, reads))
        for stage in runs[0]["stages"]:
            seconds = statistics.median(r["stages"][stage][0] for r in runs)
            peak = statistics.median(r["stages"][stage][1] for r in runs)
            print(
                f"      {stage:<30} {seconds:8.2f} s                          peak {peak:7.0f} MB"
            )
        print(f"    counts {runs[-1]['counts']}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], sys.argv[3])
    else:
        main()
