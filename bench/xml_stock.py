"""XML stock at a million records: parse and validate, against a bare lxml iterparse.

The stock export of erp_exports.py (one `<Item>` per record, UTF-8; 1% changed, 0.5% added,
0.5% removed, 0.1% invalid) is run through the shipped `stock` contract as masterdata.py
runs every feed: a fresh home whose first run makes the snapshot, then, in each round and in
fresh subprocesses, a bare `lxml.etree.iterparse` with `clear()` of the new file and our
whole `once` run on it. The figure judged (DESIGN.md, issue 18) is the run's
`parse_validate` stage from its manifest: at most 8 s and 400 MiB for 1M records.

    python bench/xml_stock.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
from pathlib import Path

from erp_exports import FEEDS, generate
from masterdata import REPO, measure, report


def main() -> None:
    """Generate the stock exports (cached) and print the medians of the paired rounds."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    # A folder of its own: masterdata.py's stock runs use bench/data/work/stock.
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "data" / "xml_stock")
    args = parser.parse_args()
    data = args.data / f"rows-{args.rows}"
    generate(data, args.rows, FEEDS["stock"])
    print(f"rows={args.rows} repeat={args.repeat} (medians of paired rounds)")
    print(report(measure(data, "stock", args.rows, args.repeat)), flush=True)


if __name__ == "__main__":
    main()
