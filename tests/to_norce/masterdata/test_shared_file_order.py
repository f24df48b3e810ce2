"""Feeds that share a file run in the order Norce needs: a SKU before its price and stock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from etl.config.contract_files import load_contracts
from etl.config.run_order import order_of_runs
from etl.config.settings import LocalStoreSettings, Settings
from tests.support.article_feeds import PRICES, PRODUCTS, write
from tests.support.masterdata import run_once, settings_for
from tests.support.norce.app import NorceStandin
from tests.support.paths import REPO


@pytest.fixture
def erp(tmp_path: Path) -> Path:
    root = tmp_path / "erp-drop"
    (root / "articles").mkdir(parents=True)
    return root


@pytest.fixture
def family(home: Path, erp: Path, norce: NorceStandin) -> Settings:
    for contract in (home / "schemas").glob("*.toml"):
        contract.unlink()
    (home / "schemas" / "articles.toml").write_text(PRODUCTS, encoding="utf-8")
    (home / "schemas" / "article_prices.toml").write_text(PRICES, encoding="utf-8")
    return settings_for(home, LocalStoreSettings(root=erp), norce.settings())


@pytest.fixture
def implied(family: Settings) -> Settings:
    """The same feeds with no [references]: a price names its SKU all the same."""
    path = family.schemas_dir / "article_prices.toml"
    text = path.read_text(encoding="utf-8").replace(
        '[references]\npart_no = "articles.part_no"\n', ""
    )
    assert "[references]" not in text
    path.write_text(text, encoding="utf-8")
    return family


def test_shipped_samples_run_products_before_prices_and_stock() -> None:
    names = [c.name for c in order_of_runs(load_contracts(Settings(home=REPO)))]
    for follower in ("prices", "prices_xlsx", "stock"):
        assert names.index("products") < names.index(follower), names


def test_prices_read_from_the_products_file_go_after_their_skus(
    family: Settings, erp: Path, norce: NorceStandin
) -> None:
    write(erp, "articles_1.csv", ["A1,ACME,Glove,B2C,SEK,99", "A2,ACME,Hat,B2C,SEK,49"])
    outcomes = run_once(family, "articles")

    assert [(o.feed, o.outcome) for o in outcomes] == [
        ("articles", "committed"),
        ("article_prices", "committed"),
    ]
    prices = next(o for o in outcomes if o.feed == "article_prices")
    assert prices.counts["rejected"] == 0 and prices.counts["adds"] == 2
    methods = [c.method for c in norce.calls]
    assert methods == ["Product/ImportProducts", "Product/ImportSkuPriceLists"]
    assert not list((erp / "articles").glob("*.csv"))  # moved once both had committed


def test_a_failed_price_run_keeps_the_file_for_it_without_resending_products(
    family: Settings, erp: Path, norce: NorceStandin
) -> None:
    write(erp, "articles_1.csv", ["A1,ACME,Glove,B2C,SEK,99"])
    norce.fail_next(3, status=503, path="Product/ImportSkuPriceLists")  # every attempt of one run
    first = run_once(family, "articles")
    assert [(o.feed, o.outcome) for o in first] == [
        ("articles", "committed"),
        ("article_prices", "failed"),
    ]
    assert list((erp / "articles").glob("*.csv"))  # still there: prices have not had it

    second = run_once(family, "articles")

    assert [(o.feed, o.outcome) for o in second] == [("article_prices", "committed")]
    products_calls = [c for c in norce.calls if c.method == "Product/ImportProducts"]
    assert len(products_calls) == 1
    assert not list((erp / "articles").glob("*.csv"))


def test_check_of_the_parent_also_checks_the_feeds_that_read_its_file(
    family: Settings, erp: Path, tmp_path: Path
) -> None:
    path = write(erp, "articles_1.csv", ["A1,ACME,Glove,B2C,SEK,-5"])
    # Its own contracts: without a settings file the shipped ones would be read, wherever run.
    (family.home / "etl.toml").write_text('schemas_dir = "schemas"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(REPO / "run.py"), "check", str(path), "--feed", "articles",
         "--out", str(tmp_path / "out")],
        cwd=family.home, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "article_prices" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 1  # the price row is rejected


def prices_sent(norce: NorceStandin) -> list[str]:
    return sorted(
        i["PartNo"]
        for c in norce.calls
        if c.method.endswith("ImportSkuPriceLists")
        for i in c.items
    )


def test_a_price_whose_sku_the_products_run_rejected_waits_for_it(
    implied: Settings, erp: Path, norce: NorceStandin
) -> None:
    # The contract names no [references]: a price needs its SKU, so the check is implied.
    write(erp, "articles_1.csv", ["A1,ACME,Glove,B2C,SEK,99", "A4,,Hat,B2C,SEK,49"])
    first = {o.feed: o for o in run_once(implied, "articles")}
    assert first["articles"].counts["rejected"] == 1  # A4 has no brand
    assert first["article_prices"].counts["rejected"] == 1  # so its price waits
    assert prices_sent(norce) == ["A1"]

    write(erp, "articles_2.csv", ["A1,ACME,Glove,B2C,SEK,99", "A4,ACME,Hat,B2C,SEK,49"])
    second = {o.feed: o for o in run_once(implied, "articles")}

    assert second["article_prices"].counts["adds"] == 1
    assert prices_sent(norce) == ["A1", "A4"]


def test_prices_of_a_products_file_rejected_whole_send_nothing_new(
    implied: Settings, erp: Path, norce: NorceStandin
) -> None:
    contract = implied.schemas_dir / "articles.toml"
    contract.write_text(
        contract.read_text() + "\n[checks]\nmax_rejected_ratio = 0.4\n", encoding="utf-8"
    )
    write(erp, "articles_1.csv", ["A1,,Glove,B2C,SEK,99", "A2,,Hat,B2C,SEK,49"])
    outcomes = {o.feed: o.outcome for o in run_once(implied, "articles")}

    assert outcomes == {"articles": "rejected", "article_prices": "committed"}
    assert prices_sent(norce) == []


def test_a_file_left_on_the_server_is_passed_over_once_every_feed_is_done(
    family: Settings, erp: Path, norce: NorceStandin
) -> None:
    contract = family.schemas_dir / "articles.toml"
    text = contract.read_text().replace(
        'ready = "temp_name"', 'ready = "temp_name"\nafter_commit = "leave"'
    )
    contract.write_text(text, encoding="utf-8")
    write(erp, "articles_1.csv", ["A1,ACME,Glove,B2C,SEK,99"])
    run_once(family, "articles")
    calls = len(norce.calls)

    again = run_once(family, "articles")

    assert [(o.feed, o.outcome) for o in again] == [("articles", "skipped")]
    assert len(norce.calls) == calls
