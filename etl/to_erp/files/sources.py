"""What a layout's column or element is filled from: a field path, a literal, or a function.

A layout renders one subject (`[layout] subject`): orders (the `OrderRequest`), or customers
or companies as Norce Commerce Query returns them (etl.to_erp.parties.model). It names its values
in the subject's own words, checked against the model when the layout is loaded, so a typo
stops the process instead of writing empty columns forever:

- a field path, dotted, in the wire names: `ClientOrderRef`, `SellTo.Company.Code`,
  `ShipTo.Person.Address.ZipCode`, `InvoiceAddress.City`; matched without regard to case,
  like the models themselves;
- `AdditionalInfo[GiftMessage]`: the `Value` of the AdditionalInfo entry whose `Code2` is
  `GiftMessage` (any AdditionalInfo list, e.g. `SellTo.Person.AdditionalInfo[Lang]`);
- in a record that repeats over a list (`each = "Items"`), paths start at the list entry
  (`PartNo`, `Quantity`); `Order.` reaches back to the order (`Order.ClientOrderRef`),
  `Customer.` and `Company.` to the party;
- `'text in single quotes'`: written as it stands;
- one of the functions in etl.to_erp.files.functions, a fixed list rather than free code; they
  read orders, so a party layout has `position()` only.
"""

from __future__ import annotations

import datetime as dt
import re
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from etl.to_erp.files.functions import FUNCTIONS, Context, Kind, Value
from etl.to_erp.orders.model import CodeValue, OrderRequest
from etl.to_erp.parties.model import Company, Customer


@dataclass(frozen=True)
class Subject:
    """What a layout renders, and the model its field paths name."""

    name: str  # order | customer | company
    model: type[BaseModel]
    prefix: str  # how a record with `each` reaches back to the subject: `Order.`

    @property
    def plural(self) -> str:
        """For messages: orders, customers, companies."""
        return "companies" if self.name == "company" else f"{self.name}s"


SUBJECTS: dict[str, Subject] = {
    "order": Subject("order", OrderRequest, "Order."),
    "customer": Subject("customer", Customer, "Customer."),
    "company": Subject("company", Company, "Company."),
}


@dataclass(frozen=True)
class Place:
    """Where a value is read: the subject (an order, a customer...) and a list entry."""

    root: BaseModel
    item: BaseModel | None = None  # the entry of a repeating record
    position: int | None = None  # 1-based place of `item` in its record's rows


@dataclass(frozen=True)
class Step:
    """One segment of a field path: the model attribute, its wire name, an info code."""

    attr: str
    alias: str
    code: str | None = None  # AdditionalInfo[code]


@dataclass(frozen=True)
class FieldPath:
    """A field of the order (or of the record's list entry)."""

    text: str
    steps: tuple[Step, ...]
    kind: Kind
    from_order: bool  # read from the subject (the order...) even in a repeating record

    def value(self, ctx: Place) -> Value:
        """The field's value, None when it or anything on the way is missing."""
        current: Any = ctx.root if self.from_order or ctx.item is None else ctx.item
        for step in self.steps:
            current = getattr(current, step.attr, None)
            if step.code is not None:
                current = _info(current or [], step.code)
            if current is None:
                return None
        if self.kind == "text" and not isinstance(current, str):
            return str(current)  # a code Norce may send as text or number (Type: 3 or "Freight")
        return _as_value(current)


@dataclass(frozen=True)
class Constant:
    """A literal, written as it stands."""

    text: str

    def value(self, ctx: Place) -> Value:
        """The literal."""
        return self.text


@dataclass(frozen=True)
class Computed:
    """A value from `FUNCTIONS`."""

    name: str
    kind: Kind
    compute: Callable[[Place], Value]

    def value(self, ctx: Place) -> Value:
        """The computed value."""
        return self.compute(ctx)


Source = FieldPath | Constant | Computed


def _info(entries: Iterable[CodeValue], code: str) -> str | None:
    for entry in entries:
        if entry.name == code:
            return entry.value
    return None


def _as_value(raw: Any) -> Value:
    if isinstance(raw, str | Decimal | bool | int | dt.datetime) or raw is None:
        return raw
    return str(raw)


# -- parsing -----------------------------------------------------------------------------------

_FUNCTION = re.compile(r"^([a-z_]+)\(\)$")
_SEGMENT = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(?:\[([^\[\]]+)\])?$")


def list_fields(
    model: type[BaseModel] = OrderRequest,
) -> dict[str, tuple[str, str, type[BaseModel]]]:
    """The model's list-of-model fields: lower-case wire name -> (wire name, attribute, entry)."""
    found = {}
    for name, info in model.model_fields.items():
        inner = _optional(info.annotation)
        if get_origin(inner) is list:
            (entry,) = get_args(inner)
            if isinstance(entry, type) and issubclass(entry, BaseModel):
                alias = info.alias or name
                found[alias.lower()] = (alias, name, entry)
    return found


def parse_source(
    text: str,
    entry: type[BaseModel] | None,
    each: str | None,
    subject: Subject = SUBJECTS["order"],
) -> Source:
    """Compile one source; ValueError with a message naming what is wrong and what would do.

    `entry` is the model of the record's list entries (None for a record of the subject
    itself), `each` the list's wire name.
    """
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        return Constant(text[1:-1])
    if "'" in text:
        raise ValueError(f"{text!r}: a literal is written in single quotes, 'like this'")
    called = _FUNCTION.match(text)
    if called:
        return _function(called.group(1), each, subject)
    if text.startswith(subject.prefix):
        return _path(text, text.removeprefix(subject.prefix), subject.model, from_order=True)
    if entry is None:
        return _path(text, text, subject.model, from_order=True)
    return _path(text, text, entry, from_order=False)


def _function(name: str, each: str | None, subject: Subject) -> Computed:
    function = FUNCTIONS.get(name)
    known = FUNCTIONS if subject.name == "order" else {"position": FUNCTIONS["position"]}
    if function is None or name not in known:
        listed = "; ".join(f"{n}(): {f.meaning}" for n, f in known.items())
        raise ValueError(
            f"{name}() is not a known function of {subject.name} layouts. Known: {listed}"
        )
    if function.where == "each" and each is None:
        raise ValueError(f"{name}() works only in a record with `each`")
    if function.where == "items" and (each or "").lower() != "items":
        raise ValueError(f'{name}() works only in a record with each = "Items"')
    if name == "position":
        return Computed(name, function.kind, _position)
    return Computed(name, function.kind, _on_order(function.compute))


def _position(place: Place) -> Value:
    return place.position


def _on_order(compute: Callable[[Context], Value]) -> Callable[[Place], Value]:
    """An order function read at a place; only order layouts may name one (checked above)."""

    def value(place: Place) -> Value:
        order = place.root
        if not isinstance(order, OrderRequest):
            raise TypeError(f"an order function read a {type(order).__name__}")
        return compute(Context(order, place.item, place.position))

    return value


def _path(text: str, path: str, model: type[BaseModel], *, from_order: bool) -> FieldPath:
    steps: list[Step] = []
    where = model.__name__
    segments = path.split(".")
    for index, segment in enumerate(segments):
        match = _SEGMENT.match(segment)
        if match is None:
            raise ValueError(
                f"{text!r}: {segment!r} is not a field name (write Name, A.B or "
                "AdditionalInfo[Code]; literals in 'single quotes'; functions as name())"
            )
        name, code = match.groups()
        attr, alias, annotation = _field(model, name, where, text)
        last = index == len(segments) - 1
        inner = _optional(annotation)
        if code is not None:
            if _list_entry(inner) is not CodeValue:
                raise ValueError(f"{text!r}: [{code}] works on AdditionalInfo lists only")
            if not last:
                raise ValueError(f"{text!r}: {name}[{code}] is a value, nothing can follow it")
            steps.append(Step(attr, alias, code))
            return FieldPath(text, tuple(steps), "text", from_order)
        steps.append(Step(attr, alias))
        where = f"{where}.{alias}"
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            if last:
                raise ValueError(
                    f"{text!r}: {where} is a group; name one of its fields: {_names(inner)}"
                )
            model = inner
            continue
        if _list_entry(inner) is not None:
            raise ValueError(
                f'{text!r}: {where} is a list; write a record with each = "{alias}" for it'
                if from_order and index == 0
                else f"{text!r}: {where} is a list; only AdditionalInfo[Code] picks one entry"
            )
        if not last:
            raise ValueError(f"{text!r}: {where} is a value, nothing can follow it")
        return FieldPath(text, tuple(steps), _kind(inner, text), from_order)
    raise ValueError(f"{text!r}: empty path")


def _field(model: type[BaseModel], name: str, where: str, text: str) -> tuple[str, str, Any]:
    for attr, info in model.model_fields.items():
        alias = info.alias or attr
        if name.lower() in (alias.lower(), attr.lower()):
            return attr, alias, info.annotation
    raise ValueError(f"{text!r}: {where} has no field {name!r} (it has: {_names(model)})")


def _names(model: type[BaseModel]) -> str:
    return ", ".join(info.alias or name for name, info in model.model_fields.items())


def _optional(annotation: Any) -> Any:
    """`X | None` -> X."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _list_entry(annotation: Any) -> Any:
    if get_origin(annotation) is list:
        (entry,) = get_args(annotation)
        return entry
    return None


def _kind(annotation: Any, text: str) -> Kind:
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is Decimal:
        return "decimal"
    if annotation is dt.datetime:
        return "datetime"
    if annotation is str or get_origin(annotation) in (Union, types.UnionType):
        return "text"  # str, or a code documented as text or number (Type, TypeGroup)
    raise ValueError(f"{text!r}: fields of type {annotation!r} cannot be written to a file")
