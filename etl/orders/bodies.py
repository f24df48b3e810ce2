"""An order body as received (JSON or XML) -> `OrderRequest`, or a reason it is refused.

XML goes through lxml with everything that reaches outside the document switched off (no
DTD loading, no entity resolution, no network, no huge-tree mode), and a document that
declares a DOCTYPE is refused outright: an order has no use for one, and that is where
entity bombs live. XML elements are matched to the model's fields by name without regard
to case; a list field takes the element's children as its items, whatever they are called
(`<Items><OrderItem>...</OrderItem></Items>`, as a DataContract serialiser writes lists).
"""

from __future__ import annotations

import json
import types
from decimal import Decimal
from typing import Any, Union, get_args, get_origin

from lxml import etree
from pydantic import BaseModel, ValidationError

from etl.orders.model import OrderRequest

_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


class BodyRefused(Exception):
    """The body is not an order we can accept; `reason` says why, for the answer and the log."""

    def __init__(self, reason: str, ref: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ref = ref


def body_kind(content_type: str, body: bytes) -> str:
    """json or xml, from the content type, else from the first non-blank byte."""
    lowered = content_type.lower()
    if "json" in lowered:
        return "json"
    if "xml" in lowered:
        return "xml"
    return "xml" if body.lstrip()[:1] == b"<" else "json"


def parse_order(body: bytes, kind: str) -> OrderRequest:
    """Validate one body; BodyRefused with a reason a person can act on."""
    data = _json(body) if kind == "json" else _xml(body)
    ref = _ref_of(data)
    try:
        return OrderRequest.model_validate(data)
    except ValidationError as exc:
        # Not chained: the ValidationError's own text quotes each bad value (an e-mail
        # address, a name), and this reason goes to the log, the answer and the order book.
        raise BodyRefused(f"not a valid OrderRequest: {_problems(exc)}", ref) from None


def _problems(exc: ValidationError) -> str:
    """Where and what, never the value: the reason must not carry the customer's data."""
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    shown = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in errors[:5]]
    more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
    return "; ".join(shown) + more


def _ref_of(data: Any) -> str | None:
    """The ClientOrderRef if one can be seen, for the log of a refused body."""
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key).lower() == "clientorderref" and isinstance(value, str | int):
                return str(value)
    return None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_float=Decimal)  # money stays exact, never a float
    except UnicodeDecodeError as exc:
        raise BodyRefused(f"not JSON: not {exc.encoding} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        # exc.msg is the parser's fixed text; the position, not the document, locates it.
        where = f"line {exc.lineno}, column {exc.colno}"
        raise BodyRefused(f"not JSON: {exc.msg} at {where}") from None


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, dtd_validation=False
)


def _xml(body: bytes) -> dict[str, Any]:
    # Refused before parsing; the parser settings are the second line of defence.
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise BodyRefused("XML with a DOCTYPE or entity declaration is not accepted")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise BodyRefused(f"not well-formed XML: {_xml_problem(exc)}") from None
    return _element_to_model(root, OrderRequest)


def _xml_problem(exc: etree.XMLSyntaxError) -> str:
    """libxml2's error kind and position; its message may quote names or text of the body."""
    last = getattr(exc.error_log, "last_error", None)  # not in lxml's type stubs
    name = str(getattr(last, "type_name", "") or "ERR_SYNTAX")
    kind = name.removeprefix("ERR_").replace("_", " ").lower()
    line, column = exc.position
    return f"{kind} at line {line}, column {column}"


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].lower()


def _element_to_model(element: etree._Element, model: type[BaseModel]) -> dict[str, Any]:
    fields = {}
    for name, info in model.model_fields.items():
        fields[(info.alias or name).lower()] = (info.alias or name, info.annotation)
    out: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        local = _local(child.tag)
        alias, annotation = fields.get(local, (etree.QName(child).localname, None))
        out[alias] = _value(child, annotation)
    return out


def _value(element: etree._Element, annotation: Any) -> Any:
    if element.get(_NIL) == "true":
        return None
    inner = _unwrap_optional(annotation)
    if get_origin(inner) is list:
        (item_type,) = get_args(inner) or (Any,)
        return [_value(child, item_type) for child in element if isinstance(child.tag, str)]
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return _element_to_model(element, inner)
    if len(element):
        # A field this model does not know, with children: kept as a nested dict.
        return {
            etree.QName(c).localname: _value(c, None) for c in element if isinstance(c.tag, str)
        }
    return (element.text or "").strip() or None


def _unwrap_optional(annotation: Any) -> Any:
    """`X | None` -> X, so lists and models inside an Optional are recognised."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation
