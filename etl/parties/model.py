"""A customer and a company as Norce Commerce Query returns them, as pydantic models.

A party layout (`[layout] subject = "customer"` or `"company"`) names its values in these
models' words, checked when the layout is loaded, as an order layout names OrderRequest
fields. [I] Query's customer and company properties are not in the reference (section 16
names the `Customers` namespace only); these are the Connect names of sections 7 and 8,
which is also what `etl.norce.query` filters on. Verify them on a playground tenant.
Any casing is accepted and unknown properties are kept (the `Wire` base of the orders).
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from etl.orders.model import Wire


class PartyAddress(Wire):
    """An invoice or delivery address (Connect `Address`)."""

    code: str | None = None
    care_of: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    zip_code: str | None = None
    city: str | None = None
    region: str | None = None
    country_code: str | None = None
    gln: str | None = None
    shipping_phone_number: str | None = None
    is_primary: bool | None = None


class CompanyLink(Wire):
    """One of a customer's companies; [I] Query may give its Id only, not its Code."""

    id: int | None = None
    code: str | None = None
    organization_no: str | None = None
    is_primary: bool | None = None


class Customer(Wire):
    """A person (Connect `Customer`): `Code` is the ERP's number, empty until written back."""

    id: int
    code: str | None = None
    type: str | int | None = None  # 1 Customer, 2 CompanyContact (a code, as text or number)
    title: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    email_address: str | None = None
    phone_number: str | None = None
    cell_phone_number: str | None = None
    social_security_number: str | None = None
    crm_id: str | None = None
    is_active: bool | None = None
    invoice_address: PartyAddress | None = None
    delivery_addresses: list[PartyAddress] = Field(default_factory=list)
    companies: list[CompanyLink] = Field(default_factory=list)
    created: dt.datetime | None = None
    updated: dt.datetime | None = None


class Company(Wire):
    """A company (Connect `Company`): `Code` is the ERP's number, empty until written back."""

    id: int
    code: str | None = None
    name: str | None = None
    organization_no: str | None = None
    vat_no: str | None = None
    email_address: str | None = None
    phone_number: str | None = None
    parent_company_code: str | None = None
    is_active: bool | None = None
    invoice_address: PartyAddress | None = None
    delivery_addresses: list[PartyAddress] = Field(default_factory=list)
    created: dt.datetime | None = None
    updated: dt.datetime | None = None
