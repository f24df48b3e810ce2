"""Benchmark of the master-data flow against plain polars on the same data.

Generates, for each shipped feed, an export of N rows and its previous version (1% of rows
changed, 0.5% added, 0.5% removed, 0.1% invalid), runs the real pipeline in file mode on the
previous version (which makes the snapshot), then measures the run on the new version. Every
measured run is a fresh subprocess, so peak RSS is that run's own. Baselines in fresh
subprocesses too: a bare polars read of the same file, and for CSV a hand-written polars
pipeline that reads and checks both files and diffs them. Figures are medians over --repeat
paired rounds, printed as ratios to the bare read.

    python bench/masterdata.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _ean(n: int) -> str:
    body = f"735{n:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _versions(rows: int, seed: int) -> tuple[list[int], list[int], set[int], set[int]]:
    """Ids of the previous and the new export, which ids changed, which are invalid."""
    rng = random.Random(seed)
    prev = list(range(rows))
    removed = set(rng.sample(prev, rows // 200))
    added = list(range(rows, rows + rows // 200))
    new = [i for i in prev if i not in removed] + added
    changed = set(rng.sample(new, rows // 100))
    invalid = set(rng.sample(new, rows // 1000))
    return prev, new, changed, invalid


def write_products(path: Path, ids: list[int], changed: set[int], invalid: set[int]) -> None:
    names = [f"Arbetshandske läder modell {i}" + (" (ny)" if i in changed else "") for i in ids]
    frame = pl.DataFrame(
        {
            "Artikelnr": [f"{i:07d}" for i in ids],
            "Varumärke": ["ACME" if i % 3 else "BRIGHT" for i in ids],
            "Tillverkare": ["Acme Arbetskläder AB" if i % 3 else "Bright Lights Oy" for i in ids],
            "Tillv. artnr": [f"AG-{i}" for i in ids],
            "Produktgrupp": [f"PG-{i // 4}" for i in ids],
            "Benämning": names,
            # An en dash and a euro sign: characters that differ between cp1252 and latin-1.
            "Beskrivning": [
                f"Slitstark handske i läder, storlek {i % 12} \u2013 pris i \u20ac" for i in ids
            ],
            "Kategori": [f"CAT-{i % 50}" for i in ids],
            "EAN": [
                _ean(i)
                if i not in invalid
                else _ean(i)[:-1] + "0"
                if _ean(i)[-1] != "0"
                else _ean(i)[:-1] + "1"
                for i in ids
            ],
            "Moms %": ["25" if i % 7 else "12" for i in ids],
            "Vikt kg": [f"{(i % 900) / 100 + 0.05:.2f}".replace(".", ",") for i in ids],
        }
    )
    text = frame.write_csv(separator=";", line_terminator="\r\n")
    path.write_bytes(text.encode("cp1252"))


def write_prices(path: Path, ids: list[int], changed: set[int], invalid: set[int]) -> None:
    frame = pl.DataFrame(
        {
            "ItemNo": [f"{i:07d}" for i in ids],
            "PriceList": ["STD-SEK"] * len(ids),
            "Currency": ["SEK" if i not in invalid else "sek" for i in ids],
            "Price": [f"{(i % 5000) + 9.9 + (1 if i in changed else 0):.2f}" for i in ids],
            "PurchaseCost": [f"{(i % 5000) / 2 + 1:.2f}" for i in ids],
            "RRP": [f"{(i % 5000) + 19.9:.2f}" for i in ids],
        }
    )
    path.write_bytes(b"\xef\xbb\xbf" + frame.write_csv(line_terminator="\r\n").encode())


def write_stock(path: Path, ids: list[int], changed: set[int], invalid: set[int]) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<StockReport>\n')
        for i in ids:
            qty = "many" if i in invalid else str(i % 300 + (5 if i in changed else 0))
            out.write(
                f'  <Item sku="{i:07d}">\n    <Warehouse code="MAIN"/>\n    <Location>L{i % 40}</Location>\n'
                f"    <OnHand>{qty}</OnHand>\n  </Item>\n"
            )
        out.write("</StockReport>\n")


FEEDS = {
    "products": ("products/products_{v}.csv", write_products),
    "prices": ("prices/prices_{v}.csv", write_prices),
    "stock": ("stock/stock_{v}.xml", write_stock),
}


def generate(data: Path, rows: int, feeds: list[str]) -> None:
    """Write previous and new exports for each feed, once per row count."""
    prev, new, changed, invalid = _versions(rows, seed=7)
    for feed in feeds:
        pattern, writer = FEEDS[feed]
        for version, ids, ch, inv in (("1", prev, set(), set()), ("2", new, changed, invalid)):
            target = data / pattern.format(v=version)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                writer(target, ids, ch, inv)


def _home(work: Path, feed: str) -> Path:
    """A fresh home with the shipped contracts and an empty drop folder for the feed."""
    if work.exists():
        shutil.rmtree(work)
    (work / "schemas").mkdir(parents=True)
    for contract in (REPO / "schemas").glob("*.toml"):
        text = contract.read_text(encoding="utf-8").replace(
            "stable_seconds = 2", "stable_seconds = 0"
        )
        (work / "schemas" / contract.name).write_text(text, encoding="utf-8")
    (work / "drop" / feed).mkdir(parents=True)
    (work / "etl.toml").write_text(
        f'[stores.erp]\nkind = "local"\nroot = "{work / "drop"}"\n[norce]\nchunk_size = 5000\n',
        encoding="utf-8",
    )
    return work


def _place(data: Path, work: Path, feed: str, version: str) -> None:
    source = data / FEEDS[feed][0].format(v=version)
    target = work / "drop" / source.parent.name / source.name
    shutil.copy(source, target)
    if feed == "prices":
        target.with_name(target.name + ".done").touch()


def _worker(argv: list[str]) -> None:
    """Run in a fresh process; print one JSON line with wall time and peak RSS."""
    kind, *rest = argv
    started = time.perf_counter()
    result: dict[str, object] = {}
    if kind == "read":
        path, fmt = rest
        if fmt == "xml":
            from lxml import etree

            for _, el in etree.iterparse(path, events=("end",), tag="Item"):
                el.clear()
        else:
            sep = ";" if "products" in path else ","
            pl.read_csv(path, separator=sep, infer_schema=False, encoding="utf8-lossy")
    elif kind == "polars_pipeline":
        old, new = rest
        result["rows"] = _plain_polars_pipeline(Path(old), Path(new))
    else:
        home, feed = rest
        from etl.contracts import load_contracts
        from etl.flows.masterdata import run_feed
        from etl.flows.runtime import Runtime
        from etl.settings import load_settings

        settings = load_settings(Path(home) / "etl.toml", {})
        rt = Runtime.open(settings)
        [outcome] = run_feed(rt, load_contracts(settings)[feed])
        rt.close()
        result = {"outcome": outcome.outcome, "counts": outcome.counts}
    result["seconds"] = time.perf_counter() - started
    result["peak_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def _peak_rss_mb() -> float:
    """This process's peak RSS since exec (VmHWM); ru_maxrss would count the forking parent."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _plain_polars_pipeline(old: Path, new: Path) -> int:
    """What a careful hand-written script does: read both, check, diff on the key."""

    def load(path: Path) -> pl.DataFrame:
        sep = ";" if "products" in path.name else ","
        frame = pl.read_csv(path, separator=sep, infer_schema=False, encoding="utf8-lossy")
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


def _spawn(*args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(data: Path, feed: str, repeat: int) -> dict[str, object]:
    """Median figures for one feed over `repeat` paired rounds."""
    new_file = data / FEEDS[feed][0].format(v="2")
    old_file = data / FEEDS[feed][0].format(v="1")
    fmt = "xml" if feed == "stock" else "csv"
    runs, reads, plains, stages = [], [], [], []
    for _ in range(repeat):
        work = _home(data.parent / "work" / feed, feed)
        _place(data, work, feed, "1")
        first = _spawn("run", str(work), feed)
        _place(data, work, feed, "2")
        reads.append(_spawn("read", str(new_file), fmt))
        run = _spawn("run", str(work), feed)
        runs.append(run)
        if fmt == "csv":
            plains.append(_spawn("polars_pipeline", str(old_file), str(new_file)))
        manifest = sorted((work / "archive" / feed).glob("*/*/manifest.json"))[-1]
        document = json.loads(manifest.read_text())
        # The run resets the peak counter at every stage: its true peak is the largest of them.
        run["peak_mb"] = max(float(run["peak_mb"]), *document["peak_rss_mb"].values())
        stages.append(
            {
                k: (v, document["peak_rss_mb"].get(k, 0.0))
                for k, v in document["timings_seconds"].items()
            }
        )
        assert first["outcome"] == "committed" and run["outcome"] == "committed", (first, run)
    med = lambda xs, k: statistics.median(float(x[k]) for x in xs)  # noqa: E731
    read_s = med(reads, "seconds")
    return {
        "feed": feed,
        "file_mb": new_file.stat().st_size / 1e6,
        "counts": runs[-1]["counts"],
        "read_s": read_s,
        "read_peak_mb": med(reads, "peak_mb"),
        "run_s": med(runs, "seconds"),
        "run_peak_mb": med(runs, "peak_mb"),
        "plain_s": med(plains, "seconds") if plains else None,
        "plain_peak_mb": med(plains, "peak_mb") if plains else None,
        "stages": {
            k: (
                statistics.median(s[k][0] for s in stages),
                statistics.median(s[k][1] for s in stages),
            )
            for k in stages[0]
        },
    }


def report(r: dict[str, object]) -> str:
    read_s = float(r["read_s"])  # type: ignore[arg-type]
    lines = [
        f"{r['feed']}: {r['file_mb']:.0f} MB, delta {r['counts']}",
        f"  bare polars read      {read_s:7.2f} s   1.00x   peak {r['read_peak_mb']:6.0f} MB",
    ]
    if r["plain_s"] is not None:
        p = float(r["plain_s"])  # type: ignore[arg-type]
        lines.append(
            f"  plain polars pipeline {p:7.2f} s  {p / read_s:5.2f}x   peak {r['plain_peak_mb']:6.0f} MB"
        )
    run_s = float(r["run_s"])  # type: ignore[arg-type]
    lines.append(
        f"  whole `once` run      {run_s:7.2f} s  {run_s / read_s:5.2f}x   peak {r['run_peak_mb']:6.0f} MB"
    )
    stages = r["stages"]
    assert isinstance(stages, dict)
    lines += [
        f"    {name:<16} {sec:7.2f} s  {sec / read_s:5.2f}x   peak {peak:6.0f} MB"
        for name, (sec, peak) in stages.items()
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--feeds", default="products,prices,stock")
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "data")
    args = parser.parse_args()
    feeds = args.feeds.split(",")
    data = args.data / f"rows-{args.rows}"
    generate(data, args.rows, feeds)
    print(
        f"rows={args.rows} repeat={args.repeat} (medians; ratios to the bare polars read of the new file)"
    )
    for feed in feeds:
        print(report(measure(data, feed, args.repeat)), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2:])
    else:
        main()
