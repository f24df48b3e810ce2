"""A contract's [derive] and [values]: an ERP cell's text turned into the canonical field's text.

A cell is first derived (a regular expression picks the field out of it), then mapped (exact
entries, then patterns in order). Python's `re` does both, as it checked the patterns when
the contract loaded; each distinct cell is converted once, so a column of a million rows
with a few countries costs a few calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from etl.contracts import DeriveSpec, FeedContract, ValueMap
from etl.messages import NO_MATCH, UNMAPPED


@dataclass(frozen=True)
class Conversion:
    """How one field's text is made from the cell of its ERP column."""

    column: str
    derive: re.Pattern[str] | None
    values: ValueMap | None
    exact: dict[str, str]  # the map's entries, their keys case-folded when case is ignored

    def __call__(self, cell: str) -> tuple[str | None, str | None]:
        """(the field's text, None), or (None, the check that failed)."""
        text = cell
        if self.derive is not None:
            found = self.derive.search(cell)
            text = "" if found is None else found.group(1 if found.re.groups else 0) or ""
            if not text:  # an empty group is no value: never a silent null
                return None, f"{NO_MATCH}({self.column})"
        if self.values is None:
            return text, None
        return self._mapped(text, self.values)

    def _mapped(self, text: str, values: ValueMap) -> tuple[str | None, str | None]:
        """Exact entries first, then the first pattern that matches; else kept or refused."""
        found = self.exact.get(text.casefold() if values.ignore_case else text)
        if found is not None:
            return found, None
        flags = re.IGNORECASE if values.ignore_case else 0
        for pattern in values.patterns:
            match = re.search(pattern.match, text, flags)
            if match and (found := match.expand(pattern.to)):  # an empty result is no value
                return found, None
        if values.unmapped == "reject":
            return None, UNMAPPED
        return text, None


def conversions(contract: FeedContract) -> dict[str, Conversion]:
    """Field -> its conversion, for every field the contract derives or maps values of."""
    sources = contract.field_sources()
    return {
        field: Conversion(
            sources[field],
            _compiled(contract.derive.get(field)),
            contract.values.get(field),
            _exact(contract.values.get(field)),
        )
        for field in sorted(set(contract.derive) | set(contract.values))
    }


def _compiled(spec: DeriveSpec | None) -> re.Pattern[str] | None:
    return None if spec is None else re.compile(spec.pattern)


def _exact(values: ValueMap | None) -> dict[str, str]:
    if values is None:
        return {}
    if values.ignore_case:
        return {erp.casefold(): canonical for erp, canonical in values.map.items()}
    return dict(values.map)


def read_from(contract: FeedContract, field: str, value: str | None, raw: str | None) -> str:
    """Words for a report message: where a canonical value that differs from the file's came from."""
    if value is None or raw is None or value == raw:
        return ""
    derived = contract.derive.get(field)
    if derived is not None:
        return f" (read from {derived.column} {raw!r} by [derive.{field}])"
    return f" (the file has {raw!r}, mapped by [values.{field}])"
