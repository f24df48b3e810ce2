"""XML stock at a million records: parse and validate, against a bare lxml iterparse.

The stock export of erp_exports.py (one `<Item>` per record, UTF-8; 1% changed, 0.5% added,
0.5% removed, 0.1% invalid) is run through the shipped `stock` contract as masterdata.py
runs every feed: a fresh home whose first run makes the snapshot, then, in each round and in
fresh subprocesses, a bare `lxml.etree.iterparse` with `clear()` of the new file and our
whole `once` run on it. The figure judged (DESIGN.md, issue 18) is the run's
`parse_validate` stage from its manifest: at most 8 s and 400 MiB for 1M records.

With `--stage`, the stage alone in CPU seconds instead (xml_stage.py): bare lxml, this tree
and, with `--before PATH`, another checkout of the repository in the same paired rounds.

    python bench/xml_stock.py --rows 1000000 --repeat 3
    python bench/xml_stock.py --stage --repeat 5 --before /tmp/xml_before
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from erp_exports import FEEDS, generate
from masterdata import REPO, _home, _place, measure, report
from xml_stage import paired, summary


def main() -> None:
    """Generate the stock exports (cached) and print the medians of the paired rounds."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    # A folder of its own: masterdata.py's stock runs use bench/data/work/stock.
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "data" / "xml_stock")
    parser.add_argument("--stage", action="store_true", help="the stage alone, in CPU seconds")
    parser.add_argument("--before", type=Path, help="with --stage: a checkout to compare with")
    args = parser.parse_args()
    data = args.data / f"rows-{args.rows}"
    generate(data, args.rows, FEEDS["stock"])
    print(f"rows={args.rows} repeat={args.repeat} (medians of paired rounds)")
    if args.stage:
        homes = {"ours": _stage_home(data, REPO, "ours")}
        if args.before is not None:  # its own home: a newer tree may migrate the ledger
            homes["before"] = _stage_home(data, args.before.resolve(), "before")
        print(summary(paired(homes, _new_file(data), args.repeat, args.before)))
    else:
        print(report(measure(data, "stock", args.rows, args.repeat)), flush=True)


def _stage_home(data: Path, tree: Path, name: str) -> Path:
    """A home whose first run (by `tree`'s code) made the snapshot the new file is read against."""
    work = _home(data.parent / "work" / f"stage-{name}")
    _place(data, work, FEEDS["stock"], "1")
    runner = [sys.executable, str(tree / "bench" / "masterdata.py"), "--worker", "run"]
    done = subprocess.run([*runner, str(work), "stock"], capture_output=True, text=True)
    assert done.returncode == 0 and '"committed"' in done.stdout, done.stderr[-3000:]
    return work


def _new_file(data: Path) -> Path:
    return FEEDS["stock"].path(data, "2")


if __name__ == "__main__":
    main()
