"""A Norce Query order -> the OrderRequest JSON body Norce would have pushed for it.

Polled orders go through the same inbound as pushed ones (`OrderInbound.accept`), so they
are checked, spooled, held and exported alike. The body carries only what describes the
order as placed, never StatusId or Updated: those move after the order is taken in.

Mapping, Query 2.0 `Orders/Orders?$expand=Items,Buyer,Payer,ShipTo,Infos` -> OrderRequest
(reference sections 11 and 16; [C] documented, [I] inferred, to verify on a playground):

| OrderRequest                | Query order                                                 |     |
|-----------------------------|-------------------------------------------------------------|-----|
| ClientOrderRef              | QuotationId as text; OrderNo when QuotationId is null       | [I] |
| ErpOrderNo                  | OrderNo, only when it differs from QuotationId (set by ERP) | [I] |
| SubmitDate                  | OrderDate                                                   | [C] |
| CurrencyCode                | Code of CurrencyId in Core/Currencies                       | [I] |
| OrderType                   | OrderTypeId ("the order type identifier", name not shown)   | [I] |
| Source                      | Source                                                      | [C] |
| CustomerOrderRef            | DeliveryMark (copied from CustomerOrderReference)           | [C] |
| CustomerInvoiceRef          | InvoiceMark (copied from CustomerInvoiceReference)          | [C] |
| SellTo / BillTo             | Buyer* / Payer* CompanyCode and CustomerCode [C], plus the  |     |
|                             | expanded Buyer / Payer, Query's Address: Name, Attention,   | [C] |
|                             | Line1, EmailAddress, PhoneNumber (reference corrections 5); |     |
|                             | Person.LastName <- Attention or Name, Company.Name <- Name  | [I] |
|                             | when an Attention is beside it                              |     |
| ShipTo                      | expanded ShipTo; without it the order's Delivery* fields    | [I] |
| ShippingAdvice.DeliveryMethodCode | DeliveryMode (code from the DeliveryMethod setting)   | [C] |
| Payments[0].PaymentMethodCode | PaymentTerms (code from the PaymentMethod setting); no    | [C] |
|                             | amount: Query orders carry no order total (S21)             |     |
| Fees                        | OrderFee > 0 as one invoice fee (Type 1)                    | [I] |
| AdditionalInfo              | Infos: Id <- TypeId, Code2 <- Type.Code if expanded, Value  | [I] |
| Items (by LineNumber)       | LineNo <- LineNumber, ParentLineNo <- ParentLineNumber,     | [C] |
|                             | PartNo, ErpPartNo <- ExternalPartNo or PartNo,              |     |
|                             | Description <- ProductName, Quantity <- QtyOrdered,         |     |
|                             | UnitPriceOriginal <- PriceSale, Discount <- DiscountAmount, |     |
|                             | UnitPrice <- LineAmount / QtyOrdered (ex VAT, discounted),  | [I] |
|                             | VatRate as given (percent or multiplier: reference unsure)  | [I] |
| NorceOrderId (extra field)  | Id, to trace the file back to Norce                         |     |
| DoHold                      | not in Query: false                                         |     |

An order whose buyer Norce forgot (`IsForgotten` true, [C] reference section 16) has its
address rows scrambled [I]: it is taken in with every personal field left out rather than
held, because the ERP still needs the order itself (items, amounts, the buyer's codes) and
must never get the scrambled values. SellTo and BillTo keep only CustomerCode and the
company Code, ShipTo only its country; CustomerOrderRef, CustomerInvoiceRef (free text the
buyer wrote) and AdditionalInfo are left out; `IsForgotten: true` is added for a person
reading the spool (the order model does not name it yet).

Freight is not added as a fee: Query's FreightCost is "the same as the lineamount on the
freight order item" [C], so the freight line is already among the Items.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

_CENTS = Decimal("0.0001")
# The buyer's name on a forgotten consumer's order: Peppol requires a registration name.
FORGOTTEN_NAME = "Anonymized customer"


@dataclass(frozen=True)
class CodeTables:
    """Id -> code lookups Query orders refer to by id."""

    currencies: Mapping[int, str] = field(default_factory=dict)
    countries: Mapping[int, str] = field(default_factory=dict)


def client_order_ref(order: Mapping[str, Any]) -> str | None:
    """The ClientOrderRef a Query order stands for (QuotationId, else OrderNo)."""
    for key in ("QuotationId", "OrderNo"):
        value = order.get(key)
        if isinstance(value, int | str) and str(value).strip():
            return str(value).strip()
    return None


def order_body(order: Mapping[str, Any], codes: CodeTables) -> bytes:
    """The OrderRequest JSON for one Query order, the same bytes every time it is read."""
    return json.dumps(_compact(order_request(order, codes)), ensure_ascii=False).encode()


def is_forgotten(order: Mapping[str, Any]) -> bool:
    """Whether Norce forgot (anonymized) the order's buyer: Query's `IsForgotten` [C]."""
    return order.get("IsForgotten") is True


def order_request(order: Mapping[str, Any], codes: CodeTables) -> dict[str, Any]:
    """The OrderRequest fields for one Query order (None where Query has nothing)."""
    body = _as_placed(order, codes)
    return _without_personal(body) if is_forgotten(order) else body


def _without_personal(body: dict[str, Any]) -> dict[str, Any]:
    """A forgotten buyer's order: codes and goods, no value the anonymization scrambled.

    A company is not a person: its name, GLN and purchase-order references (DeliveryMark,
    InvoiceMark) stay. A consumer's order gets FORGOTTEN_NAME, since Peppol requires the
    buyer's registration name, and loses the references (free text that may name them).
    """
    company = bool(body["SellTo"]["Company"]["Code"] or body["SellTo"]["Company"]["Name"])

    def codes_of(party: dict[str, Any]) -> dict[str, Any]:
        person: dict[str, Any] = {"CustomerCode": party["Person"]["CustomerCode"]}
        if company:  # the company's GLN, its Peppol identifier: not the person's
            person["Address"] = {"Gln": party["Person"]["Address"]["Gln"]}
        else:
            person["LastName"] = FORGOTTEN_NAME
        return {"Company": {"Code": party["Company"]["Code"], "Name": party["Company"]["Name"]},
                "Person": person}  # fmt: skip

    country = body["ShipTo"]["Person"]["Address"]["Country"]
    refs = ("CustomerOrderRef", "CustomerInvoiceRef")
    return body | {
        **({} if company else dict.fromkeys(refs)),
        "SellTo": codes_of(body["SellTo"]),
        "BillTo": codes_of(body["BillTo"]),
        "ShipTo": {"Person": {"Address": {"Country": country}}},
        "AdditionalInfo": [],
        "IsForgotten": True,
    }


def _as_placed(order: Mapping[str, Any], codes: CodeTables) -> dict[str, Any]:
    ref = client_order_ref(order)
    order_no = _text(order.get("OrderNo"))
    return {
        "ClientOrderRef": ref,
        "ErpOrderNo": order_no if order_no and order_no != ref else None,
        "SubmitDate": _text(order.get("OrderDate")),
        "CurrencyCode": _code(codes.currencies, order.get("CurrencyId")),
        "OrderType": _whole(_decimal(order.get("OrderTypeId"))),
        "Source": _text(order.get("Source")),
        "CustomerOrderRef": _text(order.get("DeliveryMark")),
        "CustomerInvoiceRef": _text(order.get("InvoiceMark")),
        "SellTo": _party(order, "Buyer", codes),
        "BillTo": _party(order, "Payer", codes),
        "ShipTo": _ship_to(order, codes),
        "ShippingAdvice": {"DeliveryMethodCode": _text(order.get("DeliveryMode"))},
        "Payments": [{"PaymentMethodCode": _text(order.get("PaymentTerms"))}],
        "Fees": _fees(order),
        "AdditionalInfo": [_info(i) for i in _rows(order.get("Infos"))],
        "Items": [_item(i) for i in sorted(_rows(order.get("Items")), key=_line_number)],
        "NorceOrderId": order.get("Id"),
    }


def _party(order: Mapping[str, Any], role: str, codes: CodeTables) -> dict[str, Any]:
    """SellTo (role Buyer) or BillTo (role Payer): codes from the order, the rest expanded."""
    who = _mapping(order.get(role))
    person = _person(who, codes)
    person["CustomerCode"] = _text(order.get(f"{role}CustomerCode"))
    company = {"Code": _text(order.get(f"{role}CompanyCode")), "Name": _company_name(who)}
    return {"Company": company, "Person": person}


def _ship_to(order: Mapping[str, Any], codes: CodeTables) -> dict[str, Any]:
    who = _mapping(order.get("ShipTo"))
    if who:
        return {"Company": {"Name": _company_name(who)}, "Person": _person(who, codes)}
    # [I] Not expanded or absent: the order's own Delivery* fields, as on DeliveryNote.
    address = {
        "Line1": _text(order.get("DeliveryAddressLine1")),
        "Line2": _text(order.get("DeliveryAddressLine2")),
        "CareOf": _text(order.get("DeliveryCareOf")),
        "ZipCode": _text(order.get("DeliveryZipCode")),
        "City": _text(order.get("DeliveryCity")),
        "Region": _text(order.get("DeliveryRegion")),
        "Country": _code(codes.countries, order.get("DeliveryCountryId")),
    }
    name = _text(order.get("DeliveryAttention")) or _text(order.get("DeliveryName"))
    return {"Person": {"LastName": name, "Address": address}}


def _company_name(who: Mapping[str, Any]) -> str | None:
    """[I] Beside an Attention (the person), Name is the company's; alone it is the person's."""
    return _text(who.get("Name")) if _text(who.get("Attention")) else None


def _person(who: Mapping[str, Any], codes: CodeTables) -> dict[str, Any]:
    """[C] Query 2.0 order addresses: Name, Attention, Line1, EmailAddress, PhoneNumber.

    [I] Query keeps one name, not first and last: the person's (Attention, else Name) goes
    whole into LastName, as the order's own Delivery* fallback does.
    """
    return {
        "LastName": _text(who.get("Attention")) or _text(who.get("Name")),
        "Email": _text(who.get("EmailAddress")),
        "PrivatePhone": _text(who.get("PhoneNumber")),
        "Address": {
            "Line1": _text(who.get("Line1")),
            "Line2": _text(who.get("Line2")),
            "CareOf": _text(who.get("CareOf")),
            "ZipCode": _text(who.get("ZipCode")),
            "City": _text(who.get("City")),
            "Region": _text(who.get("Region")),
            "Country": _code(codes.countries, who.get("CountryId")),
            "ShippingPhoneNumber": _text(who.get("ShippingPhoneNumber")),
            "Gln": _text(who.get("Gln")),
        },
    }


def _item(item: Mapping[str, Any]) -> dict[str, Any]:
    quantity = _decimal(item.get("QtyOrdered"))
    line_amount = _decimal(item.get("LineAmount"))
    unit_price = _decimal(item.get("PriceSale"))
    if quantity and line_amount is not None:
        unit_price = (line_amount / quantity).quantize(_CENTS)
    part_no = _text(item.get("PartNo"))
    return {
        "LineNo": _whole(_decimal(item.get("LineNumber"))),
        "ParentLineNo": _whole(_decimal(item.get("ParentLineNumber"))),
        "PartNo": part_no,
        "ErpPartNo": _text(item.get("ExternalPartNo")) or part_no,
        "Description": _text(item.get("ProductName")),
        "Quantity": _number(quantity),
        "UnitPrice": _number(unit_price),
        "UnitPriceOriginal": _number(_decimal(item.get("PriceSale"))),
        "Discount": _number(_decimal(item.get("DiscountAmount"))),
        "VatRate": _number(_decimal(item.get("VatRate"))),
    }


def _fees(order: Mapping[str, Any]) -> list[dict[str, Any]]:
    fee = _decimal(order.get("OrderFee"))
    if not fee or fee <= 0:
        return []
    return [{"Type": 1, "Description": "OrderFee", "Amount": _number(fee)}]


def _info(info: Mapping[str, Any]) -> dict[str, Any]:
    kind = _mapping(info.get("Type"))
    return {
        "Id": info.get("TypeId"),
        "Code2": _text(kind.get("Code")),
        "Value": _text(info.get("Value")),
    }


def _line_number(item: Mapping[str, Any]) -> Decimal:
    return _decimal(item.get("LineNumber")) or Decimal(0)


def _rows(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None


def _code(table: Mapping[int, str], key: Any) -> str | None:
    return table.get(key) if isinstance(key, int) else None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        # Through str: Decimal(0.1) would carry the float's binary noise into the file.
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _whole(value: Decimal | None) -> int | None:
    """An integer field (line numbers, the order type): None rather than a refused order."""
    number = _number(value)
    return number if isinstance(number, int) else None


def _number(value: Decimal | None) -> int | float | None:
    """A JSON number: an int when whole (quantities, line numbers), else a float."""
    if value is None or not value.is_finite():
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _compact(value: Any) -> Any:
    """Drop None, and objects or lists left empty by that, so absent means absent."""
    if isinstance(value, dict):
        kept = {k: _compact(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        items = [_compact(v) for v in value]
        return [v for v in items if v not in (None, {}, [])]
    return value
