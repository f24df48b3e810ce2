"""The `OrderRequest` Norce pushes (reference section 11), as pydantic models.

Field names follow the Connect contract; they are matched without regard to case, because
the wire casing is not documented ([I] in the reference) and a receiver that refuses an
order over `clientOrderRef` vs `ClientOrderRef` loses a customer. Unknown fields are kept
(`extra="allow"`): the spool holds the body exactly as received anyway, and a layout may
name a field this model does not know yet.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_pascal


class Wire(BaseModel):
    """Base: PascalCase on the wire, any casing accepted, unknown fields kept."""

    model_config = ConfigDict(
        alias_generator=to_pascal, populate_by_name=True, extra="allow", frozen=True
    )

    @model_validator(mode="before")
    @classmethod
    def _any_casing(cls, data: Any) -> Any:
        """Rename keys that differ from a known alias only in case to that alias."""
        if not isinstance(data, dict):
            return data
        known: dict[str, str] = {}
        for name, info in cls.model_fields.items():
            for alias in _aliases(name, info.alias, info.validation_alias):
                known[alias.lower()] = alias
        return {known.get(str(k).lower(), k): v for k, v in data.items()}


def _aliases(name: str, alias: str | None, validation: object) -> list[str]:
    found = [name, alias or to_pascal(name)]
    if isinstance(validation, AliasChoices):
        found += [c for c in validation.choices if isinstance(c, str)]
    return found


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


class Fee(Wire):
    type: str | int | None = None
    description: str | None = None
    amount: Decimal | None = None
    vat_rate: Decimal | None = None


class Discount(Wire):
    """An order-level discount not on any line (a voucher, an order discount): it lowers the
    order's total, so an ERP that is not told about it invoices too much."""

    type: str | int | None = None
    code: str | None = None
    amount: Decimal | None = None


class ShippingAdvice(Wire):
    delivery_method_code: str | None = None
    do_sms_notify: bool | None = Field(default=None, alias="DoSMSNotify")
    is_fee_charged_once: bool | None = None
    is_complete: bool | None = None


class Header(Wire):
    application_key: str | None = None


class OrderRequest(Wire):
    """One order as Norce sends it; `ClientOrderRef` identifies it across retries."""

    client_order_ref: str = Field(min_length=1, max_length=50)
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
        # Documented as a string; Query and SendOrderStatus treat it as an int. Accept both.
        return str(value).strip() if isinstance(value, int | str) else value

    def info(self, code: str) -> str | None:
        """The order's AdditionalInfo value for `code` (matched on Code2)."""
        for entry in self.additional_info:
            if entry.name == code:
                return entry.value
        return None
