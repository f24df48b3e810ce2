"""A contract's [derive] and [values]: an ERP cell's text turned into the canonical field's text.

A cell is first derived (a regular expression picks the field out of it), then mapped (exact
entries, then patterns in order). polars runs the patterns (Rust regex: linear time, so a
hostile cell cannot hang a run; see etl.config.rust_regex); each distinct cell is converted once,
so a column of a million rows with a few countries costs a few lookups.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from etl.config.contract_fields import DeriveSpec, ValueMap, ValuePattern
from etl.config.contracts import FeedContract
from etl.config.rust_regex import groups, replacement, searched
from etl.read.messages import NO_MATCH, UNMAPPED

Converted = tuple[list[str | None], list[str | None]]  # per cell: the text, the check it failed


@dataclass(frozen=True)
class Conversion:
    """How one field's text is made from the cell of its ERP column."""

    column: str
    derive: DeriveSpec | None
    values: ValueMap | None
    exact: dict[str, str]  # the map's entries, their keys case-folded when case is ignored

    def convert(self, cells: pl.Series) -> Converted:
        """For each (distinct, non-null) cell: the field's text and the check that failed."""
        texts: list[str | None] = cells.to_list()
        failed: list[str | None] = [None] * len(texts)
        if self.derive is not None:
            pattern = self.derive.pattern
            # At most one group (checked at load): it is the field, else the whole match.
            found = cells.str.extract(pattern, 1 if groups(pattern) else 0).to_list()
            refused = f"{NO_MATCH}({self.column})"
            # An empty group is no value: never a silent null.
            failed = [None if f else refused for f in found]
            texts = [f or None for f in found]
        if self.values is not None:
            texts, failed = self._mapped(texts, failed, self.values)
        return texts, failed

    def _mapped(
        self, texts: list[str | None], failed: list[str | None], values: ValueMap
    ) -> Converted:
        """Exact entries first, then the first pattern that matches; else kept or refused."""
        fold = values.ignore_case
        out = [None if t is None else self.exact.get(t.casefold() if fold else t) for t in texts]
        for pattern in values.patterns:
            out = _by_pattern(out, texts, pattern, fold)
        if values.unmapped == "keep":
            return [t if o is None else o for o, t in zip(out, texts, strict=True)], failed
        refused = [
            f or (UNMAPPED if o is None and t is not None else None)
            for f, o, t in zip(failed, out, texts, strict=True)
        ]
        return out, refused


def _by_pattern(
    out: list[str | None], texts: list[str | None], pattern: ValuePattern, fold: bool
) -> list[str | None]:
    """`out` with the texts still unmapped that `pattern` matches mapped by it."""
    todo = pl.Series([t if o is None else None for o, t in zip(out, texts, strict=True)])
    whole = searched(pattern.match, fold)
    made = todo.cast(pl.String).str.replace(whole, replacement(pattern.to, pattern.match))
    hit = todo.cast(pl.String).str.contains(whole)
    # An empty result is no value: a later pattern may still match.
    return [
        (m or None) if o is None and h else o
        for o, m, h in zip(out, made.to_list(), hit.to_list(), strict=True)
    ]


def conversions(contract: FeedContract) -> dict[str, Conversion]:
    """Field -> its conversion, for every field the contract derives or maps values of."""
    sources = contract.field_sources()
    return {
        field: Conversion(
            sources[field],
            contract.derive.get(field),
            contract.values.get(field),
            _exact(contract.values.get(field)),
        )
        for field in sorted(set(contract.derive) | set(contract.values))
    }


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
