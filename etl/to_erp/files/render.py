"""Orders (or parties) -> the bytes of one file, in a layout. Pure: the same input, the same bytes.

Rendering is two steps. `prepare` turns one unit of the layout's subject (an order, or a
customer or company from Norce Query) into the text of its rows (every value formatted:
decimals exactly, with the layout's separator; dates with its format; booleans as declared)
and applies the layout's policy for characters the file cannot hold, reporting what it could
not fit instead of failing. The export job holds those units and passes the rest to
`render`, which writes the file (etl.to_erp.files.render_csv, etl.to_erp.files.render_xml). Nothing here
reads the clock: an order's date is its SubmitDate, a party's its Updated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel

from etl.to_erp.files.charset import describe, encodable_in, fit, xml_legal
from etl.to_erp.files.functions import Unwritable, Value, reckoning
from etl.to_erp.files.layout_spec import OrderFormat
from etl.to_erp.files.layouts import Column, Layout, Record
from etl.to_erp.files.prepared import Prepared, Row
from etl.to_erp.files.render_csv import render_csv
from etl.to_erp.files.render_xml import render_xml
from etl.to_erp.files.sources import Place
from etl.to_erp.orders.model import OrderItem, OrderRequest


def prepare(
    layout: Layout, unit: BaseModel, ref: str | None = None, *, received: dt.datetime | None = None
) -> Prepared:
    """One unit's rows as text, with the unencodable-character policy applied.

    `unit` is the layout's subject: an OrderRequest (its ClientOrderRef is the `ref`), or
    a party, whose `ref` the caller gives. `received` is when the order reached us (the
    book keeps it): an order Norce sent without SubmitDate is dated by it, because a
    date is required (UBL's IssueDate) and the clock would give other bytes on a resend.
    """
    if isinstance(unit, OrderRequest) and unit.submit_date is None and received is not None:
        unit = unit.model_copy(update={"submit_date": received})
    if ref is None:
        if not isinstance(unit, OrderRequest):
            raise TypeError(f"a {type(unit).__name__} needs its ref")
        ref = unit.client_order_ref
    holds = xml_legal if layout.spec.format == "xml" else encodable_in(layout.format.encoding)
    notes = _Notes()
    with reckoning():  # the order's totals, asked for by many cells, reckoned once
        rows = tuple(
            Row(record, _cells(layout, record, ctx, holds, notes))
            for record in layout.records
            for ctx in contexts(record, unit)
        )
    return Prepared(ref, rows, tuple(notes.unfit), tuple(notes.changed), tuple(notes.wrong))


@dataclass
class _Notes:
    """What kept a unit's cells from fitting the file, gathered while they are prepared."""

    unfit: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    wrong: dict[str, None] = field(default_factory=dict)  # each once, in order: cells share one


def _cells(
    layout: Layout, record: Record, ctx: Place, holds: Callable[[str], bool], notes: _Notes
) -> tuple[str, ...]:
    """One row's cells as text the file can hold."""
    fmt = layout.format
    cells = []
    for column in record.columns:
        try:
            value = column.source.value(ctx)
        except Unwritable as exc:
            notes.wrong[exc.reason] = None
            value = None
        text = format_value(value, column, fmt)
        # Nearly every cell fits as it is: only the others are fitted and described.
        cells.append(text if holds(text) else _fit(layout, text, holds, notes, record, ctx, column))
    return tuple(cells)


def _fit(
    layout: Layout,
    text: str,
    holds: Callable[[str], bool],
    notes: _Notes,
    record: Record,
    ctx: Place,
    column: Column,
) -> str:
    """`text` fitted under the layout's policy, with what could not fit or was changed noted."""
    fmt = layout.format
    fitted = fit(text, holds, fmt.unencodable, fmt.replacement)
    where = _where(record, ctx, column)
    if fitted.unfit:
        notes.unfit.append(_reason(where, fitted.unfit, layout))
    if fitted.changed:
        # Only the characters: the whole value is often a name (personal data).
        was = sorted({c for c in text if c not in fitted.text})
        notes.changed.append(f"{where}: {''.join(was)!r} written as the encoding allows")
    return fitted.text


def contexts(record: Record, unit: BaseModel) -> Iterator[Place]:
    """The unit once, or each entry of the record's list (filtered by `only`)."""
    if record.each_attr is None:
        yield Place(unit)
        return
    entries: list[BaseModel] = list(getattr(unit, record.each_attr))
    if record.only is not None:
        fees = record.only == "fees"
        entries = [e for e in entries if isinstance(e, OrderItem) and e.is_fee == fees]
    for position, entry in enumerate(entries, start=1):
        yield Place(unit, entry, position)


def render(layout: Layout, orders: Sequence[Prepared]) -> bytes:
    """The file holding these prepared units; units with unfit cells are refused."""
    refused = [p.ref for p in orders if p.unfit]
    if refused:
        raise ValueError(f"units with characters the file cannot hold: {', '.join(refused)}")
    wrong = [f"{p.ref}: {'; '.join(p.wrong)}" for p in orders if p.wrong]
    if wrong:
        raise ValueError(f"units the layout cannot write correctly: {' | '.join(wrong)}")
    if not orders:
        raise ValueError("a file needs at least one order, customer or company")
    if layout.spec.format == "xml":
        return render_xml(layout, orders)
    return render_csv(layout, orders)


def render_orders(layout: Layout, orders: Sequence[OrderRequest]) -> bytes:
    """Prepare and render in one go (ValueError when an order does not fit the file)."""
    return render(layout, [prepare(layout, order) for order in orders])


def format_value(value: Value, column: Column, fmt: OrderFormat) -> str:
    """One value as the file writes it; None is empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return fmt.booleans[0] if value else fmt.booleans[1]
    if isinstance(value, Decimal):
        return decimal_text(value, column.decimals, fmt.decimal)
    if isinstance(value, dt.datetime):
        return value.strftime(column.date_format or fmt.date_format)
    return str(value)


def decimal_text(value: Decimal, decimals: int | None, separator: str) -> str:
    """A Decimal written exactly (or rounded half up to `decimals`), never in exponent form."""
    if decimals is not None:
        value = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if value.is_zero():
        value = abs(value)  # no "-0,00" in an ERP file
    return format(value, "f").replace(".", separator)


def _where(record: Record, ctx: Place, column: Column) -> str:
    row = f"{record.each}[{ctx.position}] " if ctx.position is not None else ""
    return f"{row}{column.name!r} ({column.written})"


def _reason(where: str, chars: tuple[str, ...], layout: Layout) -> str:
    what = "XML" if layout.spec.format == "xml" else layout.format.encoding
    shown = ", ".join(describe(c) for c in chars)
    return f"{where} has {shown}, which {what} cannot hold"
