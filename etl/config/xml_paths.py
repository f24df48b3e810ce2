"""The XML field paths a contract may write: a small, closed grammar, never general XPath.

    path       = [step "/"]* last
    last       = step | "@" name | "position()"
    step       = name ["[" ("@" name | name) "=" literal "]"]
    literal    = '...' or "..."

`Lines/Line/@no`, `PARTY[PARTY_ROLE='delivery']/ADDRESS/NAME`, `Party[@role="ship"]/Name`,
`cac:InvoiceLine/position()`. A predicate compares one child's text (any of them, when the
child repeats) or one attribute with a literal, as XPath's `[child='x']` does. No functions
(besides `position()` at the end), axes, wildcards or numbers: the reader streams, so every
path must be decidable from one pass with one record in memory, and a contract must not be
a way to run arbitrary XPath over an ERP's file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME = r"[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?"
_STEP = re.compile(
    rf"(?P<name>{NAME})(?:\[\s*(?P<at>@?)(?P<test>{NAME})\s*=\s*"
    r"(?:'(?P<single>[^']*)'|\"(?P<double>[^\"]*)\")\s*\])?"
)
_LAST = re.compile(rf"@(?P<attribute>{NAME})$|(?P<position>position\(\))$")
POSITION = "position()"


@dataclass(frozen=True)
class Predicate:
    """`[child='x']` or `[@attr='x']` on one step."""

    attribute: bool
    name: str
    value: str

    def __str__(self) -> str:
        return f"[{'@' if self.attribute else ''}{self.name}={self.value!r}]"


@dataclass(frozen=True)
class Step:
    """One element step and its predicate, if any."""

    name: str
    predicate: Predicate | None = None


@dataclass(frozen=True)
class FieldPath:
    """A parsed field path: element steps below the record, then an attribute or position()."""

    steps: tuple[Step, ...]
    attribute: str | None = None
    position: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """The element names of the steps, predicates left out."""
        return tuple(s.name for s in self.steps)


def parse_field(path: str) -> FieldPath:
    """The parsed path; ValueError when it is not in the grammar above."""
    steps: list[Step] = []
    at = 0
    while True:
        last = _LAST.match(path, at)
        if last:
            return FieldPath(tuple(steps), last["attribute"], last["position"] is not None)
        step = _STEP.match(path, at)
        if not step:
            raise ValueError(f"{path!r} is not a usable path")
        predicate = None
        if step["test"]:
            value = step["single"] if step["single"] is not None else step["double"]
            predicate = Predicate(bool(step["at"]), step["test"], value)
        steps.append(Step(step["name"], predicate))
        at = step.end()
        if at == len(path):
            return FieldPath(tuple(steps))
        if path[at] != "/" or at + 1 == len(path):
            raise ValueError(f"{path!r} is not a usable path")
        at += 1
