"""Feed contracts: the shipped ones load; every kind of mistake is a ConfigError naming file and key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from etl.config.contract_files import load_contract, load_contracts
from etl.config.run_order import order_of_runs, runs_with
from etl.config.settings import Settings
from etl.errors import ConfigError
from tests.support.paths import SCHEMAS


def test_every_shipped_contract_loads() -> None:
    contracts = load_contracts(Settings(schemas_dir=SCHEMAS))

    assert sorted(contracts) == [
        "buyer_numbers", "companies", "credits", "customers", "delivery_notes", "invoices",
        "order_status", "prices", "prices_xlsx", "products", "stock",
    ]  # fmt: skip
    products, prices, stock = contracts["products"], contracts["prices"], contracts["stock"]
    assert (products.format.encoding, products.format.delimiter, products.format.decimal) == (
        "cp1252",
        ";",
        ",",
    )
    assert products.columns["Varumärke"] == "manufacturer_code"
    assert products.schedule.cron == "15 2 * * *"
    assert prices.key_fields == ("part_no", "price_list_code", "quantity_break")
    assert prices.defaults == {"quantity_break": "1"}
    assert stock.format.record == "StockReport/Item"
    assert stock.entity.name == "onhand"


def test_every_shipped_contract_file_is_picked_up() -> None:
    files = sorted(p.stem for p in SCHEMAS.glob("*.toml"))
    assert sorted(load_contracts(Settings(schemas_dir=SCHEMAS))) == files


Edit = Callable[[str], str]


def swap(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert old in text, f"test setup: {old!r} is not in the contract"
        return text.replace(old, new, 1)

    return edit


def after(anchor: str, lines: str) -> Edit:
    return swap(anchor, f"{anchor}\n{lines}")


# (contract to start from, edit, key the error must name, words the problem must contain)
BAD = {
    "unknown entity": (
        "products",
        swap('entity = "product"', 'entity = "widget"'),
        "feed.entity",
        "widget",
    ),
    "unknown field in columns": (
        "products",
        after("[columns]", '"Färg" = "colour"'),
        "columns.Färg",
        "colour",
    ),
    "field mapped twice": ("products", after("[columns]", '"Namn" = "name"'), "columns", "name"),
    "required field unmapped": (
        "products",
        swap('"Benämning" = "name"\n', ""),
        "columns",
        "'name'",
    ),
    "bad crontab": (
        "products",
        swap('cron = "15 2 * * *"', 'cron = "61 2 * * *"'),
        "schedule.cron",
        "61 2",
    ),
    "cron and interval": (
        "products",
        after("[schedule]", "interval_minutes = 5"),
        "schedule",
        "exactly one",
    ),
    "neither cron nor interval": (
        "products",
        swap('cron = "15 2 * * *"', ""),
        "schedule",
        "exactly one",
    ),
    "unknown encoding": ("products", swap('"cp1252"', '"cp9999"'), "format.encoding", "cp9999"),
    "xml without record": (
        "stock",
        swap('record = "StockReport/Item"', ""),
        "format.record",
        "record",
    ),
    "decimal equals thousands": (
        "products",
        after('decimal = ","', 'thousands = ","'),
        "format.thousands",
        "differ",
    ),
    "unknown top-level table": (
        "products",
        after("", "[extras]\nx = 1\n"),
        "extras",
        "Extra inputs",
    ),
    "store not in settings": (
        "products",
        swap('store = "erp"', 'store = "ftp"'),
        "source.store",
        "ftp",
    ),
    "option with unknown key": (
        "products",
        after("[options]", "colour = 1"),
        "options.colour",
        "Extra inputs",
    ),
    "option with bad value": (
        "products",
        swap('culture = "sv-SE"', 'culture = "Swedish"'),
        "options.culture",
        "pattern",
    ),
    "option out of range": (
        "products",
        swap("sales_area = 1", "sales_area = 0"),
        "options.sales_area",
        "greater than",
    ),
    "option not in its choices": (
        "products",
        swap('"NotActivated"', '"Gone"'),
        "options.new_status",
        "NotActivated",
    ),
    "default for a non-field": (
        "prices",
        after("[defaults]", 'colour = "red"'),
        "defaults.colour",
        "not a field",
    ),
    "bad feed name": (
        "products",
        swap('name = "products"', 'name = "Products!"'),
        "feed.name",
        "pattern",
    ),
    "undeclared xml prefix in columns": (
        "stock",
        swap('"Location" = ', '"x:Location" = '),
        "columns.x:Location",
        "'x'",
    ),
    "undeclared xml prefix in record": (
        "stock",
        swap('"StockReport/Item"', '"s:StockReport/s:Item"'),
        "format.record",
        "'s'",
    ),
    "unusable xml path": (
        "stock",
        swap('"Location" = ', '"Location[" = '),
        "columns.Location[",
        "path",
    ),
    "feed is not a table": (
        "products",
        swap("[feed]\n", 'feed = "products"\n[feedx]\n'),
        "feed",
        "valid dictionary",
    ),
    "not toml at all": ("products", lambda text: text + "\n[[[", "-", "cannot read"),
}


@pytest.mark.parametrize("table", ["feed", "source", "format", "guard", "schedule"])
def test_unknown_key_in_any_table_names_the_key(tmp_path: Path, table: str) -> None:
    text = (SCHEMAS / "products.toml").read_text(encoding="utf-8")
    if f"[{table}]" not in text:
        text += f"\n[{table}]\n"
    path = tmp_path / "products.toml"
    path.write_text(text.replace(f"[{table}]", f"[{table}]\ncolour = 1", 1), encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_contract(path, Settings())

    assert caught.value.key == f"{table}.colour"
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(("base", "edit", "key", "words"), BAD.values(), ids=BAD.keys())
def test_a_bad_contract_names_file_and_key(
    tmp_path: Path, base: str, edit: Edit, key: str, words: str
) -> None:
    path = tmp_path / f"{base}.toml"
    path.write_text(edit((SCHEMAS / f"{base}.toml").read_text(encoding="utf-8")), encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_contract(path, Settings())

    error = caught.value
    assert (error.source, error.key) == (str(path), key)
    assert words in error.problem
    assert str(error).startswith(f"{path}: {key}: ")


def test_a_key_must_contain_the_entity_key(tmp_path: Path) -> None:
    text = (SCHEMAS / "prices.toml").read_text(encoding="utf-8")
    path = tmp_path / "prices.toml"
    path.write_text(f'key = ["part_no", "price_list_code"]\n{text}', encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_contract(path, Settings())

    assert caught.value.key == "key"
    assert "quantity_break" in caught.value.problem


def test_two_contracts_with_one_feed_name_are_refused(tmp_path: Path) -> None:
    for name in ("a", "b"):
        text = (SCHEMAS / "prices.toml").read_text(encoding="utf-8")
        (tmp_path / f"{name}.toml").write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_contracts(Settings(schemas_dir=tmp_path))

    assert (caught.value.source, caught.value.key) == (str(tmp_path / "b.toml"), "feed.name")


def test_the_feed_name_defaults_to_the_file_name(tmp_path: Path) -> None:
    text = (SCHEMAS / "stock.toml").read_text(encoding="utf-8").replace('name = "stock"\n', "")
    (tmp_path / "lager.toml").write_text(text, encoding="utf-8")

    assert list(load_contracts(Settings(schemas_dir=tmp_path))) == ["lager"]


def test_header_row_is_refused_where_it_is_not_supported(tmp_path: Path) -> None:
    text = (
        '[feed]\nentity = "price"\n[format]\ntype = "xml"\nrecord = "R/I"\nheader_row = 2\n'
        '[columns]\n"A" = "part_no"\n'
    )
    path = tmp_path / "prices.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"format\.header_row.*not xml"):
        load_contract(path, Settings(schemas_dir=tmp_path))


def copy_shipped(
    folder: Path, *names: str, edit: Callable[[str, str], str] = lambda n, t: t
) -> None:
    """Shipped contracts into `folder`, each text passed through `edit(name, text)`."""
    for name in names:
        text = (SCHEMAS / f"{name}.toml").read_text(encoding="utf-8")
        (folder / f"{name}.toml").write_text(edit(name, text), encoding="utf-8")


def test_shipped_feeds_run_prices_then_the_customer_file_which_companies_read() -> None:
    contracts = load_contracts(Settings(schemas_dir=SCHEMAS))

    order = [c.name for c in order_of_runs(contracts)]
    assert "companies" not in order, "it runs inside the customers feed's runs"
    assert order.index("products") < order.index("prices") < order.index("customers")
    # The ERP's numbers for web-born buyers first: the customer file may already hold them.
    assert order.index("buyer_numbers") < order.index("customers")
    assert [d.name for d in contracts["customers"].derived] == ["companies"]
    # A price names a SKU: Norce must have the products first.
    assert [c.name for c in runs_with(contracts["customers"], contracts)] == [
        "buyer_numbers",
        "products",
        "prices",
        "customers",
    ]
    assert [c.name for c in runs_with(contracts["products"], contracts)] == ["products"]


def test_references_in_a_circle_are_refused(tmp_path: Path) -> None:
    circle = '\n[references]\npart_no = "customers.code"\n'

    def edit(name: str, text: str) -> str:
        if name != "prices":
            return text
        return text.replace("[defaults]", circle.strip() + "\n\n[defaults]")

    copy_shipped(tmp_path, "prices", "customers", "companies", edit=edit)
    with pytest.raises(ConfigError) as caught:
        load_contracts(Settings(schemas_dir=tmp_path))

    assert caught.value.key == "references"
    assert "customers, prices" in caught.value.problem


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ('from_feed = "customers"', 'from_feed = "nosuch"', "source.from_feed", "'nosuch' is not a feed"),
        ('encoding = "cp1252"', 'encoding = "utf-8"', "format.encoding",
         '"utf-8" here, "cp1252" in feed customers (it reads that feed\'s files)'),
        ('price_list_code = "prices.price_list_code"', 'price_list_code = "prices.nosuch"',
         "references.price_list_code", "must name another feed and one of its fields"),
        ('price_list_code = "prices.price_list_code"', 'nosuch = "prices.price_list_code"',
         "references.nosuch", "not a field of company"),
    ],
)  # fmt: skip
def test_links_between_feeds_are_checked_at_start(
    tmp_path: Path, old: str, new: str, key: str, problem: str
) -> None:
    def edit(name: str, text: str) -> str:
        return text.replace(old, new) if name == "companies" else text

    copy_shipped(tmp_path, "prices", "customers", "companies", edit=edit)
    with pytest.raises(ConfigError) as caught:
        load_contracts(Settings(schemas_dir=tmp_path))

    assert (caught.value.source, caught.value.key) == (str(tmp_path / "companies.toml"), key)
    assert problem in caught.value.problem


def test_derived_is_not_a_contract_key(tmp_path: Path) -> None:
    copy_shipped(tmp_path, "prices", edit=lambda n, t: "derived = []\n" + t)

    with pytest.raises(ConfigError) as caught:
        load_contracts(Settings(schemas_dir=tmp_path))

    assert caught.value.key == "derived"


def _with_create_only(tmp_path: Path, base: str, fields: str, edit: Edit = str) -> Path:
    text = (SCHEMAS / f"{base}.toml").read_text(encoding="utf-8")
    path = tmp_path / f"{base}.toml"
    path.write_text(f"create_only = [{fields}]\n{edit(text)}", encoding="utf-8")
    return path


def test_a_contract_declares_the_fields_the_erp_only_seeds(tmp_path: Path) -> None:
    path = _with_create_only(tmp_path, "products", '"name", "description", "category_code"')

    contract = load_contract(path, Settings())

    assert contract.create_only == ("name", "description", "category_code")
    assert load_contract(SCHEMAS / "products.toml", Settings()).create_only == ()


@pytest.mark.parametrize(
    ("base", "fields", "edit", "problem"),
    [
        ("customers", '"first_name"', str, "Norce has no create-only number for 'first_name'"),
        ("companies", '"name"', str, "Norce has no create-only number for 'name'"),
        ("products", '"ean"', str, "Norce has no create-only number for 'ean'"),
        ("products", '"colour"', str, "'colour' is not a field of product"),
        ("products", '"description"', swap('"Beskrivning" = "description"\n', ""),
         "'description' is neither mapped nor defaulted"),
        ("products", '"name", "name"', str, "'name' is listed twice"),
    ],
)  # fmt: skip
def test_create_only_is_refused_where_norce_cannot_seed(
    tmp_path: Path, base: str, fields: str, edit: Edit, problem: str
) -> None:
    path = _with_create_only(tmp_path, base, fields, edit)

    with pytest.raises(ConfigError) as caught:
        load_contract(path, Settings())

    assert (caught.value.source, caught.value.key) == (str(path), "create_only")
    assert problem in caught.value.problem
