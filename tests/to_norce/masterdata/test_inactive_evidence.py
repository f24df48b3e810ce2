"""What a run did with rows marked inactive is written down (review r2, defect 3).

A row added inactive was a plain `add` in delta.parquet with no count in the manifest; the
failed cells of a row taken as a deactivation all the same were written nowhere.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tests.support.masterdata import manifests
from tests.support.norce.app import NorceStandin
from tests.support.shop_feeds import drop, outcomes, shop


def trail(home: Path, feed: str) -> dict[str, tuple[str, str | None]]:
    [*_, last] = sorted((home / "archive" / feed).glob("*/*/delta.parquet"))
    rows = pl.read_parquet(last).select("key", "action", "reason").iter_rows()
    return {key: (action, reason) for key, action, reason in rows}


def test_a_row_added_inactive_says_so_in_the_trail_and_the_manifest(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    settings, folder = shop(home, tmp_path, norce)
    drop(folder, "shop_1.csv", "A,Alpha,1,10,1", "C,Cap,1,30,0")
    outcomes(settings)

    assert trail(home, "shop_products")["C"] == (
        "add",
        "added inactive: is_active = false on line 3",
    )
    assert trail(home, "shop_products")["A"] == ("add", None)
    assert manifests(home, "shop_products")[-1]["counts"]["added_inactive"] == 1


def test_cells_not_sent_for_a_deactivated_row_are_counted_and_reported(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    settings, folder = shop(home, tmp_path, norce)
    drop(folder, "shop_1.csv", "A,A,1,10,1", "B,B,1,20,1")
    outcomes(settings)

    drop(folder, "shop_2.csv", "A,A,1,10,1", "B,B,1,,0")
    counts = outcomes(settings)

    assert counts["shop_prices"]["rejected"] == 0  # no row rejected: B went, as the ERP said
    manifest = manifests(home, "shop_prices")[-1]
    assert manifest["counts"]["forgiven_cells"] == 1
    [report] = (home / "archive" / "shop_prices").glob("*/*/shop_2.rejected.csv")
    rows = pl.read_csv(report, infer_schema=False)
    assert rows["Error code"].to_list() == ["ignored_on_deactivation"]
    assert "not sent" in rows["What is wrong"][0]
