"""Rendering orders: golden files for the shipped layouts, PEPPOL elements by XPath, the rules.

Regenerate the golden files after an intended change with
`ETL_UPDATE_GOLDEN=1 pytest tests/to_erp/files/test_render.py`, then read the diff: it is what the
ERP will import.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from etl.config.settings import LocalStoreSettings, Settings
from etl.to_erp.files.layouts import Layout
from etl.to_erp.files.render import decimal_text, prepare, render, render_orders
from etl.to_erp.orders.model import OrderRequest
from tests.fixtures.orders import CSV, HERE, XML, layout_from, sample, shipped

NS = {
    "ubl": "urn:oasis:names:specification:ubl:schema:xsd:Order-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}

GOLDEN = [
    ("erp_csv", ("order_1001", "order_1002"), "orders_1001_1002.erp_csv.csv"),
    ("peppol_order", ("order_1001",), "order_1001.peppol_order.xml"),
    ("peppol_order", ("order_1002",), "order_1002.peppol_order.xml"),
]


@pytest.mark.parametrize(("layout", "orders", "golden"), GOLDEN)
def test_the_shipped_layouts_match_their_golden_files(
    layout: str, orders: tuple[str, ...], golden: str
) -> None:
    data = render_orders(shipped(layout), [sample(name) for name in orders])
    path = HERE / golden
    if os.environ.get("ETL_UPDATE_GOLDEN"):
        path.write_bytes(data)
    assert data == path.read_bytes()


def test_the_same_orders_give_the_same_bytes() -> None:
    for layout in ("erp_csv", "peppol_order"):
        first = render_orders(shipped(layout), [sample("order_1001")])
        assert render_orders(shipped(layout), [sample("order_1001")]) == first


def test_the_csv_is_windows_1252_with_semicolons_and_decimal_commas() -> None:
    data = (HERE / "orders_1001_1002.erp_csv.csv").read_bytes()
    assert "Åström".encode("cp1252") in data and b"\r\n" in data
    lines = data.decode("cp1252").split("\r\n")
    tags = [line.partition(";")[0] for line in lines if line]
    assert tags == ["H", "L", "L", "L", "P", "H", "L", "L", "P", "P"]
    head = lines[0].split(";")
    assert head[:4] == ["H", "1001", "2026-11-20", "SEK"]
    # The comment holds the delimiter and quotes: quoted, quotes doubled.
    assert '"Leverans till baksidan; ring ""Åsa"" först"' in lines[0]
    # GiftMessage is Code2's; then the lines ex VAT and their VAT, what the customer pays,
    # the bill-to names and care-of, and the order ex VAT and its VAT (added at the end).
    assert lines[0].endswith(
        ";Grattis på födelsedagen!;245,59;61,40;306,99;Anna;Åström;;245,59;61,40"
    )
    # Unit price kept exactly (47,992); the line amount rounded to cents; freight is a line.
    assert "L;1001;2;200456;200456;Skruv 4,2\u00d725 (200 st);ErpStandard;1;fp;47,992;" in lines[2]
    assert lines[3].startswith("L;1001;3;FREIGHT;;Frakt;Freight;1;;39,20;")
    assert lines[4] == "P;1001;KLARNA;psp-abc;306,99;SEK"
    # Łukasz has no ł in Windows-1252: the shipped layout transliterates it.
    assert ";Lukasz;Nyström;" in lines[5]


def test_the_peppol_order_has_the_bis_3_elements() -> None:
    root = etree.fromstring((HERE / "order_1001.peppol_order.xml").read_bytes())

    def text(path: str) -> list[str]:
        return [str(v) for v in root.xpath(path, namespaces=NS)]

    assert etree.QName(root).namespace == NS["ubl"] and etree.QName(root).localname == "Order"
    assert text("cbc:CustomizationID/text()") == ["urn:fdc:peppol.eu:poacc:trns:order:3"]
    assert text("cbc:ProfileID/text()") == ["urn:fdc:peppol.eu:poacc:bis:ordering:3"]
    assert text("cbc:ID/text()") == ["1001"]
    assert text("cbc:IssueDate/text()") == ["2026-11-20"]
    assert text("cbc:DocumentCurrencyCode/text()") == ["SEK"]
    party = "cac:BuyerCustomerParty/cac:Party/"
    assert text(party + "cac:PartyIdentification/cbc:ID/text()") == ["K-5566"]
    assert text(party + "cac:PartyLegalEntity/cbc:RegistrationName/text()") == ["Bygg & Trä AB"]
    address = "cac:Delivery/cac:DeliveryLocation/cac:Address/"
    assert text(address + "cbc:StreetName/text()") == ["Sjövägen 3"]
    assert text(address + "cac:Country/cbc:IdentificationCode/text()") == ["SE"]
    lines = "cac:OrderLine/cac:LineItem/"
    assert text(lines + "cbc:ID/text()") == ["1", "2", "3"]
    assert text(lines + "cbc:Quantity/@unitCode") == ["C62"] * 3
    assert text(lines + "cac:Item/cac:SellersItemIdentification/cbc:ID/text()") == [
        "100123",
        "200456",
        "FREIGHT",
    ]
    amounts = [Decimal(a) for a in text(lines + "cbc:LineExtensionAmount/text()")]
    assert amounts == [Decimal("158.40"), Decimal("47.99"), Decimal("39.20")]
    assert text(lines + "cbc:LineExtensionAmount/@currencyID") == ["SEK"] * 3
    total = "cac:AnticipatedMonetaryTotal/"
    assert text(total + "cbc:LineExtensionAmount/text()") == [str(sum(amounts))]
    assert text(total + "cbc:PayableAmount/text()") == ["306.99"]
    assert text(total + "cbc:PayableAmount/@currencyID") == ["SEK"]
    # UBL forbids empty elements: the delivery address has no Line2, so no AdditionalStreetName.
    assert text(address + "cbc:AdditionalStreetName") == []
    assert not root.xpath("//*[not(node()) and not(@*)]")


def test_a_private_buyer_has_no_company_elements_and_the_shops_endpoint() -> None:
    root = etree.fromstring((HERE / "order_1002.peppol_order.xml").read_bytes())
    party = root.xpath("cac:BuyerCustomerParty/cac:Party", namespaces=NS)[0]
    # A consumer has no PEPPOL identifier: the shop's own endpoint (settings) stands in.
    assert party.xpath("cbc:EndpointID/@schemeID", namespaces=NS) == ["0007"]
    assert party.xpath("cbc:EndpointID/text()", namespaces=NS) == ["5560000001"]
    assert party.xpath("cac:PartyIdentification", namespaces=NS) == []
    assert party.xpath("cac:PartyName/cbc:Name/text()", namespaces=NS) == ["Łukasz Nyström"]


# -- the rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "decimals", "separator", "text"),
    [
        (Decimal("79.2"), None, ",", "79,2"),
        (Decimal("79.20"), None, ".", "79.20"),
        (Decimal("1E+3"), None, ".", "1000"),
        (Decimal("0.005"), 2, ",", "0,01"),  # half up, not to even
        (Decimal("-0.001"), 2, ".", "0.00"),  # never "-0.00"
        (Decimal("2"), 2, ",", "2,00"),
        (Decimal("12345678901234.5678"), None, ",", "12345678901234,5678"),
    ],
)
def test_decimals_are_written_exactly(
    value: Decimal, decimals: int | None, separator: str, text: str
) -> None:
    assert decimal_text(value, decimals, separator) == text


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(schemas_dir=tmp_path, stores={"erp": LocalStoreSettings(root=tmp_path)})


def _policy(tmp_path: Path, settings: Settings, policy: str) -> Layout:
    text = CSV.replace('decimal = ","', f'decimal = ","\nunencodable = "{policy}"')
    text = text.replace('"SellTo.Company.Code"', '"SellTo.Person.LastName"')
    return layout_from(text, tmp_path, settings)


def _order(last_name: str) -> OrderRequest:
    return OrderRequest.model_validate(
        {"ClientOrderRef": "7", "SellTo": {"Person": {"LastName": last_name}}}
    )


def test_hold_policy_reports_the_field_and_the_character(
    tmp_path: Path, settings: Settings
) -> None:
    prepared = prepare(_policy(tmp_path, settings, "hold"), _order("Wałęsa"))
    assert prepared.unfit == (
        "'Buyer' (SellTo.Person.LastName) has 'ł' (U+0142 LATIN SMALL LETTER L WITH STROKE), "
        "'ę' (U+0119 LATIN SMALL LETTER E WITH OGONEK), which cp1252 cannot hold",
    )
    with pytest.raises(ValueError, match="cannot hold: 7"):
        render(_policy(tmp_path, settings, "hold"), [prepared])


def test_transliterate_policy_folds_what_it_can_and_holds_the_rest(
    tmp_path: Path, settings: Settings
) -> None:
    layout = _policy(tmp_path, settings, "transliterate")
    folded = prepare(layout, _order("Wałęsa Erdős ﬁn"))
    assert folded.unfit == ()
    assert folded.rows[0].cells[1] == "Walesa Erdos fin"
    # The log names the characters, never the whole value (a name is personal data).
    assert folded.changed == ("'Buyer' (SellTo.Person.LastName): 'ęłőﬁ' written as the "
                              "encoding allows",)  # fmt: skip
    # Swedish letters are in Windows-1252: never touched.
    assert prepare(layout, _order("Åström")).rows[0].cells[1] == "Åström"
    emoji = prepare(layout, _order("Berg 🎉"))
    assert emoji.unfit and "U+1F389" in emoji.unfit[0]


def test_replace_policy_replaces_what_has_no_near_equivalent(
    tmp_path: Path, settings: Settings
) -> None:
    layout = _policy(tmp_path, settings, "replace")
    prepared = prepare(layout, _order("Łukasz 🎉"))
    assert prepared.unfit == ()
    assert prepared.rows[0].cells[1] == "Lukasz ?"
    assert render(layout, [prepared]) == "H;7;Lukasz ?\r\n".encode("cp1252")


def test_xml_holds_control_characters_whatever_the_encoding(
    tmp_path: Path, settings: Settings
) -> None:
    layout = layout_from(XML, tmp_path, settings)
    order = OrderRequest.model_validate({"ClientOrderRef": "A\x01B"})
    prepared = prepare(layout, order)
    assert prepared.unfit == ("'cbc:ID' (ClientOrderRef) has a control character "
                              "(U+0001 unnamed character), which XML cannot hold",)  # fmt: skip


def test_xml_repeats_and_literal_attributes(tmp_path: Path, settings: Settings) -> None:
    layout = layout_from(XML, tmp_path, settings)
    order = OrderRequest.model_validate(
        {"ClientOrderRef": "9", "Items": [{"PartNo": "A"}, {"PartNo": "B"}]}
    )
    root = etree.fromstring(render_orders(layout, [order]))
    ns = {"o": "urn:example:order", "cbc": "urn:example:basic"}
    assert root.xpath("o:Line/cbc:PartNo/text()", namespaces=ns) == ["A", "B"]
    # cbc:Qty would only carry the literal unit: it is not written at all.
    assert root.xpath("//cbc:Qty", namespaces=ns) == []


def test_an_xml_batch_wraps_its_orders(tmp_path: Path, settings: Settings) -> None:
    text = XML.replace('per = "order"', 'per = "batch"')
    text = text.replace('"ORDER_{ref}.xml"', '"ORDERS_{first}.xml"')
    text = text.replace('root = "Order"', 'root = "Order"\nbatch_root = "Orders"')
    layout = layout_from(text, tmp_path, settings)
    orders = [OrderRequest.model_validate({"ClientOrderRef": r}) for r in ("1", "2")]
    root = etree.fromstring(render_orders(layout, orders))
    ns = {"o": "urn:example:order", "cbc": "urn:example:basic"}
    assert etree.QName(root).localname == "Orders"
    assert root.xpath("o:Order/cbc:ID/text()", namespaces=ns) == ["1", "2"]


def test_a_file_needs_an_order() -> None:
    with pytest.raises(ValueError, match="at least one order"):
        render(shipped("erp_csv"), [])
