"""Query's `$filter`, as far as our client writes it: `and`, `or`, parentheses, `eq` and `gt`
over typed properties, unquoted UTC date-times, quoted strings with doubled quotes, `null` only
where a property is nullable. Anything else is a BadQuery naming what was wrong."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]


class BadQuery(Exception):
    """The request is not one Norce Query (as our client uses it) would answer; a 400."""


@dataclass(frozen=True)
class Prop:
    """A property `$filter` may name: its token kind and whether it may be null."""

    kind: str  # int | string | datetime: the token kinds of `_TOKEN`
    nullable: bool = False


_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<string>'(?:[^']|'')*')"
    r"|(?P<datetime>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)"
    r"|(?P<int>-?\d+)(?![\w:.-])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)
_NULL = object()


def _tokens(text: str) -> list[tuple[str, str]]:
    found, at = [], 0
    while at < len(text.rstrip()):
        match = _TOKEN.match(text, at)
        if match is None or match.lastgroup is None:
            raise BadQuery(f"$filter: cannot read {text[at : at + 30]!r}")
        found.append((match.lastgroup, match.group(match.lastgroup)))
        at = match.end()
    return found


class _Parser:
    """Recursive descent over `or` (loosest), `and`, parentheses and comparisons."""

    def __init__(self, text: str, props: Mapping[str, Prop]) -> None:
        self.tokens, self.props, self.at = _tokens(text), props, 0

    def parse(self) -> Predicate:
        predicate = self._or()
        if self.at != len(self.tokens):
            raise BadQuery(f"$filter: unexpected {self.tokens[self.at][1]!r}")
        return predicate

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _next(self, what: str) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise BadQuery(f"$filter: ends where {what} was expected")
        self.at += 1
        return token

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek() == ("word", "or"):
            self.at += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._atom()]
        while self._peek() == ("word", "and"):
            self.at += 1
            parts.append(self._atom())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def _atom(self) -> Predicate:
        if self._peek() == ("open", "("):
            self.at += 1
            inner = self._or()
            if self._next("')'") != ("close", ")"):
                raise BadQuery("$filter: missing ')'")
            return inner
        kind, name = self._next("a property")
        if kind != "word" or name not in self.props:
            raise BadQuery(f"$filter: {name!r} is not a filterable property here")
        _, op = self._next("an operator")
        if op not in ("eq", "gt"):
            raise BadQuery(f"$filter: operator {op!r} is not supported (eq, gt)")
        value = self._literal(name, self.props[name], op)
        return _comparison(name, op, value)

    def _literal(self, name: str, prop: Prop, op: str) -> Any:
        kind, text = self._next("a value")
        if kind == "word" and text == "null":
            if op != "eq" or not prop.nullable:
                raise BadQuery(f"$filter: {name} {op} null is not a valid comparison")
            return _NULL
        if kind != prop.kind:
            raise BadQuery(f"$filter: {name} is {prop.kind}, got {kind} {text!r}")
        if kind == "string":
            if op != "eq":
                raise BadQuery(f"$filter: {name} {op} on a string is not supported")
            return text[1:-1].replace("''", "'")
        if kind == "datetime":
            return dt.datetime.fromisoformat(text)
        return int(text)


def _comparison(name: str, op: str, value: Any) -> Predicate:
    def test(row: Mapping[str, Any]) -> bool:
        actual = row.get(name)
        if value is _NULL:
            return actual is None
        if actual is None:
            return False
        if isinstance(value, dt.datetime):
            actual = instant(actual)
        if isinstance(value, str) and isinstance(actual, str):
            # SQL Server's default collation, under Query, compares text without case.
            return actual.casefold() == value.casefold()
        return bool(actual == value if op == "eq" else actual > value)

    return test


def instant(text: str) -> dt.datetime:
    """An ISO date-time as an aware instant; one without an offset is taken as UTC."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def parse_filter(text: str, props: Mapping[str, Prop]) -> Predicate:
    """A row predicate for a `$filter`, or BadQuery."""
    return _Parser(text, props).parse()
