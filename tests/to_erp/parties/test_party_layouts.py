"""Party layouts: the order layout machinery with `subject = "customer"` or `"company"`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings, Settings
from etl.errors import ConfigError
from etl.to_erp.files.layouts import load_layout, load_layouts
from etl.to_erp.files.render import prepare, render
from etl.to_erp.parties.model import Customer
from tests.support.parties import read_csv
from tests.support.paths import SCHEMAS

SMALL = """
[layout]
subject = "customer"
format = "csv"

[target]
folder = "customers"
file_name = "C_{first}_{count}.csv"

[format]
encoding = "cp1252"

[record.customer]
tag = "C"
columns = [["Code", "CustomerCode"], ["NorceId", "Id"], ["City", "InvoiceAddress.City"]]

[record.company]
tag = "R"
each = "Companies"
columns = [["Customer", "Customer.Id"], ["No", "position()"], ["Company", "Id"]]
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path, schemas_dir=tmp_path, stores={"erp": LocalStoreSettings(root=tmp_path)}
    )


def write(tmp_path: Path, text: str, folder: str = "parties", name: str = "small") -> Path:
    path = tmp_path / folder / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_party_layouts_load_beside_the_order_layouts() -> None:
    settings = Settings(schemas_dir=SCHEMAS)
    parties = load_layouts(settings, "parties")
    assert {n: layout.subject.name for n, layout in parties.items()} == {
        "erp_companies_csv": "company", "erp_customers_csv": "customer",
    }  # fmt: skip
    assert sorted(load_layouts(settings)) == ["erp_csv", "peppol_order"]
    customers = parties["erp_customers_csv"]
    assert [r.tag for r in customers.records] == ["C", "R"]
    assert (customers.format.encoding, customers.format.delimiter) == ("cp1252", ";")


def test_a_customer_renders_from_its_query_record(tmp_path: Path, settings: Settings) -> None:
    layout = load_layout(write(tmp_path, SMALL), settings)
    record = Customer.model_validate(
        {"id": 10001, "CUSTOMERCODE": None, "invoiceAddress": {"City": "Göteborg"},
         "Companies": [{"Id": 20001, "IsPrimary": True}, {"Id": 20002}]}
    )  # fmt: skip
    data = render(layout, [prepare(layout, record, "10001")])
    assert read_csv(data) == [
        ["C", "", "10001", "Göteborg"], ["R", "10001", "1", "20001"], ["R", "10001", "2", "20002"],
    ]  # fmt: skip


def test_a_party_needs_its_ref(tmp_path: Path, settings: Settings) -> None:
    layout = load_layout(write(tmp_path, SMALL), settings)
    with pytest.raises(TypeError, match="needs its ref"):
        prepare(layout, Customer(id=1))


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ('"InvoiceAddress.City"', '"InvoiceAddress.Town"', "record.customer.columns.2",
         "InvoiceAddress has no field 'Town'"),
        ('"InvoiceAddress.City"', '"SellTo.Company.Code"', "record.customer.columns.2",
         "Customer has no field 'SellTo'"),
        ('"InvoiceAddress.City"', '"lines_total()"', "record.customer.columns.2",
         "not a known function of customer layouts. Known: position()"),
        ('"Customer.Id"', '"Order.Id"', "record.company.columns.0", "no field 'Order'"),
        ('each = "Companies"', 'each = "Items"', "record.company.each",
         "not a list of the customer (Addresses, DeliveryAddresses, Companies)"),
        ('subject = "customer"', 'subject = "supplier"', "layout.subject", "'order', 'customer'"),
    ],
)  # fmt: skip
def test_a_party_layout_mistake_names_file_and_key(
    tmp_path: Path, settings: Settings, old: str, new: str, key: str, words: str
) -> None:
    assert old in SMALL
    path = write(tmp_path, SMALL.replace(old, new))
    with pytest.raises(ConfigError) as caught:
        load_layout(path, settings)
    assert str(path) in str(caught.value) and key in str(caught.value)
    assert words in str(caught.value)


def test_a_layout_in_the_other_subjects_folder_stops_start_up(
    tmp_path: Path, settings: Settings
) -> None:
    write(tmp_path, SMALL, folder="orders")
    with pytest.raises(ConfigError, match=r"layout.subject.*a customer layout belongs in"):
        load_layouts(settings, "parties")


def test_a_name_used_in_both_folders_stops_start_up(tmp_path: Path, settings: Settings) -> None:
    shutil.copy(SCHEMAS / "orders" / "erp_csv.toml", write(tmp_path, "", "orders", "x"))
    write(tmp_path, SMALL.replace('subject = "customer"', 'name = "erp_csv"\nsubject = "customer"'))
    with pytest.raises(ConfigError, match="'erp_csv' is already used by"):
        load_layouts(settings)
