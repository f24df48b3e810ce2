"""Norce items written as JSON text by polars, one chunk at a time, never as Python dicts.

A go-live sends every row of the catalogue as an add: ten million Python dicts do not fit
the VM, and building them costs far more than reading the file. So a payload builder
describes its item as a small tree (`Obj`, `Arr`, `When`, and leaves: `Text`, a string, and
`Raw`, text that is JSON already) and `JsonRows` has polars concatenate each row's JSON when
its call is written or posted. The bytes are those `json.dumps(items, separators=(",", ":"),
ensure_ascii=False)` makes of the dicts the builders used to make
(tests/entities/test_product_json.py and test_json_encoder_property.py hold them equal):

- a member whose value is null is left out, as the builders' `_drop_nulls` did;
- numbers are text (`number_text`: a Decimal as `json_value` makes it, the shortest float
  repr or an int) written without quotes;
- a string is escaped as `json.dumps` escapes it (a quote, a backslash, control characters);
  a column with none of those (most) is written as it is, found by one scan per group.

Text built in one concatenation per row replaced polars' `struct.json_encode` and the regular
expressions that then cut `null` members and unquoted numbers (a 1M-row go-live's calls,
built and encoded in a fresh process: 3.5 s of CPU before, 3.0 s after, medians of three
paired rounds; the scan is about 0.5 s of the 3.0).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import polars as pl

JsonObject = dict[str, Any]

# What json.dumps escapes in a string (ensure_ascii=False): the quote, the backslash and the
# control characters, five of them by name and the rest as \u00XX (lower-case hex).
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r"}
_ESCAPES |= {"\t": "\\t"} | {
    chr(c): f"\\u{c:04x}" for c in range(0x20) if chr(c) not in {"\b", "\f", "\n", "\r", "\t"}
}
_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'


@dataclass(frozen=True, eq=False)
class Text:
    """A JSON string of a String expression; null leaves its member out."""

    value: pl.Expr


@dataclass(frozen=True, eq=False)
class Raw:
    """Text that is JSON already (a number, `true`); null leaves its member out."""

    value: pl.Expr


@dataclass(frozen=True, eq=False)
class Obj:
    """A JSON object: its members in order, each left out where its value is null."""

    members: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, eq=False)
class Arr:
    """A JSON array of one element (null where the element is)."""

    element: Node


@dataclass(frozen=True, eq=False)
class When:
    """`value` where `condition` holds, else null (the member left out)."""

    condition: pl.Expr
    value: Node


Node = Text | Raw | Obj | Arr | When


def obj(*members: tuple[str, Node]) -> Obj:
    """An object of (key, value) members, in order."""
    return Obj(tuple(members))


def literal(value: object) -> Raw:
    """A constant as `json.dumps` writes it."""
    return Raw(pl.lit(json.dumps(value, ensure_ascii=False)))


def boolean(value: pl.Expr) -> Raw:
    """A Boolean expression as `true` or `false` (null stays null)."""
    return Raw(pl.when(value).then(pl.lit("true")).when(~value).then(pl.lit("false")))


def number_text(value: pl.Expr) -> pl.Expr:
    """A Decimal as JSON writes `json_value(value)`: integral as an int, else the shortest float.

    For amounts of at most 15 significant digits and 4 decimals (checks.MONEY) the float's
    shortest repr is the decimal's own digits, so trailing zeros (and a bare point) go.
    """
    text = value.cast(pl.String)
    trimmed = text.str.strip_chars_end("0").str.strip_chars_end(".")
    fraction = pl.when(text.str.contains(".", literal=True)).then(trimmed).otherwise(text)
    # -0.0000 is int(0) to json_value; strip leaves "-0" or "" for it.
    return pl.when(value == 0).then(pl.lit("0")).otherwise(fraction)


def datetime_text(value: pl.Expr) -> pl.Expr:
    """A datetime as `json_value` writes it: Norce's `YYYY-MM-DDTHH:MM:SS` (UTC when aware)."""
    return value.dt.strftime("%Y-%m-%dT%H:%M:%S")


def encode(rows: pl.DataFrame, item: Node) -> pl.Series:
    """Each row's item as one JSON text."""
    return rows.select(compile_item(rows, item).alias("json")).to_series()


def compile_item(rows: pl.DataFrame, item: Node) -> pl.Expr:
    """The expression of each row's JSON text, planned for `rows` (and any slice of them).

    One scan of the rows finds which strings need escaping and whether each object's first
    member is ever null: where it is not, the object opens with it and every other member
    brings its own comma, so an item is one flat concatenation with its optional members
    as pieces that are null as a whole.
    """
    leaves, firsts = list(_leaves(item)), list(_firsts(item))
    texts = [leaf for leaf in leaves if isinstance(leaf, Text)]
    checks = [leaf.value.is_null().any().alias(f"n{n}") for n, leaf in enumerate(firsts)]
    checks += [
        leaf.value.str.contains(_NEEDS_ESCAPE).any().fill_null(False).alias(f"e{n}")
        for n, leaf in enumerate(texts)
    ]
    found = rows.select(checks).row(0, named=True) if rows.height and checks else {}
    never_null = {id(leaf) for n, leaf in enumerate(firsts) if found.get(f"n{n}") is False}
    plan = _Plan(
        # Only first members are scanned: any other leaf is a piece of its own either way.
        nullable={id(leaf) for leaf in leaves if id(leaf) not in never_null},
        escaped={id(leaf) for n, leaf in enumerate(texts) if found.get(f"e{n}", True)},
    )
    return plan.text(item)


def _leaves(node: Node) -> Iterator[Text | Raw]:
    if isinstance(node, Text | Raw):
        yield node
    elif isinstance(node, Obj):
        for _, value in node.members:
            yield from _leaves(value)
    elif isinstance(node, Arr):
        yield from _leaves(node.element)
    else:
        yield from _leaves(node.value)


def _firsts(node: Node) -> Iterator[Text | Raw]:
    """The leaves that are the first member of an object (in an array or not)."""
    if isinstance(node, Obj):
        first = node.members[0][1] if node.members else Obj(())
        while isinstance(first, Arr):
            first = first.element
        if isinstance(first, Text | Raw):
            yield first
        for _, value in node.members:
            yield from _firsts(value)
    elif isinstance(node, Arr):
        yield from _firsts(node.element)
    elif isinstance(node, When):
        yield from _firsts(node.value)


@dataclass(frozen=True)
class _Plan:
    """What the scan found: leaves that hold a null somewhere, strings that need escaping."""

    nullable: set[int]
    escaped: set[int]

    def text(self, node: Node) -> pl.Expr:
        """The node's JSON text, null where the node is absent."""
        if isinstance(node, Raw):
            return node.value
        if isinstance(node, When):
            return pl.when(node.condition).then(self.text(node.value))
        if self._may_be_null(node):  # a string, or an array of one: null as a whole
            return _concat(self._pieces(node), ignore_nulls=False)
        # An optional member inside is one piece, null as a whole: left out by ignore_nulls.
        return _concat(self._pieces(node), ignore_nulls=True)

    def _pieces(self, node: Node) -> list[str | pl.Expr]:
        """The node's text as pieces to concatenate; a null piece is an absent member."""
        if isinstance(node, Text):
            text = node.value
            if id(node) in self.escaped:
                text = text.str.replace_many(list(_ESCAPES), list(_ESCAPES.values()))
            return ['"', text, '"']
        if isinstance(node, Raw | When):
            return [self.text(node)]
        if isinstance(node, Arr):
            return ["[", *self._pieces(node.element), "]"]
        if not node.members:
            return ["{}"]
        (first, value), *rest = node.members
        if self._may_be_null(value):
            return [self._commas_between(node)]
        pieces: list[str | pl.Expr] = ["{", _key(first), *self._pieces(value)]
        for key, member in rest:
            if isinstance(member, When):
                pieces.append(pl.concat_str([pl.lit("," + _key(key)), self.text(member)]))
            elif self._may_be_null(member):  # a string or number, alone or in an array
                pieces.append(_concat(["," + _key(key), *self._pieces(member)], ignore_nulls=False))
            else:
                pieces += ["," + _key(key), *self._pieces(member)]
        return [*pieces, "}"]

    def _commas_between(self, node: Obj) -> pl.Expr:
        """An object whose first member may be absent: commas only between those present."""
        members = [pl.concat_str([pl.lit(_key(k)), self.text(v)]) for k, v in node.members]
        joined = pl.concat_str(members, separator=",", ignore_nulls=True)
        return pl.concat_str([pl.lit("{"), joined, pl.lit("}")])

    def _may_be_null(self, node: Node) -> bool:
        if isinstance(node, When):
            return True
        if isinstance(node, Text | Raw):
            return id(node) in self.nullable
        if isinstance(node, Arr):
            return self._may_be_null(node.element)
        return False


def _key(name: str) -> str:
    return json.dumps(name, ensure_ascii=False) + ":"


def _concat(pieces: Sequence[str | pl.Expr], *, ignore_nulls: bool) -> pl.Expr:
    """One concatenation, neighbouring constants merged into one literal."""
    merged: list[str | pl.Expr] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    exprs = [pl.lit(p) if isinstance(p, str) else p for p in merged]
    return pl.concat_str(exprs, ignore_nulls=ignore_nulls)


class JsonRows(Sequence[JsonObject]):
    """A call's items as rows of a frame and the tree that makes each one's JSON.

    Nothing is encoded until the call's body is asked for, so a run of a thousand calls holds
    one call's JSON at a time. Reading items (tests, the customer scrubber) decodes them.
    """

    def __init__(self, rows: pl.DataFrame, item: Node, text: pl.Expr | None = None) -> None:
        self._rows = rows
        self._item = item
        self._text = text  # compiled for rows this frame is a slice of (see `chunks`)

    def __len__(self) -> int:
        return self._rows.height

    @overload
    def __getitem__(self, index: int) -> JsonObject: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[JsonObject]: ...

    def __getitem__(self, index: int | slice) -> JsonObject | Sequence[JsonObject]:
        if isinstance(index, slice):
            return list(self)[index]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        row = self._rows.slice(index % len(self), 1)
        decoded: JsonObject = json.loads(encode(row, self._item)[0])
        return decoded

    def __iter__(self) -> Iterator[JsonObject]:
        for text in self.texts():
            yield json.loads(text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def texts(self) -> list[str]:
        """Each item's JSON text, in row order."""
        if not self._rows.height:
            return []
        return self._encoded().to_list()

    def body(self) -> bytes:
        """The call's body: the items as one JSON array, as `json.dumps` writes it."""
        if not self._rows.height:
            return b"[]"
        joined: bytes = self._encoded().str.join(",").cast(pl.Binary).item()
        return b"[" + joined + b"]"

    def chunks(self, size: int) -> Iterator[JsonRows]:
        """Consecutive parts of at most `size` rows (slices: no copy of the frame).

        The parts share one plan, made by one scan of all the rows instead of one per part.
        """
        text = self._compiled()
        for start in range(0, self._rows.height, size):
            yield JsonRows(self._rows.slice(start, size), self._item, text)

    def _compiled(self) -> pl.Expr:
        if self._text is None:
            self._text = compile_item(self._rows, self._item)
        return self._text

    def _encoded(self) -> pl.Series:
        return self._rows.select(self._compiled().alias("json")).to_series()
