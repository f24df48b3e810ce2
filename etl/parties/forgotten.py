"""A customer Norce anonymized (forgot) told apart from a change, and the marker the ERP gets.

Norce's customer-integration guidance warns that its GDPR features scramble customer data;
the change event that follows looks like any other, and the record read from Query holds
the scrambled values. Written to the ERP, they would overwrite the real customer's data.

How one is known (checked on docs.norce.io, 2026-12-06):
- [C] Query's orders carry `IsForgotten` (reference section 16; see etl.orders.from_query).
- [I] Query's customers: no forgotten flag is documented (Query 2.0 customer schemas, Query
  3.0 ClientCustomer, Connect's Customer contract). A record that has `IsForgotten: true`
  anyway is taken at its word.
- [I] The scrambled shape is not documented either, so a conservative detector, set per
  layout under `[forgotten]`: the record is forgotten when its e-mail is on one of
  `email_domains`, or when at least two of first name, last name and the e-mail's local part
  are filled and every one of them matches `placeholder` in full (default: a run of x, * or
  -, a word such as "anonymized", or a random token such as a GUID). One field alone never
  decides: a person may be called Xx.
Companies are not people: only the flag counts for them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from etl.orders.layout_spec import ForgottenSpec

# What a marker keeps: who the record is and nothing about the person (Query's names).
_KEPT = {
    "customer": ("Id", "CustomerCode", "CustomerCodePrefix"),
    "company": ("Id", "CompanyCode", "CompanyCodePrefix"),
}


def forgotten_by(kind: str, record: Mapping[str, Any], spec: ForgottenSpec) -> str | None:
    """What shows the party was forgotten in Norce ("flag", "e-mail domain", "scrambled")."""
    if _flag(record):
        return "flag"
    if kind != "customer":
        return None
    email = _text(record, "EmailAddress")
    local, _, domain = email.rpartition("@") if "@" in email else (email, "", "")
    if domain and domain.lower() in {d.lower() for d in spec.email_domains}:
        return "e-mail domain"
    values = [v for v in (_text(record, "FirstName"), _text(record, "LastName"), local) if v]
    placeholder = re.compile(spec.placeholder)
    if len(values) >= 2 and all(placeholder.fullmatch(v) for v in values):
        return "scrambled"
    return None


def marker(kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The record reduced to its Norce Id and Code, flagged: no personal value, no relation."""
    kept = {k: v for k, v in record.items() if k in _KEPT[kind]}
    return kept | {"IsForgotten": True, "Addresses": [], "Companies": []}


def _flag(record: Mapping[str, Any]) -> bool:
    by_name = {str(k).lower(): v for k, v in record.items()}
    return by_name.get("isforgotten") is True


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    return value.strip() if isinstance(value, str) else ""
