"""The Order service of Norce Connect for the stand-in: status, delivery notes, invoices, credits.

Plugs into `NorceStandin.extensions` and answers `POST .../Order/SendOrderStatus`,
`Order/CreateDeliveryNote`, `Order/CreateInvoice` and `Order/CreditPayment` (reference
sections 12-14). Bodies are checked against the reference, strictly: every field name as
the C# contract spells it and nothing else, its JSON type (ClientOrderRef an int, dates as
`YYYY-MM-DDTHH:MM:SS`, Quantity an int), the required fields (on invoices and credits both
order numbers and a Payment naming its PaymentCode or PaymentRef), no nulls (our builders
drop them), OrderStatus one of the 21 names. A body that breaks the contract is a 400 saying
why.

State: the orders Norce knows (tests add them), each with its ERP number and status, and the
invoices and credits by InvoiceNo. Like Norce:
- an unknown order is refused, 400 {"Message": "Order not found (...)"} [I: the wording real
  Norce uses is to be checked on a playground tenant; etl.norce.order_calls reads it as
  "waiting"];
- a second invoice with a number already used is refused ("already exists");
- a credit must name an invoice Norce has;
- an invoice captures its Payment.Amount, which must equal its items (stand-in strictness:
  it proves our amounts add up), and after an invoice with IsLastInvoiceForOrder the
  order's payment is closed.

With a QueryStandin attached, accepted invoices and credits appear in Query's
`Orders/Invoices`, and added orders and their statuses in `Orders/Orders`, so the in-doubt
lookups read what this service holds.

    orders = OrderStandin(norce, query=QueryStandin(norce, application_id=1042))
    orders.add_order(1234567)
    norce.slow_next(1, seconds=3, path="Order/CreateInvoice")   # processed, answer too late
    ... orders.calls, orders.invoices, orders.captures, orders.order(1234567).status
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tests.support.norce.answers import Answer
from tests.support.norce.app import NorceStandin
from tests.support.norce.connect import CONNECT_PATH
from tests.support.norce.query import QueryStandin, query_order

Json = dict[str, Any]
ORDER_STATUSES = (
    "Created", "Allocation", "Confirmed", "BackOrder", "Delivered", "Invoiced", "Cancelled",
    "CreditControl", "PartlyDelivered", "Acknowledged", "ErpConfirmed", "ReadyForPickup",
    "PickedUp", "NotPickedUp", "OnHold", "WaitingForCancel", "WaitingForOnHoldRemoved",
    "CancelError", "AcknowledgementError", "ReadyForReservation", "Reserved",
)  # fmt: skip
PACKAGE_STATUSES = (4, 6, 11, 12, 20)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


class BodyError(Exception):
    """The body breaks the documented contract; answered 400."""


# ---------------------------------------------------------------- the contract, as tables

Kind = Callable[[Any], bool]


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _when(v: Any) -> bool:
    return isinstance(v, str) and bool(_DATETIME.match(v))


@dataclass(frozen=True)
class Shape:
    """An object's fields (name -> type check or nested shape) and which are required."""

    fields: Mapping[str, Kind | Shape | tuple[Shape]]
    required: frozenset[str] = frozenset()


CODE_VALUE = Shape({"Id": _int, "Code": _str, "Code2": _str, "Value": _str})
ADDRESS = Shape({k: _str for k in ("Line1", "Line2", "Box", "ZipCode", "City", "Region",
                                   "Country", "CareOf", "ShippingPhoneNumber", "Gln")})  # fmt: skip
STATUS = Shape(
    {"ClientOrderRef": _int, "ErpOrderNo": _str, "OrderStatus": _str, "AccountId": _int,
     "Infos": (Shape({"Code": _str, "Value": _str}),),
     "ItemStatuses": (Shape({"LineNo": _str, "ItemStatus": _str}),)},
    frozenset({"OrderStatus"}),
)  # fmt: skip
DELIVERY_NOTE = Shape(
    {"OrderNo": _str, "NoteNo": _str, "DeliveryDate": _when, "BuyerCompanyCode": _str,
     "BuyerCustomerCode": _str, "DeliveryAddress": ADDRESS, "DeliveryName": _str,
     "DeliveryAttention": _str, "DeliveryMode": _str, "NoteText": _str, "DivisionCode": _str,
     "StatusId": _int,
     "DeliveryNoteItems": (Shape({"RowNumber": _num, "ItemNo": _str, "Description": _str,
                                  "Qty": _num, "Comment": _str}, frozenset({"ItemNo", "Qty"})),),
     "DeliveryNotePackages": (Shape({"ParcelNumber": _str, "StatusId": _int},
                                    frozenset({"ParcelNumber"})),)},
    frozenset({"OrderNo", "NoteNo", "DeliveryDate"}),
)  # fmt: skip
PAYMENT = Shape(
    {"PaymentCode": _int, "PaymentRef": _str, "PaymentMethodCode": _str, "Amount": _num,
     "CurrencyCode": _str, "PaymentName": _str, "AdditionalInfo": (CODE_VALUE,)}
)  # fmt: skip
INVOICE_ITEM = Shape(
    {"PartNo": _str, "Quantity": _int, "UnitPrice": _num, "LineNo": _int, "Description": _str,
     "ProductName": _str, "UnitVat": _num, "VatRate": _num, "PriceList": _str},
    frozenset({"PartNo", "Quantity", "UnitPrice"}),
)  # fmt: skip
_INVOICE_FIELDS: Mapping[str, Kind | Shape | tuple[Shape]] = {
    "InvoiceNo": _str, "ClientOrderRef": _int, "ErpOrderNo": _str, "InvoiceDate": _when,
    "InvoiceDueDate": _when, "DeliveryDate": _when, "CurrencyCode": _str, "Vat": _num,
    "InvoiceRoundOff": _num, "TotalAmount": _num, "VatRoundOff": _num,
    "IsLastInvoiceForOrder": _bool, "CreditedInvoiceNo": _str, "GroupCode": _str,
    "Payment": PAYMENT, "PaymentMethodCode": _str, "PaymentMethodName": _str,
    "SuppressPspCall": _bool, "CountryCode": _str, "CultureCode": _str, "Name": _str,
    "Attention": _str, "CareOf": _str, "AddressLine1": _str, "AddressLine2": _str,
    "ZipCode": _str, "City": _str, "Region": _str, "Country": _str, "Gln": _str,
    "ApplicationKey": _str, "Comment": _str, "Items": (INVOICE_ITEM,),
}  # fmt: skip
# The docs' Invoice schema marks ClientOrderRef, ErpOrderNo, CurrencyCode and InvoiceDate
# required (reference, corrections 4); Payment is what CreateInvoice captures and
# CreditPayment refunds [I: required here, since neither can act without it].
_INVOICE_REQUIRED = frozenset({"InvoiceNo", "ClientOrderRef", "ErpOrderNo", "CurrencyCode",
                               "InvoiceDate", "Payment", "Items"})  # fmt: skip
INVOICE = Shape(_INVOICE_FIELDS, _INVOICE_REQUIRED)
CREDIT = Shape(_INVOICE_FIELDS, _INVOICE_REQUIRED | {"CreditedInvoiceNo"})
SHAPES = {
    "Order/SendOrderStatus": STATUS,
    "Order/CreateDeliveryNote": DELIVERY_NOTE,
    "Order/CreateInvoice": INVOICE,
    "Order/CreditPayment": CREDIT,
}


def check_shape(value: Any, shape: Shape, where: str) -> None:
    """BodyError for the first field that breaks `shape`."""
    if not isinstance(value, dict):
        raise BodyError(f"{where or 'body'} must be a JSON object")
    unknown = sorted(set(value) - set(shape.fields))
    if unknown:
        raise BodyError(f"{where or 'body'} has fields the contract does not define: {unknown}")
    missing = sorted(name for name in shape.required if name not in value)
    if missing:
        raise BodyError(f"{where or 'body'} needs {missing}")
    for name, inner in value.items():
        at = f"{where}.{name}" if where else name
        if inner is None:
            raise BodyError(f"null at {at}: drop the key instead")
        kind = shape.fields[name]
        if isinstance(kind, Shape):
            check_shape(inner, kind, at)
        elif isinstance(kind, tuple):
            if not isinstance(inner, list):
                raise BodyError(f"{at} must be an array")
            for n, item in enumerate(inner):
                check_shape(item, kind[0], f"{at}[{n}]")
        elif not kind(inner):
            raise BodyError(f"{at} has the wrong type for the contract: {inner!r}")


def check_payment(body: Json) -> None:
    """BodyError unless the Payment names one of the order's payments.

    "Either PaymentCode or PaymentRef must be provided" (docs, Payment). PaymentCode is a
    non-nullable int in C#, so a body without it arrives as 0 [C]; 0 counts as not provided [I].
    """
    payment = body["Payment"]
    if not payment.get("PaymentCode") and not payment.get("PaymentRef"):
        raise BodyError("Payment: Either PaymentCode or PaymentRef must be provided")


# ---------------------------------------------------------------- what Norce would hold


@dataclass
class Order:
    """An order as Norce holds it."""

    client_order_ref: int
    erp_order_no: str | None = None
    status: str = "Created"
    payment_closed: bool = False


@dataclass
class OrderCallRecord:
    """One accepted Order service call, as received."""

    method: str
    body: Json


@dataclass
class OrderStandin:
    """The Order service's behaviour and records, plugged into a NorceStandin."""

    standin: NorceStandin
    query: QueryStandin | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _orders: dict[int, Order] = field(default_factory=dict)
    _invoices: dict[str, Json] = field(default_factory=dict)
    _credits: dict[str, Json] = field(default_factory=dict)
    _notes: list[Json] = field(default_factory=list)
    _calls: list[OrderCallRecord] = field(default_factory=list)
    _captures: list[tuple[str, Decimal]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # every 400 message, in order

    def __post_init__(self) -> None:
        self.standin.extensions.append(self.handle)

    # -- what tests do and read

    def add_order(self, client_order_ref: int, erp_order_no: str | None = None) -> None:
        """Make an order known to Norce (and to Query, when attached)."""
        with self._lock:
            self._orders[client_order_ref] = Order(client_order_ref, erp_order_no)
        if self.query is not None:
            self.query.add_order(query_order(client_order_ref, updated="2026-11-20T08:00:00Z"))

    def order(self, client_order_ref: int) -> Order:
        """A copy of one order's state."""
        with self._lock:
            return copy.deepcopy(self._orders[client_order_ref])

    @property
    def calls(self) -> list[OrderCallRecord]:
        """Accepted calls, in arrival order."""
        with self._lock:
            return copy.deepcopy(self._calls)

    @property
    def invoices(self) -> dict[str, Json]:
        """Invoices by InvoiceNo."""
        with self._lock:
            return copy.deepcopy(self._invoices)

    @property
    def credits(self) -> dict[str, Json]:
        """Credits by InvoiceNo."""
        with self._lock:
            return copy.deepcopy(self._credits)

    @property
    def delivery_notes(self) -> list[Json]:
        """Delivery notes in arrival order (Norce keeps a second one with the same number)."""
        with self._lock:
            return copy.deepcopy(self._notes)

    @property
    def captures(self) -> list[tuple[str, Decimal]]:
        """(InvoiceNo, amount) of every payment capture, in order."""
        with self._lock:
            return list(self._captures)

    # -- serving (called by the stand-in under its lock)

    def handle(
        self,
        verb: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer | None:
        """Answer the four Order service methods; None for every other path."""
        method = path.removeprefix(CONNECT_PATH + "/")
        if method not in SHAPES or not path.startswith(CONNECT_PATH + "/"):
            return None
        if verb != "POST":
            return Answer(405, {"Message": f"{method} takes POST"})
        if not self.standin.authorized(headers):
            return Answer(401, {"Message": "missing or invalid bearer token"},
                          {"WWW-Authenticate": "Bearer"})  # fmt: skip
        try:
            if not headers.get("content-type", "").startswith("application/json"):
                raise BodyError("Content-Type must be application/json")
            try:
                parsed = json.loads(body)
            except ValueError as exc:
                raise BodyError(f"body is not JSON: {exc}") from exc
            check_shape(parsed, SHAPES[method], "")
            if method in ("Order/CreateInvoice", "Order/CreditPayment"):
                check_payment(parsed)
            with self._lock:
                self._apply(method, parsed)
                self._calls.append(OrderCallRecord(method, copy.deepcopy(parsed)))
        except BodyError as exc:
            with self._lock:
                self.refusals.append(str(exc))
            return Answer(400, {"Message": str(exc)})
        return Answer(200, None) if method == "Order/SendOrderStatus" else Answer(200, {})

    def _apply(self, method: str, body: Json) -> None:
        if method == "Order/SendOrderStatus":
            self._status(body)
        elif method == "Order/CreateDeliveryNote":
            self._find(None, body["OrderNo"], f"OrderNo {body['OrderNo']}", by_ref_text=True)
            self._notes.append(copy.deepcopy(body))
        elif method == "Order/CreateInvoice":
            self._invoice(body)
        else:
            self._credit(body)

    def _find(
        self, ref: int | None, erp: str | None, said: str, *, by_ref_text: bool = False
    ) -> Order:
        if ref is not None and ref in self._orders:
            return self._orders[ref]
        for order in self._orders.values():
            if erp is not None and (
                order.erp_order_no == erp or (by_ref_text and str(order.client_order_ref) == erp)
            ):
                return order
        raise BodyError(f"Order not found ({said})")

    def _status(self, body: Json) -> None:
        if body["OrderStatus"] not in ORDER_STATUSES:
            raise BodyError(f"OrderStatus {body['OrderStatus']!r} is not an OrderStatus value")
        ref, erp = body.get("ClientOrderRef"), body.get("ErpOrderNo")
        if ref is None and erp is None:
            raise BodyError("Either ClientOrderRef or ErpOrderNo must be provided")
        order = self._find(ref, erp, f"ClientOrderRef {ref}" if ref else f"ErpOrderNo {erp}")
        if erp is not None:
            order.erp_order_no = erp
        order.status = body["OrderStatus"]
        if self.query is not None:
            self.query.update_order(
                500_000 + order.client_order_ref, StatusId=ORDER_STATUSES.index(order.status)
            )

    def _invoice(self, body: Json) -> None:
        ref = body["ClientOrderRef"]
        order = self._find(ref, body["ErpOrderNo"], f"ClientOrderRef {ref}")
        self._unique(body["InvoiceNo"])
        if order.payment_closed:
            raise BodyError(
                f"the payment of order {order.client_order_ref} was closed by its last invoice"
            )
        amount = self._checked_amount(body)
        self._invoices[body["InvoiceNo"]] = copy.deepcopy(body)
        self._captures.append((body["InvoiceNo"], amount))
        # Null counts as true in Norce; our builders always send it.
        order.payment_closed = body.get("IsLastInvoiceForOrder", True)
        self._to_query(body, order)

    def _credit(self, body: Json) -> None:
        order = self._find(
            body["ClientOrderRef"], body["ErpOrderNo"], f"ClientOrderRef {body['ClientOrderRef']}"
        )
        if body["CreditedInvoiceNo"] not in self._invoices:
            raise BodyError(f"CreditedInvoiceNo {body['CreditedInvoiceNo']} not found")
        self._unique(body["InvoiceNo"])
        self._checked_amount(body)
        self._credits[body["InvoiceNo"]] = copy.deepcopy(body)
        self._to_query(body, order)

    def _unique(self, number: str) -> None:
        if number in self._invoices or number in self._credits:
            raise BodyError(f"InvoiceNo {number} already exists")

    def _checked_amount(self, body: Json) -> Decimal:
        def dec(value: Any) -> Decimal:
            return Decimal(str(value))

        items = sum(
            (dec(i["Quantity"]) * (dec(i["UnitPrice"]) + dec(i.get("UnitVat", 0))))
            for i in body["Items"]
        )
        expected = items + dec(body.get("InvoiceRoundOff", 0))
        paid = body.get("Payment", {}).get("Amount")
        if paid is None or dec(paid) != expected:
            raise BodyError(f"Payment.Amount {paid} does not match the items ({expected})")
        vat = sum(dec(i["Quantity"]) * dec(i.get("UnitVat", 0)) for i in body["Items"])
        if "Vat" in body and dec(body["Vat"]) != vat:
            raise BodyError(f"Vat {body['Vat']} does not match the items ({vat})")
        return expected

    def _to_query(self, body: Json, order: Order) -> None:
        if self.query is not None:
            self.query.add_invoice(
                {"Id": len(self._invoices) + len(self._credits), "InvoiceNo": body["InvoiceNo"],
                 "ReferenceOrderId": 500_000 + order.client_order_ref,
                 "Amount": body["Payment"]["Amount"]}
            )  # fmt: skip
