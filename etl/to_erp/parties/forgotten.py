"""A customer Norce anonymized (forgot) told apart from a change, and the marker the ERP gets.

Norce's customer-integration guidance warns that its GDPR features scramble customer data;
the change event that follows looks like any other, and the record read from Query holds
the scrambled values. Written to the ERP, they would overwrite the real customer's data.

How one is known (checked on docs.norce.io, 2026-12-06):
- [C] Query's orders carry `IsForgotten` (reference section 16; see etl.to_erp.orders.from_query).
- [I] Query's customers: no forgotten flag is documented (Query 2.0 customer schemas, Query
  3.0 ClientCustomer, Connect's Customer contract). A record that has `IsForgotten: true`
  anyway is taken at its word.
- [I] The scrambled shape is not documented either, so a conservative detector, set per
  layout under `[forgotten]`. A customer is forgotten when its e-mail is on one of
  `email_domains`, or when nothing that reaches a person is left (phones, personal number,
  every address line empty or a placeholder) and two independent signs agree:
  - the names: every filled name matches `placeholder` in full (default: a run of x, * or
    -, a word such as "anonymized", or a random token such as a GUID; always also a token
    behind a short prefix such as anon-<guid>, and the words user, anon, unknown). First
    and last name together are ONE sign: a person may be called Xx Xx;
  - the e-mail's local part matches `placeholder` and is not one of the names again (Xx
    with xx@example.se is one value, not two).
  Empty names with an e-mail whose local part is a random token (a GUID, 32 hex digits)
  also count: that is what is left when the names were emptied rather than scrambled.
Companies are not people: only the flag counts for them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from etl.to_erp.files.layout_spec import ForgottenSpec

# What a marker keeps: who the record is and when it changed, nothing about the person
# (Query's names).
_KEPT = {
    "customer": ("Id", "CustomerCode", "CustomerCodePrefix", "Updated"),
    "company": ("Id", "CompanyCode", "CompanyCodePrefix", "Updated"),
}
_CONTACTS = ("PhoneNumber", "CellPhoneNumber", "SocialSecurityNumber")
_ADDRESS_LINES = ("CareOf", "AddressLine1", "AddressLine2", "AddressLine3", "ZipCode", "City")
# A random token, as the whole local part of an e-mail: what a scrambler leaves, never a name.
_RANDOM = r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|[0-9a-f]{32,}"
_TOKEN = re.compile(f"(?i){_RANDOM}")
# Matched besides the layout's `placeholder`: a random token behind a short prefix
# (anon-<guid>, user_<hex>) and the words a scrambler puts where a name was.
_ALSO = re.compile(f"(?i)[a-z]{{1,16}}[-_.:]?(?:{_RANDOM})|user|anon|unknown")


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
    placeholder = re.compile(spec.placeholder)
    if any(v and not _matches(v, placeholder) for v in _reachable(record)):
        return None  # a phone, a personal number or an address is still there: a person
    names = [v for v in (_text(record, "FirstName"), _text(record, "LastName")) if v]
    named = bool(names) and all(_matches(v, placeholder) for v in names)
    own_local = local.lower() not in {n.lower() for n in names}
    mailed = bool(local) and own_local and _matches(local, placeholder)
    if (named and mailed) or (not names and _TOKEN.fullmatch(local)):
        return "scrambled"
    return None


def _reachable(record: Mapping[str, Any]) -> list[str]:
    """The values that reach a person besides name and e-mail: phones, personal number, addresses."""
    values = [_text(record, key) for key in _CONTACTS]
    addresses: list[Any] = [record.get("InvoiceAddress")]
    for key in ("Addresses", "DeliveryAddresses"):
        rows = record.get(key)
        addresses += rows if isinstance(rows, list) else []
    for address in addresses:
        if isinstance(address, Mapping):
            values += [_text(address, key) for key in _ADDRESS_LINES]
    return values


def _matches(value: str, placeholder: re.Pattern[str]) -> bool:
    return placeholder.fullmatch(value) is not None or _ALSO.fullmatch(value) is not None


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
