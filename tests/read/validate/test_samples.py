"""The shipped sample exports against golden files of their rejected cells and valid rows.

Regenerate after an intended change with `ETL_UPDATE_GOLDEN=1 pytest tests/validate`, then
read the diff: every line of it is something finance will see.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from etl.to_norce.feed import parse_and_validate
from tests.fixtures.feeds import FIXTURES, shipped
from tests.support.paths import SAMPLES

CASES = {
    "products": SAMPLES / "products" / "products_20261120.csv",
    "prices": SAMPLES / "prices" / "prices_20261120.csv",
    "stock": SAMPLES / "stock" / "stock_20261120.xml",
}


def outcome(feed: str, scratch: Path) -> dict[str, Any]:
    validated = parse_and_validate(CASES[feed], shipped(feed), scratch)
    return {
        "rows_read": validated.rows_read,
        "rejections": validated.rejections.to_dicts(),
        "valid": [
            {k: None if v is None else str(v) for k, v in row.items()}
            for row in validated.valid.to_dicts()
        ],
        "rejected_keys": sorted([[str(v) for v in row] for row in validated.rejected_keys.rows()]),
    }


@pytest.mark.parametrize("feed", sorted(CASES))
def test_sample_matches_its_golden_file(tmp_path: Path, feed: str) -> None:
    golden = FIXTURES / "golden" / f"{feed}.validated.json"
    got = outcome(feed, tmp_path)
    if os.environ.get("ETL_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    assert got == json.loads(golden.read_text(encoding="utf-8"))
