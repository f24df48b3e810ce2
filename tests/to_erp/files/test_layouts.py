"""Order-file layouts: the shipped ones load, and every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings, OrderSettings, SellerSettings, Settings
from etl.errors import ConfigError
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.files.sources import Constant
from tests.fixtures.orders import CSV, SHIPPED, XML, layout_from


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path,
        schemas_dir=tmp_path,
        stores={"erp": LocalStoreSettings(root=tmp_path / "erp")},
    )


def test_the_shipped_layouts_load_with_the_embedded_default() -> None:
    layouts = load_layouts(Settings(schemas_dir=SHIPPED.parent))
    assert sorted(layouts) == ["erp_csv", "peppol_order"]
    csv, ubl = layouts["erp_csv"], layouts["peppol_order"]
    assert (csv.spec.per, csv.format.encoding, csv.format.decimal) == ("batch", "cp1252", ",")
    assert [r.tag for r in csv.records] == ["H", "L", "F", "D", "P"]
    assert (ubl.spec.per, ubl.orders_per_file) == ("order", 1)
    assert [r.each for r in ubl.records] == [None, "Discounts", "Fees", None, "Items"]


def test_no_orders_folder_means_no_layouts(tmp_path: Path) -> None:
    assert load_layouts(Settings(schemas_dir=tmp_path)) == {}


def test_the_small_layouts_used_below_are_valid(tmp_path: Path, settings: Settings) -> None:
    assert layout_from(CSV, tmp_path, settings).name == "test"
    assert layout_from(XML, tmp_path, settings, "other").name == "other"


CSV_MISTAKES = [
    # (replace this, with this, expected key, expected words in the message)
    ('"SellTo.Company.Code"', '"SellTo.Company.Cod"', "record.head.columns.1",
     "SellTo.Company has no field 'Cod' (it has: Code, Name, VatNo)"),
    ('"SellTo.Company.Code"', '"SellTo.Company"', "record.head.columns.1", "is a group"),
    ('"SellTo.Company.Code"', '"Items"', "record.head.columns.1", 'each = "Items"'),
    ('"SellTo.Company.Code"', '"sum()"', "record.head.columns.1", "not a known function"),
    ('"SellTo.Company.Code"', '"line_total()"', "record.head.columns.1",
     'only in a record with each = "Items"'),
    ('"SellTo.Company.Code"', '"AdditionalInfo[Gift].Value"', "record.head.columns.1",
     "nothing can follow"),
    ('"SellTo.Company.Code"', '"SellTo[Gift]"', "record.head.columns.1",
     "works on AdditionalInfo lists only"),
    ('"SellTo.Company.Code"', '"\'H"', "record.head.columns.1", "single quotes"),
    ('"SellTo.Company.Code"', '"\'Łódź\'"', "record.head.columns.1", "cannot be written in cp1252"),
    ('["Buyer", "SellTo.Company.Code"]', '["Buyer"]', "record.head.columns.1", '["Name", "Source"]'),
    ('["Buyer", "SellTo.Company.Code"]', '["Buyer", "SellTo.Company.Code", {decimals = 2}]',
     "record.head.columns.1.decimals", "is not a number"),
    ('["Buyer", "SellTo.Company.Code"]', '["Buyer", "SubmitDate", {date_format = "%H:%M"}]',
     "record.head.columns.1.date_format", "does not write a whole date"),
    ('["Buyer", "SellTo.Company.Code"]', '["OrderNo", "CurrencyCode"]', "record.head.columns",
     "named twice: OrderNo"),
    ('each = "Items"', 'each = "Things"', "record.line.each", "not a list of the order"),
    ('each = "Items"', 'each = "Payments"\nonly = "fees"', "record.line.only", 'each = "Items"'),
    ('tag = "L"\n', "", "record.line.tag", "several records need a tag"),
    ('tag = "L"', 'tag = "H"', "record", "same tag"),
    ('tag = "L"', 'tag = "Ł"', "record.line.tag", "cannot be written in cp1252"),
    ('[record.head]', '[record.first]\ntag = "F"\neach = "Payments"\ncolumns = [["A", "Amount"]]\n'
     '[record.head]', "record.first.each", "the first record is the order's own line"),
    ('[record.head]', '[record.head]\nrepeat = "X"', "record.head.repeat", "repeat is for xml"),
    ('folder = "orders"', 'folder = "orders"\nstore = "ftp"', "target.store", "no store 'ftp'"),
    ('folder = "orders"', 'folder = "../orders"', "target.folder", "leaves the store root"),
    ('"ORDERS_{first}_{count}.csv"', '"out/ORDERS_{first}.csv"', "target.file_name",
     "no folders"),
    ('"ORDERS_{first}_{count}.csv"', '"ORDERS_{ref}.csv"', "target.file_name", "instead of {ref}"),
    ('"ORDERS_{first}_{count}.csv"', '"ORDERS_{count}.csv"', "target.file_name",
     "needs {first}, {last} or {batch}"),
    ('"ORDERS_{first}_{count}.csv"', '"ORDERS_{when}.csv"', "target.file_name",
     "unknown placeholder {when}"),
    ('"ORDERS_{first}_{count}.csv"', '".ORDERS_{first}.csv"', "target.file_name", "hidden file"),
    ('folder = "orders"', 'folder = "orders"\ndone_marker = "{name}"', "target.done_marker",
     "a name of its own"),
    ('folder = "orders"', 'folder = "orders"\ntemp_suffix = "part"', "target.temp_suffix",
     "should match pattern"),
    ('format = "csv"', 'format = "csv"\nper = "order"', "target.file_name", "put {ref} in it"),
    ('encoding = "cp1252"', 'encoding = "cp9999"', "format.encoding", "unknown encoding"),
    ('encoding = "cp1252"', 'encoding = "latin-1"\nreplacement = "€"', "format.replacement",
     "cannot be written in latin-1"),
    ('decimal = ","', 'decimal = ","\ndelimiter = ","', "format.delimiter",
     "also the quote, the decimal separator"),
    ('decimal = ","', 'decimal = ","\ndate_format = "%d"', "format.date_format",
     "does not write a whole date"),
    ('decimal = ","', 'decimal = ","\nunencodable = "ignore"', "format.unencodable",
     "'hold', 'transliterate' or 'replace'"),
    ('decimal = ","', 'decimal = ","\nroot = "Order"', "format.root", "not used by csv"),
    ('format = "csv"', 'format = "csv"\ncolour = "red"', "layout.colour", "Extra inputs"),
    ('format = "csv"', 'format = "csv"\nname = "Bad Name"', "layout.name", "should match"),
    ('[record.line]', '[record.head]', "-", "cannot read layout"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "key", "words"), CSV_MISTAKES)
def test_a_csv_layout_mistake_names_file_and_key(
    tmp_path: Path, settings: Settings, old: str, new: str, key: str, words: str
) -> None:
    assert old in CSV
    with pytest.raises(ConfigError) as caught:
        layout_from(CSV.replace(old, new, 1), tmp_path, settings)
    assert caught.value.source == str(tmp_path / "test.toml")
    assert caught.value.key == key
    assert words in caught.value.problem


XML_MISTAKES = [
    ('"cbc:ID"', '"cac:ID"', "record.order.elements.0", "prefix 'cac'"),
    ('"cbc:ID"', '"cbc:ID//x"', "record.order.elements.0", "not an element path"),
    ('"\'C62\'"', '"\'\\u0001\'"', "record.line.elements.1", "cannot be written in XML"),
    ('repeat = "Line"\n', "", "record.line.repeat", "names the element written per entry"),
    ('[record.order]', '[record.order]\nrepeat = "X"', "record.order.repeat", "needs `each`"),
    ('[record.order]', '[record.order]\ntag = "O"', "record.order.tag", "tags are for csv"),
    ('elements = [["cbc:ID", "ClientOrderRef"]]', 'columns = [["ID", "ClientOrderRef"]]',
     "record.order.columns", "xml layouts use `elements`"),
    ('per = "order"', 'per = "batch"', "format.batch_root", 'per = "batch" needs batch_root'),
    ('file_name = "ORDER_{ref}.xml"', 'file_name = "ORDER_{ref}.xml"\n[layout2]', "layout2",
     "Extra inputs"),
    ('root = "Order"\n', "", "format.root", "name the document element"),
    ('root = "Order"', 'root = "Order"\nbatch_root = "Orders"', "format.batch_root",
     'per = "order" has none'),
    ('root = "Order"', 'root = "a/b"', "format.root", "one element name"),
    ('root = "Order"', 'root = "Order"\ndelimiter = ","', "format.delimiter",
     "not used by xml"),
    ('per = "order"', 'per = "order"\nmax_orders_per_file = 5', "layout.max_orders_per_file",
     "one order per file"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "key", "words"), XML_MISTAKES)
def test_an_xml_layout_mistake_names_file_and_key(
    tmp_path: Path, settings: Settings, old: str, new: str, key: str, words: str
) -> None:
    assert old in XML
    with pytest.raises(ConfigError) as caught:
        layout_from(XML.replace(old, new, 1), tmp_path, settings)
    assert caught.value.source == str(tmp_path / "test.toml")
    assert caught.value.key == key
    assert words in caught.value.problem


def test_two_layouts_with_one_name_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "orders"
    folder.mkdir()
    (folder / "a.toml").write_text(CSV.replace('format = "csv"', 'format = "csv"\nname = "x"'))
    (folder / "b.toml").write_text(CSV.replace('format = "csv"', 'format = "csv"\nname = "x"'))
    settings = Settings(schemas_dir=tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_layouts(settings)
    assert (caught.value.source, caught.value.key) == (str(folder / "b.toml"), "layout.name")


def test_a_layout_names_the_file_stem_by_default(tmp_path: Path, settings: Settings) -> None:
    assert layout_from(CSV, tmp_path, settings, "visma").name == "visma"


# -- seller settings and alternatives ----------------------------------------------------------


def test_a_seller_setting_is_read_at_start_up(tmp_path: Path, settings: Settings) -> None:
    text = XML.replace('[["cbc:ID", "ClientOrderRef"]]', '[["cbc:ID", "Seller.EndpointID"]]')
    [column] = layout_from(text, tmp_path, settings).records[0].columns
    assert column.source == Constant(settings.orders.seller.endpoint_id or "")


def test_an_unset_seller_setting_stops_start_up(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        schemas_dir=tmp_path,
        stores={"erp": LocalStoreSettings(root=tmp_path / "erp")},
        orders=OrderSettings(seller=SellerSettings(name="Shop")),
    )
    text = XML.replace('[["cbc:ID", "ClientOrderRef"]]', '[["cbc:ID", "Seller.EndpointID"]]')
    with pytest.raises(ConfigError) as caught:
        layout_from(text, tmp_path, settings)
    assert caught.value.key == "record.order.elements.0"
    assert "set endpoint_id under [orders.seller]" in str(caught.value)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("Seller.Nmae", "is not a seller setting (known: Seller.Name"),
        ("ClientOrderRef | SubmitDate", "the alternatives give datetime and text"),
        ("ClientOrderRef |", "write alternatives as A | B"),
    ],
)
def test_alternatives_and_seller_mistakes_name_the_key(
    tmp_path: Path, settings: Settings, source: str, words: str
) -> None:
    text = XML.replace('[["cbc:ID", "ClientOrderRef"]]', f'[["cbc:ID", "{source}"]]')
    with pytest.raises(ConfigError) as caught:
        layout_from(text, tmp_path, settings)
    assert caught.value.key == "record.order.elements.0"
    assert words in str(caught.value)


def test_a_bar_inside_a_literal_is_not_an_alternative(tmp_path: Path, settings: Settings) -> None:
    text = XML.replace('[["cbc:ID", "ClientOrderRef"]]', """[["cbc:ID", "'a | b'"]]""")
    [column] = layout_from(text, tmp_path, settings).records[0].columns
    assert column.source == Constant("a | b")
