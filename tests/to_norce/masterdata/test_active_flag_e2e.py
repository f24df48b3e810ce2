"""An ERP's own active flag, end to end: local files, SQLite, Parquet, the Norce stand-in.

A row marked inactive is a removal when Norce has it from us, an inactive add when it does
not, nothing when it is inactive already; it comes back as a reactivation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings, Settings
from etl.models import STATE
from etl.runtime import Runtime
from etl.to_norce.masterdata.approve import approve
from tests.fixtures.cases import DIALECTS
from tests.fixtures.feeds import PRODUCTS_HEADER
from tests.support.masterdata import manifests, run_once, settings_for
from tests.support.norce.app import NorceStandin
from tests.support.norce.jobs import RecordedCall
from tests.support.paths import SCHEMAS

CUSTOMERS = "erp_customers_active"
FIXTURE = DIALECTS / f"{CUSTOMERS}.csv"
SOURCE = """
[source]
folder = "{folder}"
pattern = "*.csv"
ready = "temp_name"
"""
PRICES = """
[feed]
name = "prices"
entity = "price"
export = "{export}"

[format]
type = "csv"

[columns]
"ItemNo" = "part_no"
"Currency" = "currency"
"Price" = "price_sale"
"Active" = "is_active"

[defaults]
price_list_code = "B2C-SEK"
quantity_break = "1"
"""


def only(home: Path, name: str, text: str) -> None:
    """The home's schemas folder holds this one contract."""
    for contract in (home / "schemas").glob("*.toml"):
        contract.unlink()
    (home / "schemas" / f"{name}.toml").write_text(text, encoding="utf-8")


def drop(erp: Path, folder: str, name: str, text: str) -> None:
    (erp / folder).mkdir(parents=True, exist_ok=True)
    (erp / folder / name).write_text(text, encoding="utf-8", newline="")


def sent(norce: NorceStandin, since: int = 0) -> list[RecordedCall]:
    return norce.calls[since:]


def items_of(calls: list[RecordedCall]) -> dict[Any, dict[str, Any]]:
    """Every item sent, by its Code or PartNo (the last one wins)."""
    found = {}
    for call in calls:
        for item in call.items:
            found[item.get("Code") or item.get("PartNo")] = item
    return found


def states(settings: Settings, feed: str) -> dict[str, str]:
    """Key -> state in the feed's current snapshot."""
    rt = Runtime.open(settings)
    try:
        current = rt.ledger.current_snapshot(feed)
        assert current is not None
        entity = load_contracts(settings)[feed].entity
        frame = rt.snapshots.read(current[0], entity.fields())
    finally:
        rt.close()
    key = entity.key[0]
    return dict(frame.select(pl.col(key).cast(pl.String), STATE).iter_rows())


def customers_home(home: Path, erp: Path, norce: NorceStandin) -> Settings:
    text = FIXTURE.with_suffix(".toml").read_text(encoding="utf-8")
    only(home, CUSTOMERS, text + SOURCE.format(folder="customers"))
    return settings_for(home, LocalStoreSettings(root=erp), norce.settings())


def test_a_closed_customer_new_to_norce_is_created_inactive(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    erp = tmp_path / "erp-drop"
    settings = customers_home(home, erp, norce)
    drop(erp, "customers", "customers_1.csv", FIXTURE.read_text(encoding="utf-8"))

    [outcome] = run_once(settings)

    assert outcome.outcome == "committed" and outcome.counts["adds"] == 5
    items = items_of(sent(norce))
    assert {code: items[code]["IsActive"] for code in items} == {
        "10001": True,
        "10002": False,
        "10003": True,
        "10004": False,
        "10005": True,
    }
    assert items["10002"]["FirstName"] == "Björn"  # an inactive add still carries its fields
    for call in sent(norce):
        assert 11 in call.header["CustomerFieldsThatAreSet"]
    assert norce.state.customers["10002"]["IsActive"] is False
    # Dormant: inactive, but only ever sent as an add (see the products test below).
    assert states(settings, CUSTOMERS)["10002"] == "dormant"


def test_flags_that_flip_deactivate_and_reactivate_and_an_inactive_row_sends_nothing(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    erp = tmp_path / "erp-drop"
    settings = customers_home(home, erp, norce)
    first = FIXTURE.read_text(encoding="utf-8")
    drop(erp, "customers", "customers_1.csv", first)
    run_once(settings)
    before = len(norce.calls)
    # 10001 closes, 10004 reopens, 10002 stays closed with a new phone number.
    lines = first.splitlines()
    lines[1] = lines[1].removesuffix(";1") + ";0"
    lines[2] = lines[2].replace(";;070-234 56;", ";08-555;070-234 56;")
    lines[4] = lines[4].removesuffix(";0") + ";1"
    drop(erp, "customers", "customers_2.csv", "\r\n".join(lines))

    [second] = run_once(settings)

    # 10004 was only ever sent as an inactive add: it comes back as an add.
    counts = second.counts
    assert (counts["removals"], counts["adds"], counts["reactivations"]) == (1, 1, 0)
    items = items_of(sent(norce, before))
    assert set(items) == {"10001", "10004"}  # nothing for 10002: Norce has it inactive
    assert items["10001"] == {"Code": "10001", "IsActive": False}
    assert items["10004"]["IsActive"] is True and items["10004"]["FirstName"] == "David"
    assert states(settings, CUSTOMERS) == {
        "10001": "inactive",
        "10002": "dormant",
        "10003": "active",
        "10004": "active",
        "10005": "active",
    }
    removals = manifests(home, CUSTOMERS)[-1]["removals"]
    assert removals == {"missing_from_file": 0, "marked_inactive": 1, "marked_inactive_lines": [2]}
    [path] = (home / "archive" / CUSTOMERS).glob(f"*/{second.run_id}/delta.parquet")
    trail = pl.read_parquet(path).filter(pl.col("action") == "remove")
    assert trail.select("key", "line", "reason").to_dicts() == [
        {"key": "10001", "line": 2, "reason": "is_active = false on line 2"}
    ]


def products_home(home: Path, erp: Path, norce: NorceStandin) -> Settings:
    text = (SCHEMAS / "products.toml").read_text(encoding="utf-8")
    text = text.replace('"Vikt kg" = "weight"', '"Vikt kg" = "weight"\n"Aktiv" = "is_active"')
    only(home, "products", text.replace("stable_seconds = 2", "stable_seconds = 0.05"))
    return settings_for(home, LocalStoreSettings(root=erp), norce.settings())


def drop_products(erp: Path, name: str, rows: list[str]) -> None:
    folder = erp / "products"
    folder.mkdir(parents=True, exist_ok=True)
    text = "\r\n".join([f"{PRODUCTS_HEADER};Aktiv", *rows]) + "\r\n"
    (folder / name).write_bytes(text.encode("cp1252"))


def product_row(sku: str, active: str) -> str:
    return f"{sku};ACME;Acme AB;M-{sku};;Handske {sku};;GLOVES;;25;1,0;{active}"


def test_a_live_product_marked_inactive_gets_the_removed_status(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    erp = tmp_path / "erp-drop"
    settings = products_home(home, erp, norce)
    drop_products(erp, "products_1.csv", [product_row("500", "1"), product_row("501", "1")])
    run_once(settings)
    before = len(norce.calls)
    drop_products(erp, "products_2.csv", [product_row("500", "1"), product_row("501", "0")])

    [second] = run_once(settings)

    assert second.counts["removals"] == 1 and second.counts["changes"] == 0
    [call] = sent(norce, before)
    assert call.header["SkuFieldsThatAreSet"] == [1]
    assert [i["Variants"][0]["Skus"][0] for i in call.items] == [{"PartNo": "501", "Status": 5}]
    assert norce.state.skus["501"]["Status"] == 5
    assert states(settings, "products") == {"500": "active", "501": "inactive"}


def prices_home(home: Path, erp: Path, norce: NorceStandin, export: str = "full") -> Settings:
    only(home, "prices", PRICES.format(export=export) + SOURCE.format(folder="prices"))
    return settings_for(home, LocalStoreSettings(root=erp), norce.settings())


def price_rows(skus: list[str], active: str) -> str:
    return "ItemNo,Currency,Price,Active\n" + "".join(f"{s},SEK,10,{active}\n" for s in skus)


def test_every_live_price_marked_inactive_is_held_like_a_mass_removal(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    erp = tmp_path / "erp-drop"
    settings = prices_home(home, erp, norce)
    skus = [f"P{i:02}" for i in range(20)]
    drop(erp, "prices", "prices_1.csv", price_rows(skus, "1"))
    run_once(settings)
    before = len(norce.calls)
    drop(erp, "prices", "prices_2.csv", price_rows(skus, "0"))

    [second] = run_once(settings)

    assert (second.counts["removals"], second.counts["held"]) == (0, 20)
    assert "20 removals" in second.message
    assert sent(norce, before) == []
    assert all(p["IsActive"] is True for p in norce.state.prices.values())
    assert set(states(settings, "prices").values()) == {"held"}
    removals = manifests(home, "prices")[-1]["removals"]
    assert (removals["missing_from_file"], removals["marked_inactive"]) == (0, 20)
    # Approved, they go exactly as held removals do.
    rt = Runtime.open(settings)
    try:
        approve(rt, load_contracts(settings), second.run_id or "")
    finally:
        rt.close()
    assert all(p["IsActive"] is False for p in norce.state.prices.values())
    assert set(states(settings, "prices").values()) == {"inactive"}


def test_a_delta_export_deactivates_by_the_flag(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    erp = tmp_path / "erp-drop"
    settings = prices_home(home, erp, norce, export="delta")
    drop(erp, "prices", "prices_1.csv", price_rows(["A", "B", "C"], "1"))
    run_once(settings)
    before = len(norce.calls)
    drop(erp, "prices", "prices_2.csv", price_rows(["B"], "0"))

    [second] = run_once(settings)

    assert second.counts["removals"] == 1
    [call] = sent(norce, before)
    assert call.header["SkuPriceListFieldsThatAreSet"] == [10]
    assert [i["PartNo"] for i in call.items] == ["B"] and call.items[0]["IsActive"] is False
    assert {k[0]: p["IsActive"] for k, p in norce.state.prices.items()} == {
        "A": True,
        "B": False,
        "C": True,
    }
    assert states(settings, "prices") == {"A": "active", "B": "inactive", "C": "active"}


GUARD = "\n[guard]\nmax_removals = 1\nmax_removal_ratio = 0.1\n"


def guarded_prices(home: Path, erp: Path, norce: NorceStandin, export: str) -> Settings:
    text = PRICES.format(export=export) + GUARD + SOURCE.format(folder="prices")
    only(home, "prices", text)
    return settings_for(home, LocalStoreSettings(root=erp), norce.settings())


def priced(rows: dict[str, tuple[str, str]]) -> str:
    """A prices file: SKU -> (price, active)."""
    lines = "".join(f"{s},SEK,{p},{a}\n" for s, (p, a) in rows.items())
    return "ItemNo,Currency,Price,Active\n" + lines


def approved(settings: Settings, hold_run: str) -> str:
    rt = Runtime.open(settings)
    try:
        return approve(rt, load_contracts(settings), hold_run)
    finally:
        rt.close()


def hold_state(settings: Settings, run_id: str) -> str:
    rt = Runtime.open(settings)
    try:
        hold = rt.ledger.hold(run_id)
    finally:
        rt.close()
    assert hold is not None
    return str(hold["state"])


def test_a_delta_file_that_does_not_name_a_held_row_keeps_it_held(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    erp = tmp_path / "erp-drop"
    settings = guarded_prices(home, erp, norce, export="delta")
    first = {s: ("10", "1") for s in "ABCD"}
    drop(erp, "prices", "prices_1.csv", priced(first))
    run_once(settings)
    drop(erp, "prices", "prices_2.csv", priced({"B": ("10", "0"), "C": ("10", "0")}))
    [held] = run_once(settings)
    assert held.counts["held"] == 2

    # A delta file says nothing of the rows it leaves out: B and C stay held.
    drop(erp, "prices", "prices_3.csv", priced({"A": ("11", "1")}))
    [third] = run_once(settings)

    assert third.counts["changes"] == 1 and hold_state(settings, held.run_id or "") == "pending"
    assert states(settings, "prices") == {"A": "active", "B": "held", "C": "held", "D": "active"}
    approved(settings, held.run_id or "")
    assert {k[0]: p["IsActive"] for k, p in norce.state.prices.items()} == {
        "A": True,
        "B": False,
        "C": False,
        "D": True,
    }


def test_a_delta_file_naming_a_held_row_again_ends_its_hold_only(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    erp = tmp_path / "erp-drop"
    settings = guarded_prices(home, erp, norce, export="delta")
    drop(erp, "prices", "prices_1.csv", priced({s: ("10", "1") for s in "ABCD"}))
    run_once(settings)
    drop(erp, "prices", "prices_2.csv", priced({"B": ("10", "0"), "C": ("10", "0")}))
    [held] = run_once(settings)

    drop(erp, "prices", "prices_3.csv", priced({"B": ("10", "1")}))
    run_once(settings)
    assert states(settings, "prices") == {"A": "active", "B": "active", "C": "held", "D": "active"}
    assert hold_state(settings, held.run_id or "") == "pending"
    drop(erp, "prices", "prices_4.csv", priced({"C": ("12", "1")}))
    [fourth] = run_once(settings)

    assert fourth.counts["changes"] == 1  # C is named again: live, and its new price goes
    assert set(states(settings, "prices").values()) == {"active"}
    assert hold_state(settings, held.run_id or "") == "superseded"
    assert all(p["IsActive"] for p in norce.state.prices.values())


def test_a_full_export_still_ends_a_hold_when_the_rows_come_back(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    erp = tmp_path / "erp-drop"
    settings = guarded_prices(home, erp, norce, export="full")
    drop(erp, "prices", "prices_1.csv", priced({s: ("10", "1") for s in "ABCD"}))
    run_once(settings)
    drop(erp, "prices", "prices_2.csv", priced({"A": ("10", "1"), "D": ("10", "1")}))
    [held] = run_once(settings)
    drop(erp, "prices", "prices_3.csv", priced({s: ("12", "1") for s in "ABCD"}))

    run_once(settings)

    assert hold_state(settings, held.run_id or "") == "superseded"
    assert set(states(settings, "prices").values()) == {"active"}


def test_a_sku_first_sent_inactive_comes_back_as_an_add_not_a_status(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    erp = tmp_path / "erp-drop"
    settings = products_home(home, erp, norce)
    # Norce has 501 on sale already (first run against a live tenant).
    norce.live_state.add_sku(
        "501",
        product={"ManufacturerCode": "ACME"},
        sku={"ManufacturerPartNo": "M-501", "Status": 1, "Type": 1},
    )
    drop_products(erp, "products_1.csv", [product_row("500", "1"), product_row("501", "0")])
    run_once(settings)
    assert norce.state.skus["501"]["Status"] == 1  # StatusCreateOnly: kept
    before = len(norce.calls)
    drop_products(erp, "products_2.csv", [product_row("500", "1"), product_row("501", "1")])

    [second] = run_once(settings)

    assert (second.counts["adds"], second.counts["reactivations"]) == (1, 0)
    [call] = sent(norce, before)
    assert 1 not in call.header["SkuFieldsThatAreSet"]
    assert 22 in call.header["SkuFieldsThatAreSet"]
    assert norce.state.skus["501"]["Status"] == 1  # still on sale
    assert states(settings, "products") == {"500": "active", "501": "active"}


def test_a_returning_sku_that_was_removed_by_us_is_still_a_reactivation(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    erp = tmp_path / "erp-drop"
    settings = products_home(home, erp, norce)
    drop_products(erp, "products_1.csv", [product_row("500", "1"), product_row("501", "1")])
    run_once(settings)
    drop_products(erp, "products_2.csv", [product_row("500", "1"), product_row("501", "0")])
    run_once(settings)
    before = len(norce.calls)
    back = product_row("501", "1").replace("Handske 501", "Handske 501 XL")
    drop_products(erp, "products_3.csv", [product_row("500", "1"), back])

    [third] = run_once(settings)

    assert third.outcome == "committed", third.message
    assert third.counts["reactivations"] == 1
    [call] = sent(norce, before)
    assert 1 in call.header["SkuFieldsThatAreSet"]  # we switched it off: a real Status
    assert norce.state.skus["501"]["Status"] == 6


def test_the_approval_run_says_why_each_row_goes(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    erp = tmp_path / "erp-drop"
    settings = guarded_prices(home, erp, norce, export="full")
    drop(erp, "prices", "prices_1.csv", priced({s: ("10", "1") for s in "ABCDE"}))
    run_once(settings)
    second = {"A": ("10", "1"), "B": ("10", "0"), "E": ("10", "1")}
    drop(erp, "prices", "prices_2.csv", priced(second))
    [held] = run_once(settings)

    approving = approved(settings, held.run_id or "")

    [path] = (home / "archive" / "prices").glob(f"*/{approving}/delta.parquet")
    trail = pl.read_parquet(path).sort("key").select("key", "action", "line", "reason")
    cause = f"in run {held.run_id}; hold approved"
    assert trail.to_dicts() == [
        {"key": "B / B2C-SEK / 1", "action": "remove", "line": 3,
         "reason": f"is_active = false on line 3 {cause}"},
        {"key": "C / B2C-SEK / 1", "action": "remove", "line": None,
         "reason": f"missing from the file {cause}"},
        {"key": "D / B2C-SEK / 1", "action": "remove", "line": None,
         "reason": f"missing from the file {cause}"},
    ]  # fmt: skip
    manifest = manifests(home, "prices")[-1]
    assert manifest["run_id"] == approving
    assert manifest["removals"] == {
        "missing_from_file": 2,
        "marked_inactive": 1,
        "marked_inactive_lines": [3],
    }


def test_a_new_hold_in_a_delta_export_takes_over_the_rows_still_held(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    erp = tmp_path / "erp-drop"
    settings = guarded_prices(home, erp, norce, export="delta")
    drop(erp, "prices", "prices_1.csv", priced({s: ("10", "1") for s in "ABCDEFGHIJ"}))
    run_once(settings)
    drop(erp, "prices", "prices_2.csv", priced({"B": ("10", "0"), "C": ("10", "0")}))
    [first] = run_once(settings)
    drop(erp, "prices", "prices_3.csv", priced({"D": ("10", "0"), "E": ("10", "0")}))

    [second] = run_once(settings)

    assert "with 2 held by an earlier run" in second.message
    assert hold_state(settings, first.run_id or "") == "superseded"
    approving = approved(settings, second.run_id or "")
    assert {k[0] for k, p in norce.state.prices.items() if not p["IsActive"]} == set("BCDE")
    [path] = (home / "archive" / "prices").glob(f"*/{approving}/delta.parquet")
    reasons = dict(pl.read_parquet(path).select("key", "reason").iter_rows())
    assert reasons["B / B2C-SEK / 1"] == (
        f"is_active = false on line 2 in run {first.run_id}; hold approved"
    )
    assert reasons["E / B2C-SEK / 1"] == (
        f"is_active = false on line 3 in run {second.run_id}; hold approved"
    )
