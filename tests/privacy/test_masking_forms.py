"""A person's values as the files we wrote hold them: an order's header, folded letters, quotes."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from etl.privacy.masking import Masker, Person
from etl.privacy.rewrite import text_lines, xml_file

HEDVIG = Person(
    anchors=frozenset({"hedvig@example.se"}),
    strong=frozenset({"hedvig@example.se"}),
    weak=frozenset({"Hedvig", "Lindqvist", "Łukasz Żak", 'Bo "Boss" Berg', "Limhamn"}),
    orders=frozenset({"8101"}),
)
IN_ORDERS = Masker(HEDVIG, in_orders=True)


def test_an_order_document_s_own_elements_are_one_record_beside_its_lines(
    tmp_path: Path,
) -> None:
    """The buyer's party is no repeated element: the document's header is hers."""
    lines = "".join(
        f"<OrderLine><ID>{n}</ID><Note>for Limhamn</Note></OrderLine>" for n in range(1, 4)
    )
    path = tmp_path / "ORDER_8101.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Order xmlns="urn:x"><ID>8101</ID><Buyer>'
        '<Name lang="sv">Hedvig Lindqvist</Name><City><!-- c -->Limhamn</City>'
        f'<Mail>hedvig@example.se</Mail><Ref by="Hedvig"/></Buyer>{lines}</Order>',
        encoding="utf-8",
    )

    assert xml_file(path, IN_ORDERS, True) == 5

    root = etree.parse(str(path)).getroot()  # still a document
    text = etree.tostring(root, encoding="unicode")
    assert '<Name lang="sv">[erased] [erased]</Name>' in text
    assert "<!-- c -->[erased]</City>" in text and 'by="[erased]"' in text
    assert text.count("<Note>for Limhamn</Note>") == 3  # the lines hold no anchor of hers


def test_her_values_as_a_windows_1252_layout_folds_them_and_csv_quotes_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ORDERS.csv"
    rows = [
        'H;8101;hedvig@example.se;Hedvig;"Bo ""Boss"" Berg";Lukasz Zak',
        'H;8102;tora@example.se;Tora;"Bo ""Boss"" Berg";Lukasz Zak',
    ]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1252"))

    assert text_lines(path, IN_ORDERS, True) == 4

    first, second = path.read_bytes().decode("cp1252").splitlines()
    assert first == 'H;8101;[erased];[erased];"[erased]";[erased]'
    assert second == rows[1]


def test_the_seller_s_party_in_an_order_is_the_shop_s_not_the_buyer_s(tmp_path: Path) -> None:
    """A UBL order's supplier party is the shop (a company): its city stays, though hers."""
    path = tmp_path / "ORDER_8101.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Order xmlns:cac="urn:cac" xmlns:cbc="urn:cbc">'
        "<cbc:ID>8101</cbc:ID><cac:BuyerCustomerParty><cac:Party><cbc:ElectronicMail>"
        "hedvig@example.se</cbc:ElectronicMail><cbc:CityName>Limhamn</cbc:CityName></cac:Party>"
        "</cac:BuyerCustomerParty><cac:SellerSupplierParty><cac:Party><cbc:Name>Hedvig AB"
        "</cbc:Name><cbc:CityName>Limhamn</cbc:CityName></cac:Party></cac:SellerSupplierParty>"
        "<cac:AccountingSupplierParty><cbc:CityName>Limhamn</cbc:CityName>"
        "</cac:AccountingSupplierParty></Order>",
        encoding="utf-8",
    )

    assert xml_file(path, IN_ORDERS, True) == 2

    text = path.read_text(encoding="utf-8")
    assert "<cbc:ElectronicMail>[erased]</cbc:ElectronicMail><cbc:CityName>[erased]" in text
    assert text.count("<cbc:CityName>Limhamn</cbc:CityName>") == 2
    assert "<cbc:Name>Hedvig AB</cbc:Name>" in text  # a company's name, not hers
