"""Who is to be forgotten: the request, and the person's values gathered from what we hold.

The customer snapshots say who the person is (their rows, by code, e-mail or company), and
so do the rows runs rejected, read again from the archived inputs (etl.privacy.rejected_rows:
a person whose every row was rejected is in no snapshot); the order spool says which orders
are theirs (SellTo, BillTo or ShipTo with their e-mail or customer code), and those orders
add the names and addresses they carry. The party in an order (or party event) that holds
their code or e-mail is them: its e-mail and phones are theirs, so `--customer CODE` finds
the e-mail a one-VM home knows only from an order.

A rejected row was never validated, and may be another person's too: a code the ERP gave
two people (rejected as a duplicate key), a placeholder such as `saknas` that many rows
hold in their e-mail cell. So its values are never anchors, never masked outside the
person's own records and never an e-mail that names orders: each is a shared value, masked
only inside a record that holds an anchor (the value asked for, or what a snapshot row or an
order gave). `--company` names no person: there a rejected contact row's code is the anchor,
unless a snapshot now has that code under another company (moved since: not its contact,
as a snapshot row under another company is not).
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
# Every field a customer row is taken for: the three a request matches on, then its values.
PERSON_FIELDS = ("code", "email", "company_code", *STRONG_FIELDS, *WEAK_FIELDS)

# Order body fields about a person (SellTo, BillTo, ShipTo, their addresses).
ORDER_PERSON_FIELDS = frozenset(
    {
        "FirstName", "LastName", "Email", "EmailAddress", "Phone", "PhoneNumber", "CellPhone",
        "CellPhoneNumber", "PrivatePhone", "WorkPhone", "SocialSecurityNumber", "SSN", "Name",
        "Attention", "CareOf", "Line1", "Line2", "ZipCode", "City", "Region", "Box", "ShippingPhoneNumber",
        "DeliveryName", "DeliveryAttention", "DeliveryAddress", "AddressLine1", "AddressLine2",
    }
)  # fmt: skip
ORDER_EMAILS = frozenset({"Email", "EmailAddress"})
# Fields of the party that is the person (the one holding their code or e-mail) that name
# them alone, as a snapshot's phone and identity number do: masked wherever they stand.
PARTY_STRONG = frozenset(
    {
        "Phone", "PhoneNumber", "CellPhone", "CellPhoneNumber", "PrivatePhone", "WorkPhone",
        "SocialSecurityNumber", "SSN",
    }
)  # fmt: skip
ORDER_CODES = frozenset({"CustomerCode"})
ORDER_REFS = frozenset({"ClientOrderRef", "OrderNo", "OrderId"})


@dataclass(frozen=True)
class Request:
    """`forget --customer CODE | --email ADDRESS | --company CODE`."""

    kind: Kind
    value: str

    @property
    def match_field(self) -> str:
        """The customer field a row of the person (or the company's contact) holds the value in."""
        return {"customer": "code", "email": "email", "company": "company_code"}[self.kind]

    def rows(self, snapshot: pl.DataFrame) -> pl.DataFrame:
        """The snapshot rows of the person (or of the company's contacts)."""
        column = self.match_field
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


def find_person(
    request: Request,
    snapshots: Iterable[Path],
    spool: Path,
    events: Path | None = None,
    rejected: Iterable[pl.DataFrame] = (),
) -> Found:
    """The person's codes, values and orders, from customer snapshots, the rows runs
    rejected (`rejected`: frames of customer fields as text, etl.privacy.rejected_rows), the
    order spool and the party events (`events`: `state/spool/parties/`)."""
    found = Found()
    if request.kind == "email":
        found.emails.add(request.value.strip())
    elif request.kind == "customer":
        found.codes.add(request.value.strip())
    codes = _take_snapshots(found, request, snapshots)
    rows = [row for frame in rejected for row in request.rows(frame).iter_rows(named=True)]
    moved = _moved(rows, codes, found.codes) if request.kind == "company" else set()
    for row in rows:
        _take_rejected(found, row, request, moved)
    bodies = sorted(spool.glob("*")) if spool.is_dir() else []
    # A Norce event may carry what only Norce knows (an address changed in the shop), which
    # the party file exported from Norce's record holds too: an event naming them is theirs.
    bodies += sorted(events.glob("*")) if events is not None and events.is_dir() else []
    # An e-mail learnt from one body (found by code) makes another body, naming only that
    # e-mail, theirs too: read again until nothing new names them.
    known: set[str] | None = None
    while known != found.codes | found.emails:
        known = found.codes | found.emails
        for body in bodies:
            _take_order(found, body)
    return found


def _take_snapshots(found: Found, request: Request, snapshots: Iterable[Path]) -> list[pl.Series]:
    """The snapshots' rows of the person; for `--company`, each snapshot's codes (who moved).

    A function of its own: no snapshot stays referenced while the rejected rows are read.
    """
    codes: list[pl.Series] = []
    for path in snapshots:
        frame = pl.read_parquet(path, glob=False)
        if request.kind == "company" and "code" in frame.columns:
            codes.append(frame.get_column("code").str.strip_chars())
        for row in request.rows(frame).iter_rows(named=True):
            _take_row(found, row)
    return codes


def _take_row(found: Found, row: Mapping[str, Any]) -> None:
    found.codes.add(str(row["code"]))
    if isinstance(row.get("email"), str):
        found.emails.add(row["email"])
    found.strong |= {row[f] for f in STRONG_FIELDS if isinstance(row.get(f), str) and row[f]}
    found.weak |= {row[f] for f in WEAK_FIELDS if isinstance(row.get(f), str) and row[f]}


def _take_rejected(found: Found, row: Mapping[str, Any], request: Request, moved: set[str]) -> None:
    """A rejected row's values: shared ones, masked only in the person's records (see above).

    Its code stays unmasked, as a snapshot row's does (a key); under `--company` it is the
    contact's anchor, unless the contact moved to another company since (`moved`).
    """
    code = row.get("code")
    if request.kind == "company":
        if not isinstance(code, str) or not code or code in moved:
            return
        found.codes.add(code)
    fields = (*STRONG_FIELDS, *WEAK_FIELDS)
    found.weak |= {row[f] for f in fields if isinstance(row.get(f), str) and row[f]}


def _moved(rows: list[dict[str, Any]], codes: list[pl.Series], matched: set[str]) -> set[str]:
    """The codes of `rows` a snapshot holds under another company: the contacts who moved.

    `codes`: each snapshot's codes; `matched`: those of its rows under the company asked for.
    A contact accepted under the company who moved is in no snapshot row of it (a snapshot
    holds the current company only): not found; one rejected under it who moved is the same.
    """
    asked = list({r["code"] for r in rows if isinstance(r.get("code"), str)} - matched)
    if not asked:
        return set()
    return {c for series in codes for c in series.filter(series.is_in(asked)).to_list()}


def _take_order(found: Found, path: Path) -> None:
    """An order (or party event) that names the person's e-mail or code is theirs, with all
    it says of people."""
    parties = list(_order_parties(path))
    pairs = [pair for party in parties for pair in party]
    if not _names(found, pairs):
        return
    for party in (p for p in parties if _names(found, p)):  # them: SellTo, not the gift's ShipTo
        found.emails |= {v.strip() for k, v in party if k in ORDER_EMAILS and is_value(v)}
        found.strong |= {v.strip() for k, v in party if k in PARTY_STRONG and is_value(v)}
    found.orders |= {v for k, v in pairs if k in ORDER_REFS}
    # Another e-mail address in their order (a gift's recipient) is that person's, not theirs.
    # Stripped: " Eva " would match only with its spaces (an XML body's text is stripped too).
    found.weak |= {v.strip() for k, v in pairs if k in ORDER_PERSON_FIELDS - ORDER_EMAILS}


def _names(found: Found, pairs: Iterable[tuple[str, str]]) -> bool:
    """Whether `pairs` hold one of the person's e-mail addresses or customer codes."""
    emails = {e.casefold() for e in found.emails}
    return any(
        (k in ORDER_EMAILS and v.strip().casefold() in emails)
        or (k in ORDER_CODES and v.strip() in found.codes)
        for k, v in pairs
    )


def buyers(name: str, body: bytes) -> set[str]:
    """The e-mail addresses and customer codes a spooled body names (its buyer's keys).

    `name` is the body's spool name (its suffix says JSON or XML): bodies are read from
    whichever spool holds them (a folder, or object storage).
    """
    pairs = _body_pairs(Path(name).suffix, body)
    return {v for k, v in pairs if k in ORDER_EMAILS | ORDER_CODES and v.strip()}


def _order_parties(path: Path) -> Iterator[list[tuple[str, str]]]:
    """The (field, text) pairs of every object of a spooled body, JSON or XML, one list per
    object (a party: SellTo's Person, an Address); nothing for other files."""
    if path.suffix in (".json", ".xml"):
        yield from _body_parties(path.suffix, path.read_bytes())


def _body_pairs(suffix: str, body: bytes) -> Iterator[tuple[str, str]]:
    for party in _body_parties(suffix, body):
        yield from party


def _body_parties(suffix: str, body: bytes) -> Iterator[list[tuple[str, str]]]:
    try:
        yield from list(_parsed_parties(suffix, body))
    except (ValueError, etree.XMLSyntaxError):
        return  # not a body the receiver took: the sweep masks it as text


def _parsed_parties(suffix: str, body: bytes) -> Iterator[list[tuple[str, str]]]:
    if suffix == ".json":
        yield from _json_parties(json.loads(body))
    elif suffix == ".xml":
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        root = etree.fromstring(body, parser)
        yield _xml_texts([root])  # the root's own text, if any
        for element in root.iter():
            yield _xml_texts(element)


def _xml_texts(elements: Iterable[Any]) -> list[tuple[str, str]]:
    """(name, text) of the elements among `elements` that hold text."""
    return [
        (etree.QName(e).localname, e.text.strip())
        for e in elements
        if isinstance(e.tag, str) and e.text and e.text.strip()
    ]


def _json_parties(value: object) -> Iterator[list[tuple[str, str]]]:
    """One list per JSON object: its texts (in lists too), then its inner objects' lists."""
    own: list[tuple[str, str]] = []
    inner: list[object] = []
    if isinstance(value, dict):
        for key, item in value.items():
            _json_leaves(item, str(key), own, inner)
    else:
        _json_leaves(value, "", own, inner)
    yield own
    for nested in inner:
        yield from _json_parties(nested)


def _json_leaves(value: object, key: str, own: list[tuple[str, str]], inner: list[object]) -> None:
    """Texts under `key` into `own` (a list's items too); objects into `inner`."""
    if isinstance(value, dict):
        inner.append(value)
    elif isinstance(value, list):
        for item in value:
            _json_leaves(item, key, own, inner)
    elif isinstance(value, str | int) and not isinstance(value, bool):
        own.append((key, str(value)))
