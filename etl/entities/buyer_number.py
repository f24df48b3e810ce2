"""The ERP's numbers for a buyer born on a web order -> `Code` on the Norce records.

A B2B buyer who orders before the ERP knows them exists in Norce without an ERP number
(`Code`): the order went to the ERP with the buyer's details, the ERP created its own
customer, and now answers with the new numbers, in a column of its acknowledgement file
(a contract with `from_feed = "order_status"`) or in a mapping file of its own. Each row
is one document: the web order's number and the numbers the ERP gave its buyer, the
company, the person, or both.

The Norce records are found by the keys the reference documents for an update without a
Code (sections 7 and 8): the company by `OrganizationNo`, which the ERP's answer must
carry, the person by `EmailAddress`, taken from the row or else from the order as it was
received. How they are checked and sent is etl.to_norce.documents.party_codes; the numbers never go to
a record that already has another one, and a number another record holds is refused.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from etl.entities.base import EntityOptions
from etl.entities.checks import code
from etl.entities.document import (
    Body,
    Document,
    DocumentEntity,
    Problem,
    client_order_ref,
    drop_nulls,
)
from etl.entities.party import PartyOptions
from etl.entities.party_checks import EMAIL

SCHEMA = pa.DataFrameSchema(
    {
        "client_order_ref": client_order_ref(nullable=False),
        "erp_order_no": pa.Column(pl.String, code(), nullable=True),
        "company_code": pa.Column(pl.String, code(), nullable=True),
        "organization_no": pa.Column(pl.String, [pa.Check.str_length(1, 50)], nullable=True),
        "customer_code": pa.Column(pl.String, code(), nullable=True),
        "email": pa.Column(pl.String, [EMAIL], nullable=True),
    },
    strict=False,
    name="buyer_number",
)

FIELDS = ("client_order_ref", "erp_order_no", "company_code", "organization_no",
          "customer_code", "email")  # fmt: skip


def check(document: Document, options: EntityOptions) -> list[Problem]:
    """A row must give a number, and a company number needs the key that finds the company."""
    head = document.head
    if head.get("company_code") is None and head.get("customer_code") is None:
        return [
            Problem(
                "customer_code",
                "required",
                "neither a company number nor a customer number: nothing to write back",
            )
        ]
    if head.get("company_code") is not None and head.get("organization_no") is None:
        return [
            Problem(
                "organization_no",
                "required",
                f"company number {head['company_code']} comes without the organisation "
                "number, which is how Norce finds a company that has no number yet",
            )
        ]
    return []


def build_body(document: Document, options: EntityOptions) -> Body:
    """What the write-back needs: the order, and per party its new Code and its match key."""
    head = document.head
    company = drop_nulls(
        {"Code": head.get("company_code"), "OrganizationNo": head.get("organization_no")}
    )
    customer = drop_nulls({"Code": head.get("customer_code"), "EmailAddress": head.get("email")})
    return drop_nulls(
        {
            "ClientOrderRef": document.client_order_ref,
            "ErpOrderNo": head.get("erp_order_no"),
            "Company": company if "Code" in company else None,
            "Customer": customer if "Code" in customer else None,
        }
    )


BUYER_NUMBER = DocumentEntity(
    name="buyer_number",
    schema=SCHEMA,
    key=("client_order_ref",),
    options_model=PartyOptions,
    labels={
        "client_order_ref": "The web order the buyer placed first (Norce ClientOrderRef)",
        "erp_order_no": "The ERP's order number (only shown in reports)",
        "company_code": "The ERP's new number for the buyer's company (Norce company Code)",
        "organization_no": "The company's organisation number, how Norce finds the company",
        "customer_code": "The ERP's new number for the person (Norce customer Code)",
        "email": "The person's e-mail address in Norce; by default the one on the order",
    },
    method="Customer/ImportCompanies+ImportCustomers",
    head_fields=FIELDS,
    build_body=build_body,
    check=check,
    via="party_codes",
    personal=frozenset(),  # about people: reports show the failing cell, never the raw line
)
