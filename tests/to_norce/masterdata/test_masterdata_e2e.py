"""End to end with the real parts: SFTP server on loopback, Norce stand-in, SQLite, Parquet."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from etl.config.contract_files import load_contracts
from etl.runtime import Runtime
from etl.state.ledger.feed_runs import Ledger
from etl.to_norce.masterdata.approve import approve
from tests.support.masterdata import manifests, run_once, settings_for, write_cp1252_products
from tests.support.norce.app import NorceStandin
from tests.support.sftp_server import SftpServerInfo

PRODUCT_ROWS = [
    "100123;ACME;Acme AB;AG-100-L;AG-100;Arbetshandske läder L;Handske L;GLOVES;7350000000016;25;0,12",
    "100124;ACME;Acme AB;AG-100-XL;AG-100;Arbetshandske läder XL;Handske XL;GLOVES;7350000000023;25;0,13",
    "100200;BRIGHT;Bright Oy;BL-2000;BL-2000;Pannlampa 300 lm;Pannlampa;LIGHTS;6410000000018;25;0,21",
]


def test_samples_reach_norce_over_sftp(
    home: Path, sftp: SftpServerInfo, norce: NorceStandin, erp_root: Path
) -> None:
    settings = settings_for(home, sftp.settings(), norce.settings())
    # Document feeds have their own end-to-end test (tests/documents) with the Order service.
    outcomes = [
        o for f in ("products", "prices", "prices_xlsx", "stock") for o in run_once(settings, f)
    ]

    assert {o.feed: o.outcome for o in outcomes} == {
        "products": "committed",
        "prices": "committed",
        "prices_xlsx": "committed",
        "stock": "committed",
    }
    # One call per set of fields the rows have (an empty cell is not sent): often several.
    assert {c.method for c in norce.calls} == {
        "Product/ImportOnhands",
        "Product/ImportProducts",
        "Product/ImportSkuPriceLists",  # prices (CSV) and campaign prices (XLSX)
    }
    assert set(norce.state.skus) == {
        "100123",
        "100124",
        "100200",
        "100201",
        "100300",
        "100301",
        "100400",
    }
    assert norce.state.prices[("100123", "B2B-NET-SEK", 1)]["PriceSale"] == 69
    assert norce.state.onhands[("100301", "MAIN", "C2")]["OnhandValue"] == -2
    # Remote files (and the done-marker) moved to processed/ only after commit.
    assert sorted(p.name for p in (erp_root / "prices" / "processed").iterdir()) == [
        "prices_20261120.csv",
        "prices_20261120.csv.done",
    ]
    assert not list((erp_root / "products").glob("*.csv"))
    manifest = manifests(home, "products")[0]
    assert manifest["counts"]["rejected"] == 3
    products_call = next(c for c in norce.calls if c.method == "Product/ImportProducts")
    assert manifest["delivery"]["calls"][0]["job_id"] == products_call.job_id
    assert manifest["delivery"]["calls"][0]["status"] == "succeeded"
    assert manifest["reports"] == [
        "products_20261120.rejected.xlsx",
        "products_20261120.rejected.csv",
    ]
    assert not list((home / "inbox").rglob("*.csv"))


def test_second_export_sends_only_the_delta(
    home: Path, sftp: SftpServerInfo, norce: NorceStandin, erp_root: Path
) -> None:
    settings = settings_for(home, sftp.settings(), norce.settings())
    products = erp_root / "products"
    shutil.rmtree(products)
    products.mkdir()
    write_cp1252_products(products / "products_20261121.csv", PRODUCT_ROWS)
    run_once(settings, "products")
    first = len(norce.calls)

    changed = [
        PRODUCT_ROWS[0].replace("Arbetshandske läder L", "Arbetshandske skinn L"),
        PRODUCT_ROWS[1],
        "100500;SAFE;Safe A/S;SW-500;SW-500;Ny produkt;Ny;EARS;5700000000028;25;0,3",
    ]
    write_cp1252_products(products / "products_20261122.csv", changed)
    [outcome] = run_once(settings, "products")

    assert outcome.counts == {
        "rows": 3,
        "accepted": 3,
        "rejected": 0,
        "adds": 1,
        "changes": 1,
        "reactivations": 0,
        "removals": 1,
        "held": 0,
        "spared": 0,
    }
    sent = {c.items[0]["Variants"][0]["Skus"][0]["PartNo"]: c for c in norce.calls[first:]}
    rename = sent["100123"]
    assert rename.header["ProductCultureFieldsThatAreSet"] == [0]
    assert rename.header["ProductFieldsThatAreSet"] == [4, 5]  # Variants carry the PartNo
    assert "SkuFieldsThatAreSet" not in rename.header
    assert rename.items[0]["Cultures"] == [
        {"CultureCode": "sv-SE", "Name": "Arbetshandske skinn L"}
    ]
    removal = sent["100200"]
    assert removal.header["SkuFieldsThatAreSet"] == [1]
    assert removal.items[0]["Variants"][0]["Skus"][0]["Status"] == 5
    add = sent["100500"]
    assert (
        22 in add.header["SkuFieldsThatAreSet"]
        and add.items[0]["Variants"][0]["Skus"][0]["Status"] == 6
    )
    assert norce.state.skus["100123"]["Status"] == 6  # the rename did not touch the status


def test_same_content_under_another_name_is_not_sent_twice(
    home: Path, sftp: SftpServerInfo, norce: NorceStandin, erp_root: Path
) -> None:
    settings = settings_for(home, sftp.settings(), norce.settings())
    copy = (erp_root / "stock" / "stock_20261120.xml").read_bytes()
    run_once(settings, "stock")
    sent = len(norce.calls)
    (erp_root / "stock" / "stock_20261121.xml").write_bytes(copy)
    [outcome] = run_once(settings, "stock")

    assert outcome.outcome == "duplicate"
    assert len(norce.calls) == sent
    assert (erp_root / "stock" / "processed" / "stock_20261121.xml").exists()


def test_norce_down_leaves_everything_for_the_next_run(
    home: Path, sftp: SftpServerInfo, norce: NorceStandin, erp_root: Path
) -> None:
    settings = settings_for(home, sftp.settings(), norce.settings())
    # max_attempts is 3 in the stand-in's settings: three 503s exhaust the retries.
    norce.fail_next(3, status=503, path="Product/ImportSkuPriceLists")
    [failed] = run_once(settings, "prices")

    assert failed.outcome == "failed" and "503" in failed.message
    assert (erp_root / "prices" / "prices_20261120.csv").exists()
    ledger = Ledger(home / "state" / "ledger.sqlite")
    assert ledger.current_snapshot("prices") is None
    assert ledger.runs("prices")[0].outcome == "failed"
    ledger.close()

    [retried] = run_once(settings, "prices")
    assert retried.outcome == "committed"
    assert retried.counts["adds"] == 9


def test_failed_job_fails_the_run_and_keeps_the_snapshot(
    home: Path, sftp: SftpServerInfo, norce: NorceStandin
) -> None:
    settings = settings_for(home, sftp.settings(), norce.settings())
    norce.finish_next_jobs(1, status_id=4, messages=["PartNo 100123: invalid VatRate"])
    [outcome] = run_once(settings, "products")

    assert outcome.outcome == "failed"
    assert "invalid VatRate" in outcome.message
    ledger = Ledger(home / "state" / "ledger.sqlite")
    assert ledger.current_snapshot("products") is None
    ledger.close()


def test_deletion_guard_holds_removals_until_approved(
    home: Path, sftp: SftpServerInfo, norce: NorceStandin, erp_root: Path
) -> None:
    settings = settings_for(home, sftp.settings(), norce.settings())
    products = erp_root / "products"
    shutil.rmtree(products)
    products.mkdir()
    many = [f"2{i:05d};ACME;Acme AB;X-{i};X-{i};Artikel {i};;GLOVES;;25;1,0" for i in range(40)]
    write_cp1252_products(products / "products_20261121.csv", many)
    run_once(settings, "products")
    # A truncated export: 25 of 40 rows gone, and one row changed.
    truncated = [r.replace("Artikel 0;", "Artikel noll;") for r in many[:15]]
    write_cp1252_products(products / "products_20261122.csv", truncated)
    calls_before = len(norce.calls)
    [held] = run_once(settings, "products")

    assert (
        held.counts["held"] == 25 and held.counts["removals"] == 0 and held.counts["changes"] == 1
    )
    assert "exceed the guard" in held.message
    assert all(
        c.items[0]["Variants"][0]["Skus"][0].get("Status") != 5 for c in norce.calls[calls_before:]
    )
    assert norce.state.skus["200039"].get("Status") == 6

    contracts = load_contracts(settings)
    rt = Runtime.open(settings)
    try:
        approve(rt, contracts, held.run_id or "")
        with pytest.raises(Exception, match="approved"):
            approve(rt, contracts, held.run_id or "")
        snapshot = rt.snapshots.read(
            rt.ledger.current_snapshot("products")[0], contracts["products"].entity.fields()
        )  # type: ignore[index]
    finally:
        rt.close()
    assert norce.state.skus["200039"]["Status"] == 5
    assert snapshot.filter(pl.col("_state") == "inactive").height == 25
    assert snapshot.filter(pl.col("_state") == "active").height == 15
