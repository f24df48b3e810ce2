"""What the document entities share: a document (head and lines), its number, its hash.

Documents (order status, delivery notes, invoices, credits) are events, not state: nothing
is diffed. ERPs export them flat, one row per line with the head fields repeated on every
row (XML with nested lines arrives the same way through `format.repeat`), so a document is
the rows that share its number. Each is sent to Norce once, by its own synchronous call,
and remembered by (kind, number) with the SHA-256 of its canonical form.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import pandera.polars as pa
import polars as pl

from etl.entities.base import CallContext, Entity, EntityOptions
from etl.entities.calls import NorceCall
from etl.entities.checks import MAX_AMOUNT
from etl.models import Delta

Body = dict[str, Any]
YES = ("1", "Y", "y", "J", "j", "true", "TRUE", "yes")
NO = ("0", "N", "n", "false", "FALSE", "no")


def client_order_ref(*, nullable: bool = True) -> pa.Column:
    """Norce's order number: a C# int in the Order service bodies (reference sections 12-14)."""
    return pa.Column(pl.Int64, [pa.Check.in_range(1, 2**31 - 1)], nullable=nullable)


def signed_amount() -> list[pa.Check]:
    """A money amount that may be negative (discount rows, round-off) within what JSON keeps exactly."""
    return [pa.Check.in_range(-MAX_AMOUNT, MAX_AMOUNT)]


@dataclass(frozen=True)
class Document:
    """One document: its head fields, its lines in line order, the file lines it came from."""

    kind: str
    number: str
    head: Mapping[str, Any]
    lines: tuple[Mapping[str, Any], ...] = ()
    source_lines: tuple[int, ...] = ()

    def canonical(self) -> str:
        """The document as stable JSON text: what its hash is taken of, what the book keeps."""
        data = {
            "head": {k: _plain(v) for k, v in sorted(self.head.items())},
            "lines": [{k: _plain(v) for k, v in sorted(line.items())} for line in self.lines],
        }
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @property
    def sha(self) -> str:
        """SHA-256 of what the document says: the same number with another hash is a conflict."""
        return content_sha(self.canonical())

    @property
    def client_order_ref(self) -> int | None:
        """Norce's order number (the basket id), when the document carries it."""
        value = self.head.get("client_order_ref")
        return None if value is None else int(value)

    @property
    def erp_order_no(self) -> str | None:
        """The ERP's order number, when the document carries it."""
        value = self.head.get("erp_order_no", self.head.get("order_no"))
        return None if value is None else str(value)


def _plain(value: object) -> object:
    """A cell as JSON text keeps it exactly: decimals as strings, dates in ISO form."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    return value


def restore(kind: str, number: str, text: str, fields: Mapping[str, pl.DataType]) -> Document:
    """A document back from its canonical text, with the entity's types (for a later attempt)."""
    data = json.loads(text)

    def typed(row: Mapping[str, Any]) -> dict[str, Any]:
        return {k: _typed(v, fields[k]) for k, v in row.items()}

    return Document(kind, number, typed(data["head"]), tuple(typed(r) for r in data["lines"]))


def _typed(value: Any, dtype: pl.DataType) -> Any:
    if value is None:
        return None
    if isinstance(dtype, pl.Decimal):
        return Decimal(value)
    if isinstance(dtype, pl.Datetime):
        return dt.datetime.fromisoformat(value)
    if dtype == pl.Date:
        return dt.date.fromisoformat(value)
    return value


BuildBody = Callable[[Document, EntityOptions], Body]


@dataclass(frozen=True)
class Problem:
    """Why a whole document cannot be sent: the field, an error code, a message for people."""

    field: str | None
    code: str
    message: str


CheckDocument = Callable[[Document, EntityOptions], list[Problem]]


def _no_problems(document: Document, options: EntityOptions) -> list[Problem]:
    return []


def _not_diffed(delta: Delta, context: CallContext) -> list[NorceCall]:
    # Document feeds are dispatched to etl.to_norce.documents.flow before any diff: reaching this
    # would mean a document was about to be sent as a delta import. Fail loudly instead.
    raise TypeError(
        "document entities are sent one by one by etl.to_norce.documents.flow, never diffed"
    )


@dataclass(frozen=True, kw_only=True)
class DocumentEntity(Entity):
    """An entity whose rows group into documents sent one call each."""

    method: str  # the Order service method, e.g. "Order/CreateInvoice"
    # How a document travels: one synchronous Order service call (`order_service`), or
    # the ERP numbers written back onto Norce customers and companies (`party_codes`,
    # etl.to_norce.documents.party_codes: Query checks, then ImportCompanies and ImportCustomers).
    via: Literal["order_service", "party_codes"] = "order_service"
    head_fields: tuple[str, ...]  # the same on every row of a document
    line_key: str | None = None  # the field numbering lines; None: one row is one document
    build_body: BuildBody
    # Rules across a document's rows or against the contract's options (a status code the
    # map lacks, an invoice whose lines miss its stated total); row rules are the schema's.
    check: CheckDocument = field(default=_no_problems)
    build_calls: Callable[[Delta, CallContext], list[NorceCall]] = field(default=_not_diffed)

    def line_fields(self) -> tuple[str, ...]:
        """Fields that belong to a line, not to the head."""
        return tuple(f for f in self.fields() if f not in self.head_fields)

    def number_fields(self, key: tuple[str, ...]) -> tuple[str, ...]:
        """The fields of a contract key that make the document number (its head fields)."""
        return tuple(f for f in key if f in self.head_fields)


def flag(value: str | None) -> bool | None:
    """An ERP yes/no cell as a boolean (the schema allows only YES and NO spellings)."""
    if value is None:
        return None
    return value in YES


def drop_nulls(item: Body) -> Body:
    """Norce's own serializer omits nulls (NullValueHandling.Ignore); do the same."""
    return {k: v for k, v in item.items() if v is not None and v != {} and v != []}


def content_sha(canonical: str) -> str:
    """SHA-256 of a document's canonical JSON with its empty fields left out.

    An empty field says nothing: a field the entity gained later (empty in every file sent
    before) must not make an already sent document read as one with other content.
    """
    data = json.loads(canonical)
    said = {
        "head": {k: v for k, v in data["head"].items() if v is not None},
        "lines": [{k: v for k, v in line.items() if v is not None} for line in data["lines"]],
    }
    text = json.dumps(said, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
