"""The `OrderRequest` Norce pushes (reference section 11), as pydantic models.

Field names follow the Connect contract; they are matched without regard to case, because
the wire casing is not documented ([I] in the reference) and a receiver that refuses an
order over `clientOrderRef` vs `ClientOrderRef` loses a customer. Unknown fields are kept
(`extra="allow"`): the spool holds the body exactly as received anyway, and a layout may
name a field this model does not know yet.

Norce's .NET serializer writes `null` for an empty list or object and may send a number
where the contract has text (reference, "Corrections" 1). `Wire` reads that the way it was
meant, once for every model: null in a field that cannot be null is "not sent" (its default:
an empty list, `False`), a null entry in a list carries nothing and is dropped, and a number
where text is expected is its exact text (3 -> "3"; JSON decimals arrive as `Decimal`, so
5566.10 -> "5566.10"). Numeric text for a number and "true"/"false" for a bool are read by
pydantic's lax mode; a date may also come as WCF writes it, `/Date(1763647500000+0100)/`
(ISO 8601 with .NET's seven decimals is cut to six by pydantic). A bool where text is
expected is not read: "True", "true" or "1" would be a guess.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import types
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Union, get_args, get_origin

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_pascal

NORCE_REF_LENGTH = 50  # ClientOrderRef, "max 50" in the Connect contract
REF_LIMIT = 1000  # longer than any reference a person could still act on
MAX_DIGITS = 100  # no number in an order comes near; Python's int() stops at 4300


def in_proportion(value: Decimal) -> Decimal:
    """A decimal no longer than MAX_DIGITS digits written out: `1E999999999` is eleven
    characters of text and a billion digits in a file, a sum or a comparison."""
    if value and abs(value.adjusted()) > MAX_DIGITS:
        raise ValueError(f"a number of more than {MAX_DIGITS} digits written out")
    return value


def _numbers(*fields: str) -> Any:
    """The validator of a model's decimal fields: each in proportion (None is not sent)."""

    def check(value: Decimal | None) -> Decimal | None:
        return None if value is None else in_proportion(value)

    return field_validator(*fields)(staticmethod(check))


class Wire(BaseModel):
    """Base: PascalCase on the wire, any casing, unknown fields kept, read as Norce writes it."""

    model_config = ConfigDict(
        alias_generator=to_pascal,
        populate_by_name=True,
        extra="allow",
        frozen=True,
        coerce_numbers_to_str=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _as_norce_writes_it(cls, data: Any) -> Any:
        """Known keys renamed to their alias whatever their case; nulls read as not sent."""
        if not isinstance(data, dict):
            return data
        fields = wire_fields(cls)
        read: dict[Any, Any] = {}
        for key, value in data.items():
            field = fields.get(str(key).lower())
            if field is None:
                read[key] = value
            elif value is None and field.has_default and not field.nullable:
                continue  # the default stands for "not sent": an empty list, False
            elif field.is_list and isinstance(value, list):
                read[field.alias] = [entry for entry in value if entry is not None]
            elif field.is_datetime:
                read[field.alias] = _wcf_date(value)
            else:
                read[field.alias] = value
        return read


@dataclass(frozen=True)
class WireField:
    """One spelling of a model field pydantic accepts, and what null means for the field."""

    alias: str
    nullable: bool
    has_default: bool
    is_list: bool
    is_datetime: bool


@functools.cache
def wire_fields(model: type[BaseModel]) -> dict[str, WireField]:
    """Every accepted spelling of the model's fields, lower-cased, to the field."""
    known: dict[str, WireField] = {}
    for name, info in model.model_fields.items():
        args = get_args(info.annotation) if _is_union(info.annotation) else ()
        inner = [a for a in args if a is not type(None)] or [info.annotation]
        nullable = type(None) in args or info.annotation is Any
        is_list = any(get_origin(a) is list for a in inner)
        is_datetime = dt.datetime in inner
        for alias in _aliases(name, info.alias, info.validation_alias):
            known[alias.lower()] = WireField(
                alias, nullable, not info.is_required(), is_list, is_datetime
            )
    return known


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _aliases(name: str, alias: str | None, validation: object) -> list[str]:
    found = [name, alias or to_pascal(name)]
    if isinstance(validation, AliasChoices):
        found += [c for c in validation.choices if isinstance(c, str)]
    return found


_WCF_DATE = re.compile(r"/Date\((-?\d{1,15})(?:[+-]\d{4})?\)/")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _wcf_date(value: Any) -> Any:
    """WCF's JSON date `/Date(1763647500000+0100)/`: milliseconds since 1970 UTC; the zone
    after them only says where the writer was, so the instant is the milliseconds."""
    found = _WCF_DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None:
        return value
    try:
        return _EPOCH + dt.timedelta(milliseconds=int(found[1]))
    except OverflowError:
        return value  # past year 9999: pydantic says it is no date


class CodeValue(Wire):
    """An AdditionalInfo entry: read `Code2`, the reference warns `Code` is mis-mapped."""

    code2: str | None = None
    code: str | None = None
    value: str | None = None

    @property
    def name(self) -> str | None:
        """The info's code: `Code2`, falling back to the obsolete `Code` only when empty."""
        return self.code2 or self.code


class Address(Wire):
    line1: str | None = None
    line2: str | None = None
    box: str | None = None
    zip_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    care_of: str | None = None
    shipping_phone_number: str | None = None
    gln: str | None = None


class Company(Wire):
    code: str | None = None
    name: str | None = None
    vat_no: str | None = None


class Person(Wire):
    customer_code: str | None = None
    company_code: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    private_phone: str | None = None
    cell_phone: str | None = None
    work_phone: str | None = None
    email: str | None = None
    ssn: str | None = Field(default=None, alias="SSN")
    address: Address | None = None
    additional_info: list[CodeValue] = Field(default_factory=list)


class ClientCustomer(Wire):
    company: Company | None = None
    person: Person | None = None


class Promotion(Wire):
    """A promotion applied to one line: `AppliedAmount` is already inside the line's price."""

    id: int | None = None
    name: str | None = None
    discount_code: str | None = None
    applied_amount: Decimal | None = None
    _in_proportion = _numbers("applied_amount")


class OrderItem(Wire):
    line_no: int | None = None
    parent_line_no: int | None = None
    type: str | int | None = None
    type_group: str | int | None = None
    part_no: str | None = None
    erp_part_no: str | None = None
    manufacturer_code: str | None = None
    description: str | None = None
    quantity: Decimal | None = None
    quantity2: Decimal | None = None
    unit_of_measure: str | None = None
    unit_price: Decimal | None = None
    unit_price_original: Decimal | None = None
    discount: Decimal | None = None
    unit_vat: Decimal | None = None
    vat_rate: Decimal | None = None
    price_list_no: str | None = None
    comment: str | None = None
    promotions: list[Promotion] = Field(default_factory=list)
    additional_info: list[CodeValue] = Field(default_factory=list)
    _in_proportion = _numbers(
        "quantity",
        "quantity2",
        "unit_price",
        "unit_price_original",
        "discount",
        "unit_vat",
        "vat_rate",
    )

    @property
    def is_fee(self) -> bool:
        """Freight, invoice fees and the like: TypeGroup Fee/AddedFee, or a fee Type."""
        group = str(self.type_group or "").lower()
        kind = str(self.type or "").lower()
        return group in {"fee", "addedfee", "3", "5"} or kind in {"freight", "invoice"}


class Payment(Wire):
    payment_code: int | None = None
    payment_method_code: str | None = None
    payment_ref: str | None = None
    amount: Decimal | None = None
    currency_code: str | None = None
    payment_name: str | None = None
    additional_info: list[CodeValue] = Field(default_factory=list)
    _in_proportion = _numbers("amount")


class Fee(Wire):
    type: str | int | None = None
    description: str | None = None
    amount: Decimal | None = None
    vat_rate: Decimal | None = None
    _in_proportion = _numbers("amount", "vat_rate")


class Discount(Wire):
    """An order-level discount not on any line (a voucher, an order discount): it lowers the
    order's total, so an ERP that is not told about it invoices too much."""

    type: str | int | None = None
    code: str | None = None
    amount: Decimal | None = None
    _in_proportion = _numbers("amount")


class ShippingAdvice(Wire):
    delivery_method_code: str | None = None
    do_sms_notify: bool | None = Field(default=None, alias="DoSMSNotify")
    is_fee_charged_once: bool | None = None
    is_complete: bool | None = None


class Header(Wire):
    application_key: str | None = None


class OrderRequest(Wire):
    """One order as Norce sends it; `ClientOrderRef` identifies it across retries."""

    # A ref over NORCE_REF_LENGTH is held (etl.to_erp.orders.bodies), not refused. Past REF_LIMIT it
    # is no basket id Norce makes, and would fill every log line it is named in.
    client_order_ref: str = Field(min_length=1, max_length=REF_LIMIT)
    header: Header | None = None
    sell_to: ClientCustomer | None = None
    bill_to: ClientCustomer | None = None
    ship_to: ClientCustomer | None = None
    sales_contact_code: str | None = None
    do_hold: bool = False
    erp_order_no: str | None = None
    customer_order_ref: str | None = None
    customer_order_comment: str | None = None
    customer_invoice_ref: str | None = None
    submit_date: dt.datetime | None = None
    currency_code: str | None = None
    refer_id: int | None = None
    payments: list[Payment] = Field(default_factory=list)
    items: list[OrderItem] = Field(default_factory=list)
    fees: list[Fee] = Field(default_factory=list)
    discounts: list[Discount] = Field(default_factory=list)
    additional_info: list[CodeValue] = Field(default_factory=list)
    shipping_advice: ShippingAdvice | None = None
    order_type: int | None = None
    source: str | None = None
    discount_code: str | None = None

    @field_validator("client_order_ref", mode="before")
    @classmethod
    def _ref_as_text(cls, value: Any) -> Any:
        # Documented as a string; Query and SendOrderStatus treat it as an int. Accept both,
        # but not a bool (True is an int to Python, and no order is called "True").
        if isinstance(value, bool):
            return value
        return str(value).strip() if isinstance(value, int | str) else value

    def info(self, code: str) -> str | None:
        """The order's AdditionalInfo value for `code` (matched on Code2)."""
        for entry in self.additional_info:
            if entry.name == code:
                return entry.value
        return None
