"""A customer and a company as Norce Commerce Query returns them, as pydantic models.

A party layout (`[layout] subject = "customer"` or `"company"`) names its values in these
models' words, checked when the layout is loaded, as an order layout names OrderRequest
fields. The words are Query 2.0's, not Connect's [C docs /api-reference/schemas/querycustomers,
reference corrections 2]: `CustomerCode` (+ `CustomerCodePrefix`), `CompanyCode`,
`OrganizationNo`, `VatNo`, `EmailAddress`, `ParentCompanyId`, `IsActive` on companies;
addresses are rows of their own (`CustomerAddress`: TypeId, CareOf, AddressLine1, AddressLine2,
ZipCode, City, Region, CountryId). [I] a customer's FirstName, PhoneNumber, IsActive ... (Query
3.0's names), TypeId 1 for the invoice address and 2 for delivery, and `Addresses` as the
navigation property that brings them.

Ours, not Query's: `as_read` gives each address its ISO `CountryCode` from Core/Countries and
picks `InvoiceAddress` (TypeId 1, else the first) and `DeliveryAddresses` (TypeId 2), and a
company its `ParentCompanyCode`, so a layout names an address as before.
Any casing is accepted and unknown properties are kept (the `Wire` base of the orders).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from etl.to_erp.orders.model import Wire

INVOICE, DELIVERY = 1, 2  # [I] address TypeId


class PartyAddress(Wire):
    """A customer's or company's address row; `CountryCode` is ours (see `as_read`)."""

    id: int | None = None
    type_id: int | None = None
    care_of: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    zip_code: str | None = None
    city: str | None = None
    region: str | None = None
    country_id: int | None = None
    country_code: str | None = None


class CompanyLink(Wire):
    """One of a customer's companies; [I] Query may give its Id only, not its Code."""

    id: int | None = None
    code: str | None = None
    organization_no: str | None = None
    is_primary: bool | None = None


class Customer(Wire):
    """A person (Query `Customer`): `CustomerCode` is the ERP's number, empty until written back."""

    id: int
    customer_code: str | None = None
    customer_code_prefix: str | None = None
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
    # Ours when Norce forgot the customer (etl.to_erp.parties.forgotten), or Query's flag where a
    # tenant has one [I]: Query documents `IsForgotten` on orders only.
    is_forgotten: bool | None = None
    addresses: list[PartyAddress] = Field(default_factory=list)
    invoice_address: PartyAddress | None = None
    delivery_addresses: list[PartyAddress] = Field(default_factory=list)
    companies: list[CompanyLink] = Field(default_factory=list)
    created: dt.datetime | None = None
    updated: dt.datetime | None = None


class Company(Wire):
    """A company (Query `Company`): `CompanyCode` is the ERP's number, empty until written back."""

    id: int
    company_code: str | None = None
    company_code_prefix: str | None = None
    name: str | None = None
    organization_no: str | None = None
    vat_no: str | None = None
    email_address: str | None = None
    phone_number: str | None = None
    parent_company_id: int | None = None
    parent_company_code: str | None = None
    is_active: bool | None = None
    is_forgotten: bool | None = None  # see Customer.is_forgotten
    addresses: list[PartyAddress] = Field(default_factory=list)
    invoice_address: PartyAddress | None = None
    delivery_addresses: list[PartyAddress] = Field(default_factory=list)
    created: dt.datetime | None = None
    updated: dt.datetime | None = None


def as_read(record: Mapping[str, Any], countries: Mapping[int, str]) -> dict[str, Any]:
    """A Query record with each address's ISO `CountryCode` and the invoice/delivery split."""
    rows = record.get("Addresses")
    addresses = [
        {**a, "CountryCode": countries.get(a["CountryId"]) if isinstance(a.get("CountryId"), int)
         else None}
        for a in (rows if isinstance(rows, list) else [])
        if isinstance(a, Mapping)
    ]  # fmt: skip
    typed = [a for a in addresses if a.get("TypeId") == INVOICE]
    invoice = next(iter(typed or addresses), None)
    delivery = [a for a in addresses if a.get("TypeId") == DELIVERY]
    return {**record, "Addresses": addresses, "InvoiceAddress": invoice,
            "DeliveryAddresses": delivery}  # fmt: skip
