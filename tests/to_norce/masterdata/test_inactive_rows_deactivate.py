"""A row the file marks inactive is deactivated: neither its reference nor its other cells stop it.

A row marked `is_active = false` whose key Norce has from us is a removal: only its identity
is sent, so the record it names (a price's product, a contact's company) need not be active,
and a price the ERP emptied or zeroed on a discontinued article does not matter either. A
row marked inactive that Norce never had is an add sent inactive: it must be valid and name
a record the other feed holds in any state, since Norce has that record either way.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from etl.config.contract_files import load_contracts
from etl.config.settings import Settings
from etl.models import STATE
from etl.runtime import Runtime
from tests.support.norce.app import NorceStandin
from tests.support.shop_feeds import drop, outcomes, shop


def states(settings: Settings, feed: str) -> dict[str, str]:
    rt = Runtime.open(settings)
    try:
        current = rt.ledger.current_snapshot(feed)
        entity = load_contracts(settings)[feed].entity
        frame = rt.snapshots.read(current[0] if current else None, entity.fields())
    finally:
        rt.close()
    return dict(frame.select("part_no", STATE).iter_rows())


def test_a_price_marked_inactive_goes_with_its_product_switched_off_in_the_same_file(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    """Review E D2: the price stayed active in Norce, rejected as unknown_reference every night."""
    settings, folder = shop(home, tmp_path, norce)
    drop(folder, "shop_1.csv", "A,Alpha,1,10,1", "B,Belt,1,20,1")
    outcomes(settings)
    before = len(norce.calls)

    drop(folder, "shop_2.csv", "A,Alpha,1,10,1", "B,Belt,1,20,0")
    counts = outcomes(settings)

    assert counts["shop_prices"]["rejected"] == 0
    assert counts["shop_prices"]["removals"] == 1
    assert states(settings, "shop_prices") == {"A": "active", "B": "inactive"}
    prices = [c for c in norce.calls[before:] if "PriceList" in c.method]
    assert [(i["PartNo"], i["IsActive"]) for c in prices for i in c.items] == [("B", False)]


def test_an_inactive_add_needs_a_product_known_in_any_state_and_nothing_less(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    """C is new and switched off in both feeds: Norce gets the product, so the price may go too.

    D's product row was rejected (its weight): no feed holds D, so its price is unknown.
    """
    settings, folder = shop(home, tmp_path, norce)
    drop(folder, "shop_1.csv", "A,Alpha,1,10,1", "C,Cap,1,30,0", "D,Dish,heavy,40,1")
    counts = outcomes(settings)

    assert counts["shop_prices"]["rejected"] == 1
    prices = states(settings, "shop_prices")  # C is kept in a state that is not live
    assert sorted(prices) == ["A", "C"] and prices["A"] == "active" and prices["C"] != "active"


def test_a_discontinued_price_emptied_or_zeroed_is_deactivated_not_spared(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    """Review D c4: `B,,0`, `C,30.123456,0` and `D,0,0` were rejected and spared; nothing went."""
    settings, folder = shop(home, tmp_path, norce)
    drop(folder, "shop_1.csv", "A,A,1,10,1", "B,B,1,20,1", "C,C,1,30,1", "D,D,1,40,1")
    outcomes(settings)
    before = len(norce.calls)

    drop(folder, "shop_2.csv", "A,A,1,10,1", "B,B,1,,0", "C,C,1,30.123456,0", "D,D,1,0,0")
    counts = outcomes(settings)

    assert counts["shop_prices"]["rejected"] == 0
    assert counts["shop_prices"]["removals"] == 3
    prices = [c for c in norce.calls[before:] if "PriceList" in c.method]
    sent = {i["PartNo"]: i for c in prices for i in c.items}
    assert sorted(sent) == ["B", "C", "D"]
    assert all(item["IsActive"] is False for item in sent.values())


def test_a_new_row_marked_inactive_with_a_bad_cell_is_still_rejected(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    """Norce never had E: an add, even an inactive one, sends its cells, so they must be good."""
    settings, folder = shop(home, tmp_path, norce)
    drop(folder, "shop_1.csv", "A,A,1,10,1", "E,E,1,,0")
    counts = outcomes(settings)

    assert counts["shop_prices"]["rejected"] == 1
    assert counts["shop_prices"]["adds"] == 1
    rejected = home / "archive" / "shop_prices"
    [report] = rejected.glob("*/*/*.rejected.csv")
    rows = pl.read_csv(report, infer_schema=False)
    assert rows["Error code"].to_list() == ["required"]
