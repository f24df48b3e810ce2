"""Customer or company contact -> Norce `Customer/ImportCustomers`, the ERP number as `Code`.

Insert needs Code, FirstName, LastName and EmailAddress (reference section 7), so those are
required. A row with a company code is a company contact (`Type` 2) attached to that
company as its primary one; the ERP owns the relation, so the list is sent whole
(`IsCompanyListDelta:false`). Norce refuses a company it does not know: a contract
references the companies feed so such a row is rejected here, with a message, instead.
The social security number is personal data: reports mask it. The company and the Type
are sent together, only when the company is set (see etl.entities.party).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandera.polars as pa
import polars as pl

from etl.entities.base import Entity
from etl.entities.checks import code
from etl.entities.party import ADDRESS_COLUMNS, ADDRESS_LABELS, PartyImport, PartyOptions
from etl.entities.party_checks import EMAIL
from etl.entities.payloads import ACTIVE_FLAG, ACTIVE_LABEL, Item

CUSTOMER_TYPE, CONTACT_TYPE = 1, 2

SCHEMA = pa.DataFrameSchema(
    {
        "code": pa.Column(pl.String, code(), nullable=False),
        "first_name": pa.Column(pl.String, [pa.Check.str_length(1, 100)], nullable=False),
        "last_name": pa.Column(pl.String, [pa.Check.str_length(1, 100)], nullable=False),
        "email": pa.Column(pl.String, [EMAIL], nullable=False),
        "phone": pa.Column(pl.String, [pa.Check.str_length(1, 50)], nullable=True),
        "cell_phone": pa.Column(pl.String, [pa.Check.str_length(1, 50)], nullable=True),
        "social_security_number": pa.Column(pl.String, [pa.Check.str_length(1, 20)], nullable=True),
        "company_code": pa.Column(pl.String, code(), nullable=True),
        **ADDRESS_COLUMNS,
        **ACTIVE_FLAG,
    },
    strict=False,
    name="customer",
)


def _companies(row: Mapping[str, Any]) -> Item:
    # The company decides the Type too: both go together, and only when the company is set.
    # IsCompanyListDelta false: the list is the whole truth.
    company = row.get("company_code")
    return {
        "Type": CONTACT_TYPE if company else CUSTOMER_TYPE,
        "Companies": [{"Code": company, "IsPrimary": True}] if company else [],
        "IsCompanyListDelta": False,
    }


IMPORT = PartyImport(
    method="Customer/ImportCustomers",
    fields_header="CustomerFieldsThatAreSet",
    scalars={
        "email": ("EmailAddress", 3),
        "social_security_number": ("SocialSecurityNumber", 4),
        "first_name": ("FirstName", 6),
        "last_name": ("LastName", 8),
        "phone": ("PhoneNumber", 9),
        "cell_phone": ("CellPhoneNumber", 10),
    },
    nested={"company_code": (19, _companies)},
    code=2,
    is_active=11,
    invoice_address=12,
    search_only_by_code=18,
)


CUSTOMER = Entity(
    name="customer",
    schema=SCHEMA,
    key=("code",),
    options_model=PartyOptions,
    build_calls=IMPORT.build,
    labels={
        "code": "Customer number in the ERP (Norce Code)",
        "first_name": "First name",
        "last_name": "Last name",
        "email": "E-mail address",
        "phone": "Phone number",
        "cell_phone": "Mobile phone number",
        "social_security_number": "Social security number (personal identity number)",
        "company_code": "Company number in the ERP of the company this person works for",
        **ADDRESS_LABELS,
        **ACTIVE_LABEL,
    },
    personal=frozenset({"social_security_number"}),
)
