"""Company (B2B buyer) -> Norce `Customer/ImportCompanies`, the ERP customer number as `Code`.

Insert needs Code, Name and OrganizationNo (reference section 8), so those are required.
The organisation number is checked by the country of the invoice address where a checksum
exists (SE, NO, DK, FI). A company's agreement price list goes as `PriceLists`; Norce
refuses a list it does not know, so a contract usually references the prices feed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandera.polars as pa
import polars as pl

from etl.entities.base import Entity
from etl.entities.checks import code
from etl.entities.party import ADDRESS_COLUMNS, ADDRESS_LABELS, PartyImport, PartyOptions
from etl.entities.party_checks import EMAIL, org_number
from etl.entities.payloads import ACTIVE_FLAG, ACTIVE_LABEL, Item

SCHEMA = pa.DataFrameSchema(
    {
        "code": pa.Column(pl.String, code(), nullable=False),
        "name": pa.Column(pl.String, [pa.Check.str_length(1, 255)], nullable=False),
        "organization_no": pa.Column(
            pl.String, [pa.Check.str_length(1, 50), org_number("country")], nullable=False
        ),
        "vat_no": pa.Column(pl.String, [pa.Check.str_length(1, 50)], nullable=True),
        "email": pa.Column(pl.String, [EMAIL], nullable=True),
        "phone": pa.Column(pl.String, [pa.Check.str_length(1, 50)], nullable=True),
        "parent_company_code": pa.Column(pl.String, code(), nullable=True),
        "price_list_code": pa.Column(pl.String, code(), nullable=True),
        **ADDRESS_COLUMNS,
        **ACTIVE_FLAG,
    },
    strict=False,
    name="company",
)


def _price_lists(row: Mapping[str, Any]) -> Item:
    # The ERP names the company's one agreement list; emptied in a change, it clears the relation.
    code_ = row.get("price_list_code")
    return {"PriceLists": [{"Code": code_, "IsExclusive": False}] if code_ else []}


IMPORT = PartyImport(
    method="Customer/ImportCompanies",
    fields_header="CompanyFieldsThatAreSet",
    scalars={
        "organization_no": ("OrganizationNo", 3),
        "name": ("Name", 4),
        "email": ("EmailAddress", 5),
        "phone": ("PhoneNumber", 6),
        "parent_company_code": ("ParentCompanyCode", 8),
        "vat_no": ("VatNo", 21),
    },
    nested={"price_list_code": (19, _price_lists)},
    code=2,
    is_active=9,
    invoice_address=10,
    search_only_by_code=20,
)


COMPANY = Entity(
    name="company",
    schema=SCHEMA,
    key=("code",),
    options_model=PartyOptions,
    build_calls=IMPORT.build,
    labels={
        "code": "Company number in the ERP (Norce Code)",
        "name": "Company name",
        "organization_no": "Organisation number",
        "vat_no": "VAT number",
        "email": "Company e-mail address",
        "phone": "Company phone number",
        "parent_company_code": "Parent company's number in the ERP",
        "price_list_code": "Agreement price list code",
        **ADDRESS_LABELS,
        **ACTIVE_LABEL,
    },
    personal=frozenset(),  # contact details of a company: no raw lines in reports
)
