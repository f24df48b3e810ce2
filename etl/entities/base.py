"""What every canonical entity provides: its pandera schema, key, options and Norce calls.

The pandera schema is the single source of truth for an entity's fields: their polars
types (the cast step reads them), which are required (not nullable) and their checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandera.polars as pa
import polars as pl
from pydantic import BaseModel, ConfigDict

from etl.entities.calls import NorceCall
from etl.models import Delta


class EntityOptions(BaseModel):
    """Per-feed options an entity accepts in the contract's [options] table."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class CallContext:
    """What payload builders need besides the delta.

    carried: the canonical fields the feed's contract maps or defaults. A payload lists and
    sends those only: what the contract does not carry is never touched in Norce.
    create_only: the carried fields the ERP only seeds (the contract's `create_only`): sent
    on adds under their CreateOnly numbers, never on changes or reactivations.
    """

    account_id: int
    chunk_size: int
    options: EntityOptions
    carried: frozenset[str]
    create_only: frozenset[str] = frozenset()


BuildCalls = Callable[[Delta, CallContext], list[NorceCall]]


@dataclass(frozen=True)
class Entity:
    """A canonical entity: schema, key, options model and payload builder."""

    name: str
    schema: pa.DataFrameSchema
    key: tuple[str, ...]
    options_model: type[EntityOptions]
    build_calls: BuildCalls
    # Plain-language meaning of each field, shown to people in reports and docs/feed-contracts.md.
    labels: Mapping[str, str]
    # Rows about people: reports leave out the raw line (names, addresses of the whole
    # row) and mask these fields' values; logs never carry row values at all.
    personal: frozenset[str] | None = None
    # Fields Norce has a CreateOnly number for, which a contract may declare `create_only`.
    seedable: frozenset[str] = frozenset()

    def fields(self) -> dict[str, pl.DataType]:
        """Canonical field name -> polars type, in schema order."""
        return {name: col.dtype.type for name, col in self.schema.columns.items()}

    def required_fields(self) -> list[str]:
        """Fields that must have a value in every row."""
        return [name for name, col in self.schema.columns.items() if not col.nullable]

    def parse_options(self, raw: Mapping[str, Any]) -> EntityOptions:
        """Check the contract's [options] table against this entity's options model."""
        return self.options_model.model_validate(dict(raw))
