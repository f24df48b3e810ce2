"""The shipped peppol_order layout writes valid Peppol BIS Order 3: every order fixture (and
the receiver's corpus, when present) is rendered and checked against the UBL 2.1 Order
schema and the official schematron. Files and sources: tests/fixtures/peppol/README.md."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from pydantic import ValidationError

from etl.config.settings import SellerSettings, load_settings
from etl.errors import ConfigError
from etl.to_erp.files.render import prepare, render
from etl.to_erp.orders.bodies import parse_order
from etl.to_erp.orders.model import OrderRequest
from tests.fixtures.orders import HERE, sample, shipped
from tests.support.peppol_validation import NS, fatal, xsd_errors

RECEIVED = dt.datetime(2026, 11, 22, 8, 30)


def _fixtures() -> list[Path]:
    # The corpus is written by another part of the work; globbed at collection time.
    corpus = HERE / "corpus"
    return (
        sorted(HERE.glob("*.json")) + sorted(corpus.glob("*.json")) + sorted(corpus.glob("*.xml"))
    )


def _render(order: OrderRequest) -> bytes:
    layout = shipped("peppol_order")
    return render(layout, [prepare(layout, order, received=RECEIVED)])


def _assert_valid(document: bytes, what: str) -> None:
    problems = [f"XSD {e}" for e in xsd_errors(document)]
    problems += [str(a) for a in fatal(document)]
    assert not problems, f"{what} is not valid Peppol BIS Order 3:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", _fixtures(), ids=lambda p: p.name)
def test_every_order_fixture_renders_to_valid_peppol(path: Path) -> None:
    # Every corpus body is one the receiver takes: a refusal here is a failure, not a skip.
    order = parse_order(path.read_bytes(), path.suffix.lstrip("."))
    _assert_valid(_render(order), path.name)


def _with(**changes: Any) -> OrderRequest:
    body = sample("order_1001").model_dump(by_alias=True, exclude_none=True)
    body.update(changes)
    return OrderRequest.model_validate(body)


def _texts(document: bytes, path: str) -> list[str]:
    return [str(v) for v in etree.fromstring(document).xpath(path, namespaces=NS)]


def test_an_order_without_submit_date_is_issued_on_the_day_it_was_received() -> None:
    body = sample("order_1001").model_dump(by_alias=True, exclude_none=True)
    body.pop("SubmitDate")
    document = _render(OrderRequest.model_validate(body))
    assert _texts(document, "/u:Order/cbc:IssueDate/text()") == ["2026-11-22"]
    _assert_valid(document, "an order without SubmitDate")


def test_a_line_comment_is_an_order_line_note() -> None:
    document = _render(sample("order_1001"))
    assert _texts(document, "//cac:LineItem/cbc:Note") == []
    assert _texts(document, "/u:Order/cac:OrderLine/cbc:Note/text()") == ["Rostfri"]


def test_an_item_without_description_still_has_a_name() -> None:
    body = sample("order_1001").model_dump(by_alias=True, exclude_none=True)
    body["Items"][0].pop("Description")
    document = _render(OrderRequest.model_validate(body))
    names = _texts(document, "/u:Order/cac:OrderLine/cac:LineItem/cac:Item/cbc:Name/text()")
    assert names[0] == "100123"
    _assert_valid(document, "an item without description")


def test_the_seller_comes_from_settings_with_a_postal_address() -> None:
    document = _render(sample("order_1001"))
    party = "/u:Order/cac:SellerSupplierParty/cac:Party"
    assert _texts(document, f"{party}/cbc:EndpointID/@schemeID") == ["0007"]
    assert _texts(
        document, f"{party}/cac:PostalAddress/cac:Country/cbc:IdentificationCode/text()"
    ) == ["SE"]


@pytest.mark.parametrize(
    ("sell_to", "address", "scheme", "endpoint"),
    [
        (
            {"Company": {"Name": "A", "VatNo": "SE556036079301"}},
            {"Country": "SE"},
            "0007",
            "5560360793",
        ),
        (
            {"Company": {"Name": "A", "VatNo": "NO974760673MVA"}},
            {"Country": "NO"},
            "0192",
            "974760673",
        ),
        ({"Company": {"Name": "A", "VatNo": "DK13585628"}}, {"Country": "DK"}, "0184", "13585628"),
        (
            {"Company": {"Name": "A", "VatNo": "BE0403170701"}},
            {"Country": "BE"},
            "0208",
            "0403170701",
        ),
        (
            {"Company": {"Name": "A", "VatNo": "FI02017252"}},
            {"Country": "FI"},
            "0216",
            "003702017252",
        ),
        (
            {"Company": {"Name": "A", "VatNo": "DE123456789"}},
            {"Country": "DE"},
            "9930",
            "DE123456789",
        ),
        (
            {"Company": {"Name": "A", "VatNo": "SE 556036-0793 01"}},
            {"Country": "SE"},
            "0007",
            "5560360793",
        ),
        (
            {"Company": {"Name": "A"}},
            {"Country": "SE", "Gln": "7300010000001"},
            "0088",
            "7300010000001",
        ),
    ],
)
def test_the_buyer_endpoint_scheme_follows_the_buyer_and_its_country(
    sell_to: dict[str, Any], address: dict[str, Any], scheme: str, endpoint: str
) -> None:
    bill_to = {"Person": {"FirstName": "A", "Address": {"Line1": "X 1", "City": "Y", **address}}}
    document = _render(_with(SellTo=sell_to, BillTo=bill_to))
    party = "/u:Order/cac:BuyerCustomerParty/cac:Party"
    assert _texts(document, f"{party}/cbc:EndpointID/@schemeID") == [scheme]
    assert _texts(document, f"{party}/cbc:EndpointID/text()") == [endpoint]
    _assert_valid(document, f"a buyer with {scheme}")


def test_vouchers_fees_and_promotions_are_valid_peppol() -> None:
    body = sample("order_1001").model_dump(by_alias=True, exclude_none=True)
    body["Items"][0].update(
        UnitPriceOriginal="99.00",
        Promotions=[{"Id": 7, "DiscountCode": "SUMMER", "AppliedAmount": "39.60"}],
    )
    body["Discounts"] = [{"Type": "Voucher", "Code": "SAVE150", "Amount": "150"}]
    body["Fees"] = [{"Type": 1, "Description": "Fakturaavgift", "Amount": "20", "VatRate": "25"}]
    document = _render(OrderRequest.model_validate(body))
    price = "/u:Order/cac:OrderLine[1]/cac:LineItem/cac:Price/cac:AllowanceCharge"
    assert _texts(document, f"{price}/cbc:Amount/text()") == ["19.80"]
    assert _texts(document, f"{price}/cbc:BaseAmount/text()") == ["99.00"]
    indicators = "/u:Order/cac:AllowanceCharge/cbc:ChargeIndicator/text()"
    assert _texts(document, indicators) == ["false", "true"]
    _assert_valid(document, "an order with a voucher, a fee and a promotion")


def test_the_validators_catch_what_the_old_layout_wrote() -> None:
    # Guard against a vacuous pass: the defects of the old layout are each caught.
    good = _render(sample("order_1001"))
    old = good.replace(b"<cbc:IssueDate>2026-11-20</cbc:IssueDate>", b"").replace(
        b'schemeID="0007">5566000005</cbc:EndpointID>',
        b'schemeID="9955">5560000001</cbc:EndpointID>',
        1,
    )
    assert {a.id for a in fatal(old)} >= {"PEPPOL-T01-B00104", "PEPPOL-T01-B03802"}
    assert any("IssueDate" in e for e in xsd_errors(old))


def _buyer(sell_to: dict[str, Any], country: str, gln: str | None = None) -> OrderRequest:
    address: dict[str, Any] = {"Line1": "X 1", "City": "Y", "Country": country}
    if gln is not None:
        address["Gln"] = gln
    return _with(SellTo=sell_to, BillTo={"Person": {"FirstName": "A", "Address": address}})


@pytest.mark.parametrize(
    ("sell_to", "country", "gln"),
    [
        ({"Company": {"Name": "A", "VatNo": "SE556600000001"}}, "SE", None),  # Luhn
        ({"Company": {"Name": "A", "VatNo": "NO912345687MVA"}}, "NO", None),  # mod 11
        ({"Company": {"Name": "A", "VatNo": "NO000000000MVA"}}, "NO", None),  # R041: > 0
        ({"Company": {"Name": "A", "VatNo": "DK13585627"}}, "DK", None),  # CVR mod 11
        ({"Company": {"Name": "A", "VatNo": "BE0403170702"}}, "BE", None),  # mod 97
        ({"Company": {"Name": "A", "VatNo": "FI02017256"}}, "FI", None),  # check digit
        ({"Company": {"Name": "A"}}, "SE", "7300010000002"),  # GLN mod 10
        ({"Company": {"Name": "A", "VatNo": "XI123456789"}}, "GB", None),  # no EAS scheme
        ({"Company": {"Name": "A", "VatNo": "IT12345678901"}}, "IT", None),
        # Company.Code is the ERP's customer number, never a registration number.
        ({"Company": {"Name": "A", "Code": "10023456"}}, "DK", None),
        ({"Company": {"Name": "A", "Code": "10023456"}}, "FI", None),
        ({"Company": {"Name": "A", "Code": "5560360793"}}, "SE", None),
    ],
)
def test_a_business_buyer_without_a_valid_identifier_is_held_not_given_the_shops(
    sell_to: dict[str, Any], country: str, gln: str | None
) -> None:
    layout = shipped("peppol_order")
    prepared = prepare(layout, _buyer(sell_to, country, gln), received=RECEIVED)
    assert any("PEPPOL identifier" in w for w in prepared.wrong), prepared.wrong
    with pytest.raises(ValueError, match="1001"):
        render(layout, [prepared])


def test_a_consumer_gets_the_shops_endpoint() -> None:
    document = _render(_buyer({"Person": {"FirstName": "B"}}, "SE"))
    party = "/u:Order/cac:BuyerCustomerParty/cac:Party"
    assert _texts(document, f"{party}/cbc:EndpointID/text()") == ["5560000001"]
    _assert_valid(document, "a consumer's order")


@pytest.mark.parametrize(
    ("endpoint_id", "scheme"),
    [("5560000000", "0007"), ("000000000", "0192"), ("7300010000002", "0088"), ("", "0007")],
)
def test_the_shops_own_endpoint_is_checked_at_start_up(endpoint_id: str, scheme: str) -> None:
    with pytest.raises(ValidationError, match="endpoint_id"):
        SellerSettings(endpoint_id=endpoint_id, endpoint_scheme=scheme)


def test_a_bad_seller_endpoint_is_a_configuration_error_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "etl.toml").write_text(
        '[orders.seller]\nendpoint_id = "5560000000"\nendpoint_scheme = "0007"\n'
    )
    with pytest.raises(ConfigError, match=r"orders\.seller"):
        load_settings(tmp_path / "etl.toml", {})
