"""Who is to be forgotten: the request, and the person's values gathered from what we hold.

The customer snapshots say who the person is (their rows, by code, e-mail or company); the
order spool says which orders are theirs (SellTo, BillTo or ShipTo with their e-mail or
customer code), and those orders add the names and addresses they carry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl
from lxml import etree

from etl.privacy.masking import Person, is_value

Kind = Literal["customer", "email", "company"]

# Customer fields that identify a person alone, and those many people share.
STRONG_FIELDS = ("email", "phone", "cell_phone", "social_security_number")
WEAK_FIELDS = ("first_name", "last_name", "address_line1", "address_line2", "zip_code", "city")

# Order body fields about a person (SellTo, BillTo, ShipTo, their addresses).
ORDER_PERSON_FIELDS = frozenset(
    {
        "FirstName", "LastName", "Email", "EmailAddress", "Phone", "PhoneNumber", "CellPhone",
        "CellPhoneNumber", "SocialSecurityNumber", "Name", "Attention", "CareOf", "Line1",
        "Line2", "ZipCode", "City", "Region", "Box", "ShippingPhoneNumber",
        "DeliveryName", "DeliveryAttention", "DeliveryAddress", "AddressLine1", "AddressLine2",
    }
)  # fmt: skip
ORDER_EMAILS = frozenset({"Email", "EmailAddress"})
ORDER_CODES = frozenset({"CustomerCode"})
ORDER_REFS = frozenset({"ClientOrderRef", "OrderNo", "OrderId"})


@dataclass(frozen=True)
class Request:
    """`forget --customer CODE | --email ADDRESS | --company CODE`."""

    kind: Kind
    value: str

    def rows(self, snapshot: pl.DataFrame) -> pl.DataFrame:
        """The snapshot rows of the person (or of the company's contacts)."""
        column = {"customer": "code", "email": "email", "company": "company_code"}[self.kind]
        if column not in snapshot.columns:
            return snapshot.clear()
        wanted = self.value.strip().lower()
        return snapshot.filter(pl.col(column).str.strip_chars().str.to_lowercase() == wanted)


@dataclass
class Found:
    """What the search gathered, before it becomes a `Person`."""

    codes: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    strong: set[str] = field(default_factory=set)
    weak: set[str] = field(default_factory=set)
    orders: set[str] = field(default_factory=set)

    def person(self) -> Person:
        """The person: anchors are everything that names them alone; "[erased]" is nothing."""
        anchors = {v for v in self.codes | self.emails | self.strong if is_value(v)}
        return Person(
            frozenset(anchors),
            frozenset(v for v in self.strong | self.emails if is_value(v)),
            frozenset(v for v in self.weak if is_value(v)),
            frozenset(v for v in self.orders if is_value(v)),
        )


def find_person(request: Request, snapshots: Iterable[Path], spool: Path) -> Found:
    """The person's codes, values and orders, from customer snapshots and the order spool."""
    found = Found()
    if request.kind == "email":
        found.emails.add(request.value.strip())
    elif request.kind == "customer":
        found.codes.add(request.value.strip())
    for path in snapshots:
        for row in request.rows(pl.read_parquet(path, glob=False)).iter_rows(named=True):
            _take_row(found, row)
    for body in sorted(spool.glob("*")) if spool.is_dir() else ():
        _take_order(found, body)
    return found


def _take_row(found: Found, row: Mapping[str, Any]) -> None:
    found.codes.add(str(row["code"]))
    if isinstance(row.get("email"), str):
        found.emails.add(row["email"])
    found.strong |= {row[f] for f in STRONG_FIELDS if isinstance(row.get(f), str) and row[f]}
    found.weak |= {row[f] for f in WEAK_FIELDS if isinstance(row.get(f), str) and row[f]}


def _take_order(found: Found, path: Path) -> None:
    """An order that names the person's e-mail or code is theirs, with all it says of people."""
    pairs = list(_order_pairs(path))
    emails = {e.casefold() for e in found.emails}
    theirs = any(
        (k in ORDER_EMAILS and v.casefold() in emails) or (k in ORDER_CODES and v in found.codes)
        for k, v in pairs
    )
    if not theirs:
        return
    found.orders |= {v for k, v in pairs if k in ORDER_REFS}
    # Another e-mail address in their order (a gift's recipient) is that person's, not theirs.
    found.weak |= {v for k, v in pairs if k in ORDER_PERSON_FIELDS - ORDER_EMAILS and v.strip()}


def buyers(name: str, body: bytes) -> set[str]:
    """The e-mail addresses and customer codes a spooled body names (its buyer's keys).

    `name` is the body's spool name (its suffix says JSON or XML): bodies are read from
    whichever spool holds them (a folder, or object storage).
    """
    pairs = _body_pairs(Path(name).suffix, body)
    return {v for k, v in pairs if k in ORDER_EMAILS | ORDER_CODES and v.strip()}


def _order_pairs(path: Path) -> Iterator[tuple[str, str]]:
    """(field, text) for every text in a spooled body, JSON or XML; nothing for other files."""
    if path.suffix in (".json", ".xml"):
        yield from _body_pairs(path.suffix, path.read_bytes())


def _body_pairs(suffix: str, body: bytes) -> Iterator[tuple[str, str]]:
    try:
        yield from _parsed_pairs(suffix, body)
    except (ValueError, etree.XMLSyntaxError):
        return  # not a body the receiver took: the sweep masks it as text


def _parsed_pairs(suffix: str, body: bytes) -> Iterator[tuple[str, str]]:
    if suffix == ".json":
        yield from _json_pairs(json.loads(body), "")
    elif suffix == ".xml":
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        for element in etree.fromstring(body, parser).iter():
            if isinstance(element.tag, str) and element.text and element.text.strip():
                yield etree.QName(element).localname, element.text.strip()


def _json_pairs(value: object, key: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for inner_key, inner in value.items():
            yield from _json_pairs(inner, str(inner_key))
    elif isinstance(value, list):
        for inner in value:
            yield from _json_pairs(inner, key)
    elif isinstance(value, str | int) and not isinstance(value, bool):
        yield key, str(value)
