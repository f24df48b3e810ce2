"""XML paths real documents need: the row number of a repeat, an element chosen by a
predicate, and the contract's character set honoured (or refused when expat cannot use it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.errors import ConfigError
from etl.models import LINE
from etl.read.formats import read_file
from tests.fixtures.feeds import check, contract_from

POSITIONS = """
[feed]
entity = "price"
[format]
type = "xml"
record = "Catalogue/Product"
repeat = "Prices/Price"
[columns]
"@no" = "part_no"
"Prices/Price/@list" = "price_list_code"
"Prices/Price/position()" = "quantity_break"
"Prices/Price/@currency" = "currency"
"Prices/Price" = "price_sale"
"position()" = "price_recommended"
"""

CATALOGUE = """<?xml version="1.0"?>
<Catalogue>
  <Product no="A1">
    <Prices><Price list="L" currency="SEK">10</Price><Price list="L" currency="SEK">9</Price></Prices>
  </Product>
  <Product no="B2">
    <Prices><Price list="L" currency="SEK">5</Price></Prices>
  </Product>
</Catalogue>
"""


def test_position_numbers_the_repeats_of_a_record_and_the_records_of_a_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "catalogue.xml"
    path.write_text(CATALOGUE, encoding="utf-8")
    contract = contract_from(POSITIONS, tmp_path)

    parsed = read_file(path, contract, tmp_path / "scratch")

    rows = parsed.frame.select("@no", "Prices/Price/position()", "position()", LINE).rows()
    assert rows == [("A1", "1", "1", 4), ("A1", "2", "1", 4), ("B2", "1", "2", 7)]


@pytest.mark.parametrize(
    ("column", "problem"),
    [
        ("Prices/position()", "position() is read of the record or of format.repeat"),
        ("Cost/position()", "position() is read of the record or of format.repeat"),
        ("Prices/Price[last()]/@list", "is not a usable path"),
        ("Prices/Price[contains(@list,'L')]/@list", "is not a usable path"),
        ("count(Prices/Price)", "is not a usable path"),
    ],
)
def test_other_xpath_is_refused_when_the_contract_loads(
    tmp_path: Path, column: str, problem: str
) -> None:
    text = POSITIONS.replace('"position()" = "price_recommended"', f'"{column}" = "cost_purchase"')

    with pytest.raises(ConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        contract_from(text, tmp_path)


DISPATCH = """
[feed]
entity = "delivery_note"
[format]
type = "xml"
record = "DISPATCH"
repeat = "ITEMS/ITEM"
[columns]
"ID" = "note_no"
"ORDER" = "order_no"
"DATE" = "delivery_date"
"PARTIES/PARTY[PARTY_ROLE='delivery']/ADDRESS/NAME" = "delivery_name"
"PARTIES/PARTY[PARTY_ROLE='delivery']/ADDRESS/CITY" = "city"
"PARTIES/PARTY[@kind='carrier']/ADDRESS/NAME" = "delivery_mode"
"ITEMS/ITEM/position()" = "row_no"
"ITEMS/ITEM/PID" = "item_no"
"ITEMS/ITEM/QTY" = "qty"
"""


def dispatch(parties: str) -> str:
    return f"""<?xml version="1.0"?>
<DISPATCH><ID>DN-1</ID><ORDER>SO-1</ORDER><DATE>2026-11-20</DATE>
<PARTIES>{parties}</PARTIES>
<ITEMS><ITEM><PID>100123</PID><QTY>2</QTY></ITEM></ITEMS>
</DISPATCH>
"""


SUPPLIER = "<PARTY><PARTY_ROLE>supplier</PARTY_ROLE><ADDRESS><NAME>Acme AB</NAME><CITY>Lund</CITY></ADDRESS></PARTY>"
DELIVERY = "<PARTY><PARTY_ROLE>delivery</PARTY_ROLE><ADDRESS><NAME>Anna</NAME><CITY>Umeå</CITY></ADDRESS></PARTY>"
# The role after the address, and a party with two roles: the predicate holds when any does.
ROLE_LAST = (
    "<PARTY><ADDRESS><NAME>Anna</NAME><CITY>Umeå</CITY></ADDRESS>"
    "<PARTY_ROLE>buyer</PARTY_ROLE><PARTY_ROLE>delivery</PARTY_ROLE></PARTY>"
)
CARRIER = '<PARTY kind="carrier"><ADDRESS><NAME>PostNord</NAME></ADDRESS></PARTY>'
NOT_CARRIER = '<PARTY kind="insurer"><ADDRESS><NAME>Trygg</NAME></ADDRESS></PARTY>'


@pytest.mark.parametrize(
    "parties",
    [SUPPLIER + DELIVERY + CARRIER, NOT_CARRIER + SUPPLIER + ROLE_LAST + CARRIER],
    ids=["role-first", "role-last-two-roles"],
)
def test_the_delivery_party_is_chosen_by_its_role_never_the_supplier(
    tmp_path: Path, parties: str
) -> None:
    path = tmp_path / "dispatch.xml"
    path.write_text(dispatch(parties), encoding="utf-8")

    validated = check(path, contract_from(DISPATCH, tmp_path), tmp_path / "scratch")

    assert validated.rejections.height == 0
    row = validated.valid.row(0, named=True)
    assert (row["delivery_name"], row["city"], row["delivery_mode"], row["row_no"]) == (
        "Anna",
        "Umeå",
        "PostNord",
        1,
    )


def test_no_party_in_the_role_leaves_the_fields_empty(tmp_path: Path) -> None:
    path = tmp_path / "dispatch.xml"
    path.write_text(dispatch(SUPPLIER + NOT_CARRIER), encoding="utf-8")

    validated = check(path, contract_from(DISPATCH, tmp_path), tmp_path / "scratch")

    row = validated.valid.row(0, named=True)
    assert (row["delivery_name"], row["city"], row["delivery_mode"]) == (None, None, None)


def test_a_predicate_cannot_choose_the_repeat_element(tmp_path: Path) -> None:
    text = DISPATCH.replace('"ITEMS/ITEM/PID"', "\"ITEMS/ITEM[@kind='x']/PID\"")

    with pytest.raises(ConfigError, match="a predicate cannot choose 'ITEMS/ITEM'"):
        contract_from(text, tmp_path)


CUSTOMERS_XML = """
[feed]
entity = "delivery_note"
[format]
type = "xml"
{encoding}
record = "DISPATCH"
repeat = "ITEMS/ITEM"
[columns]
"ID" = "note_no"
"ORDER" = "order_no"
"DATE" = "delivery_date"
"NAME" = "delivery_name"
"ITEMS/ITEM/NO" = "row_no"
"ITEMS/ITEM/PID" = "item_no"
"ITEMS/ITEM/QTY" = "qty"
"""
DOCUMENT = (
    "<DISPATCH><ID>DN-1</ID><ORDER>SO-1</ORDER><DATE>2026-11-20</DATE><NAME>Günther €</NAME>"
    "<ITEMS><ITEM><NO>1</NO><PID>1</PID><QTY>1</QTY></ITEM></ITEMS></DISPATCH>"
)


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        # an ERP that writes UTF-8 under a Latin-1 declaration
        ("utf-8", ('<?xml version="1.0" encoding="ISO-8859-1"?>' + DOCUMENT).encode()),
        # an ERP that writes Windows-1252 and declares nothing (XML would read UTF-8)
        ("cp1252", ('<?xml version="1.0"?>' + DOCUMENT).encode("cp1252")),
    ],
)
def test_the_contracts_encoding_is_what_the_file_is_read_in(
    tmp_path: Path, encoding: str, data: bytes
) -> None:
    path = tmp_path / "dispatch.xml"
    path.write_bytes(data)
    contract = contract_from(CUSTOMERS_XML.format(encoding=f'encoding = "{encoding}"'), tmp_path)

    validated = check(path, contract, tmp_path / "scratch")

    assert validated.valid["delivery_name"].to_list() == ["Günther €"]


def test_without_an_encoding_in_the_contract_the_declaration_decides(tmp_path: Path) -> None:
    path = tmp_path / "dispatch.xml"
    path.write_bytes(('<?xml version="1.0" encoding="windows-1252"?>' + DOCUMENT).encode("cp1252"))
    contract = contract_from(CUSTOMERS_XML.format(encoding=""), tmp_path)

    validated = check(path, contract, tmp_path / "scratch")

    assert validated.valid["delivery_name"].to_list() == ["Günther €"]


def test_an_encoding_the_xml_reader_cannot_use_is_refused_when_the_contract_loads(
    tmp_path: Path,
) -> None:
    text = CUSTOMERS_XML.format(encoding='encoding = "shift_jis"')

    with pytest.raises(ConfigError) as caught:
        contract_from(text, tmp_path, "dispatch_sjis")

    message = str(caught.value)
    assert "dispatch_sjis.toml" in message and "format.encoding" in message
    assert "'shift_jis'" in message and "UTF-8" in message
