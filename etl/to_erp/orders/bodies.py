"""An order body as received (JSON or XML) -> `OrderRequest`, or a reason it is refused.

XML goes through lxml with everything that reaches outside the document switched off (no
DTD loading, no entity resolution, no network, no huge-tree mode), and a document that
declares a DOCTYPE is refused outright: an order has no use for one, and that is where
entity bombs live. XML elements are matched to the model's fields by name without regard
to case; a list field takes the element's children as its items, whatever they are called
(`<Items><OrderItem>...</OrderItem></Items>`, as a DataContract serialiser writes lists).

A body is refused (400) only when it cannot be read at all: not JSON or XML, nested deeper
than the parser goes, a number of more than MAX_DIGITS digits, or no ClientOrderRef (without
it no retry could be told from a new order). A readable order with a value of the wrong kind
somewhere (`"Quantity": "two"`) is taken: the value is left empty and named in a problem,
and the receiver holds the order with it, so a person decides instead of Norce giving up.
No reason ever quotes a value from the body: it goes to the log, the answer and the book.
"""

from __future__ import annotations

import json
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Union, get_args, get_origin

from lxml import etree
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from etl.to_erp.orders.model import MAX_DIGITS, NORCE_REF_LENGTH, OrderRequest, in_proportion

_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_PASSES = 3  # a value left empty can only uncover errors below it, never above


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


@dataclass(frozen=True)
class ReadOrder:
    """An order as read, and what in it could not be read (each a reason to hold it)."""

    order: OrderRequest
    problems: list[str] = field(default_factory=list)


def parse_order(body: bytes, kind: str) -> OrderRequest:
    """The order in one body, unreadable values left empty; BodyRefused if there is none."""
    return read_order(body, kind).order


def read_order(body: bytes, kind: str) -> ReadOrder:
    """Read one body; BodyRefused with a reason a person can act on when it has no order."""
    data = _json(body) if kind == "json" else _xml(body)
    ref = _ref_of(data)
    problems: list[str] = []
    for _ in range(_PASSES):
        try:
            order = OrderRequest.model_validate(data)
        except ValidationError as exc:
            # Not chained: the ValidationError's own text quotes each bad value (an e-mail
            # address, a name), and the reason goes to the log, the answer and the order book.
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            readable = isinstance(data, dict) and not any(_identifies(e) for e in errors)
            left_out = _leave_out(data, errors) if readable else []
            if not left_out:
                raise BodyRefused(f"not a valid OrderRequest: {_problems(errors)}", ref) from None
            problems += left_out
            continue
        return ReadOrder(order, problems + _ref_problems(order))
    raise BodyRefused(f"not a valid OrderRequest: {'; '.join(problems[:5])}", ref)


def _identifies(error: ErrorDetails) -> bool:
    """An error in the body as a whole or in its ClientOrderRef: no order to hold."""
    return not error["loc"] or error["loc"][0] == "ClientOrderRef"


def _problems(errors: Sequence[ErrorDetails]) -> str:
    """Where and what, never the value: the reason must not carry the customer's data."""
    shown = [f"{_dotted(e['loc']) or 'body'}: {e['msg']}" for e in errors[:5]]
    more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
    return "; ".join(shown) + more


def _dotted(loc: Sequence[int | str]) -> str:
    return ".".join(str(p) for p in loc)


def _leave_out(data: dict[str, Any], errors: Sequence[ErrorDetails]) -> list[str]:
    """Remove each value an error points at; one problem per value removed."""
    problems: list[str] = []
    removed: list[tuple[int | str, ...]] = []
    emptied: list[tuple[list[Any], int]] = []
    for error in errors:
        loc = tuple(error["loc"])
        if any(loc[: len(done)] == done for done in removed):
            continue  # a union's second error about a value already taken out
        path = _remove(data, loc, emptied)
        if path:
            removed.append(path)
            problems.append(f"{_dotted(path)}: {error['msg']}; left empty")
    # Entries of lists become null only now, so the indexes of the errors above stayed
    # right; the model drops a null entry.
    for entries, index in emptied:
        entries[index] = None
    return problems


def _remove(
    data: dict[str, Any], loc: tuple[int | str, ...], emptied: list[tuple[list[Any], int]]
) -> tuple[int | str, ...]:
    """Remove the deepest value along `loc` (past it, loc names union members); its path.

    A value in a list is not removed but added to `emptied`, for the caller to null.
    """
    parent: Any = None
    key: Any = None
    node: Any = data
    depth = 0
    for part in loc:
        step = _step(node, part)
        if step is None:
            break
        parent, key, node = node, step, node[step]
        depth += 1
    if parent is None:
        return ()
    if isinstance(parent, dict):
        del parent[key]
    else:
        emptied.append((parent, key))
    return loc[:depth]


def _step(node: Any, part: int | str) -> Any:
    """The key or index in `node` that the model's `part` names; None when there is none."""
    if isinstance(node, dict):
        # Keys in any case, as the model matches them.
        return next((k for k in node if str(k).lower() == str(part).lower()), None)
    if isinstance(node, list) and isinstance(part, int):
        # The model dropped the null entries: its index counts the others.
        present = [i for i, entry in enumerate(node) if entry is not None]
        return present[part] if 0 <= part < len(present) else None
    return None


def _ref_problems(order: OrderRequest) -> list[str]:
    """A ref longer than Norce makes: SendOrderStatus and the ERP's field may cut it."""
    length = len(order.client_order_ref)
    if length <= NORCE_REF_LENGTH:
        return []
    return [f"ClientOrderRef is {length} characters, Norce's are at most {NORCE_REF_LENGTH}"]


def _ref_of(data: Any) -> str | None:
    """The ClientOrderRef if one can be seen, for the log of a refused body."""
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key).lower() == "clientorderref" and isinstance(value, str | int):
                return str(value)[:NORCE_REF_LENGTH]
    return None


class _Unreadable(Exception):
    """Raised from inside json.loads by a hook; its text is the whole reason."""


def _number(kind: type[int] | type[Decimal]) -> Any:
    """A json.loads hook that reads a number as `kind`, refusing absurdly long ones."""

    def read(text: str) -> int | Decimal:
        # A text no longer than the limit cannot hold more digits: counted only past it.
        digits = sum(c.isdigit() for c in text) if len(text) > MAX_DIGITS else 0
        if digits > MAX_DIGITS:
            raise _Unreadable(
                f"not JSON we can read: a number of {digits} digits (at most {MAX_DIGITS})"
            )
        try:
            value = kind(text)
            # A short text with a long exponent is a long number (model.in_proportion).
            return in_proportion(value) if isinstance(value, Decimal) else value
        except (ArithmeticError, ValueError):  # ArithmeticError: past decimal's own limits
            raise _Unreadable(  # the text itself is not quoted: a reason never quotes a body
                f"not JSON we can read: a number of more than {MAX_DIGITS} digits written out"
            ) from None

    return read


def _constant(name: str) -> Any:
    # Python's json takes NaN and Infinity; JSON (and money) has no such numbers.
    raise _Unreadable(f"not JSON: {name} is not a JSON number")


def _json(body: bytes) -> Any:
    try:
        return json.loads(
            body,
            parse_float=_number(Decimal),  # money stays exact, never a float
            parse_int=_number(int),
            parse_constant=_constant,
        )
    except RecursionError:
        raise BodyRefused("not JSON we can read: nested deeper than about 1000 levels") from None
    except _Unreadable as exc:
        raise BodyRefused(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise BodyRefused(f"not JSON: not {exc.encoding} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        # exc.msg is the parser's fixed text; the position, not the document, locates it.
        where = f"line {exc.lineno}, column {exc.colno}"
        raise BodyRefused(f"not JSON: {exc.msg} at {where}") from None


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, dtd_validation=False
)


_NO_DTD = "XML with a DOCTYPE or entity declaration is not accepted"

# How an XML document's first bytes tell its encoding (XML 1.0, appendix F): a byte order
# mark, else `<?` as each encoding writes it. Longer marks first: UTF-32LE's starts as UTF-16LE's.
_FIRST_BYTES = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),  # no declaration: the first character is still `<`
    (b"<\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),  # EBCDIC; its other flavours are caught after parsing
)


def _xml(body: bytes) -> dict[str, Any]:
    # Refused before parsing, in the body's own encoding (a byte search for b"<!DOCTYPE"
    # misses UTF-16); the parser settings are the second line of defence, and the parsed
    # document's DTD the third, for an encoding the first bytes did not tell.
    if _declares_dtd(body):
        raise BodyRefused(_NO_DTD)
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise BodyRefused(f"not well-formed XML: {_xml_problem(exc)}") from None
    if getattr(root.getroottree().docinfo, "doctype", ""):  # not in lxml's type stubs
        raise BodyRefused(_NO_DTD)
    return _element_to_model(root, OrderRequest)


def _declares_dtd(body: bytes) -> bool:
    """Whether the body, decoded as its first bytes say, declares a DOCTYPE or an entity."""
    encoding = next((name for mark, name in _FIRST_BYTES if body.startswith(mark)), "utf-8")
    text = body.decode(encoding, errors="replace")
    return "<!DOCTYPE" in text or "<!ENTITY" in text


def _xml_problem(exc: etree.XMLSyntaxError) -> str:
    """libxml2's error kind and position; its message may quote names or text of the body."""
    last = getattr(exc.error_log, "last_error", None)  # not in lxml's type stubs
    name = str(getattr(last, "type_name", "") or "ERR_SYNTAX")
    kind = name.removeprefix("ERR_").replace("_", " ").lower()
    if str(getattr(last, "message", "")).startswith("Excessive depth"):
        # libxml2's own limit without huge_tree, the XML twin of json's RecursionError.
        kind = "nested deeper than 256 elements"
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
    if element.get(_NIL) in ("true", "1"):  # xsd:boolean has both spellings
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
    text = (element.text or "").strip() or None
    if text is not None and inner in (int, Decimal):
        _check_digits(etree.QName(element).localname, text)
    return text


def _check_digits(name: str, text: str) -> None:
    """The XML twin of the JSON number limit: a numeric field of absurd length is refused."""
    digits = sum(c.isdigit() for c in text)
    if digits > MAX_DIGITS:
        raise BodyRefused(
            f"not XML we can read: {name} is a number of {digits} digits (at most {MAX_DIGITS})"
        )


def _unwrap_optional(annotation: Any) -> Any:
    """`X | None` -> X, so lists and models inside an Optional are recognised."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation
