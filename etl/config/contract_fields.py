"""A feed contract's per-field tables: [checks], [rounding], [values] and [derive].

What is checked of each canonical field beyond the entity's own rules, how longer decimals
are rounded, how ERP values map to canonical ones, and fields read from a column by a
regular expression. Patterns applied to cells are checked in the syntax polars runs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from etl.config import rust_regex
from etl.config.toml import Strict


def _runs_in_polars(value: str) -> str:
    said = rust_regex.problem(value)
    if said is not None:
        raise ValueError(f"not a regular expression polars can run (Rust regex syntax): {said}")
    return value


# A pattern applied to cells: polars runs it (linear time: a hostile cell cannot hang a run),
# so it is checked in polars' syntax, which has no look-around and no backreferences.
CellRegex = Annotated[str, AfterValidator(_runs_in_polars)]


class FieldChecks(Strict):
    """Extra checks on one canonical field, on top of the entity's own rules."""

    required: bool = False
    pattern: CellRegex | None = None  # a regular expression the whole value must match
    min: float | None = None
    max: float | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1)
    allowed: tuple[str, ...] | None = None
    # A code field's own rule: "strict" (letters, digits, . _ / -, no spaces: safe anywhere)
    # or "norce" (any printable text Norce takes: Magento SKUs "MH01 XS Black", customer
    # group "ALL GROUPS"). Per field, next to its other checks, rather than a list under
    # [checks]: one table says all that is checked of a field, and its key names the field.
    code: Literal["strict", "norce"] = "strict"

    @model_validator(mode="before")
    @classmethod
    def _no_contract_keys(cls, data: Any) -> Any:
        # A key of the whole [checks] table written under a field's table would only be
        # "Extra inputs are not permitted", which does not say where it goes.
        given = set(data) if isinstance(data, dict) else set()
        misplaced = sorted((set(ChecksSpec.model_fields) - {"fields"}) & given)
        if misplaced:
            raise PydanticCustomError(
                "misplaced_key",
                "{key} belongs in [checks], not in a field's [checks.fields.<field>] table: "
                "it applies to the whole file",
                {"key": misplaced[0]},
            )
        return data


class RoundingSpec(Strict):
    """How one decimal field's longer values are rounded when read ([rounding])."""

    places: int = Field(ge=0)  # decimals kept; at most what the field keeps
    # Declared, never assumed: half_even (banker's) and half_up (ties away from zero) differ.
    mode: Literal["half_even", "half_up"]


class ValuePattern(Strict):
    """One pattern of a value map: a value it matches becomes `to` (\\1 is the first group)."""

    match: CellRegex
    to: str = Field(min_length=1)

    @model_validator(mode="after")
    def _groups_exist(self) -> ValuePattern:
        # polars would put nothing for a group `match` lacks: refused here, not on a file.
        rust_regex.replacement(self.to, self.match)
        return self


class ValueMap(Strict):
    """ERP values -> canonical ones for one field ([values.<field>]).

    The entries sit under `map`, apart from the options, so a value the ERP writes can never
    be read as an option, and a misspelt option is refused instead of mapping a value.
    """

    map: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    patterns: tuple[ValuePattern, ...] = ()  # tried in order, after the exact entries
    # keep: a value neither names passes through and the field's checks decide;
    # reject: its row is rejected as `unmapped_value` (a new value the map must learn).
    unmapped: Literal["keep", "reject"] = "keep"
    ignore_case: bool = False  # exact entries and patterns match in any case


class DeriveSpec(Strict):
    """A field read from a column by a regular expression ([derive.<field>])."""

    column: str  # the ERP column (or XML path) read
    pattern: CellRegex  # searched in the cell: its group, or the whole match, is the field

    @field_validator("pattern")
    @classmethod
    def _one_group(cls, pattern: str) -> str:
        # With two groups either could be meant ('[(USD)]|((USD))'): one, so none is guessed.
        if len(rust_regex.groups(pattern)) > 1:
            raise ValueError(
                "more than one capturing group: keep the field's, use (?:...) for the others"
            )
        return pattern


class ChecksSpec(Strict):
    """Contract-level validation: extra field checks and the suspect-file threshold."""

    # More than this share of rows rejected: the whole file is refused as suspect
    # instead of being half applied (None: no limit).
    max_rejected_ratio: float | None = Field(default=None, ge=0, le=1)
    # More rejected rows than this in the feed's latest committed file: a problem in
    # `status` and an alert (None: never). A few bad rows are Finance's, through the report.
    alert_rejected_rows: int | None = Field(default=10, ge=0)
    fields: dict[str, FieldChecks] = Field(default_factory=dict)
    # Rows with the same key: all rejected (`reject`), or, where they agree on every field,
    # taken once (`merge_identical`: a company repeated on each of its contacts' rows).
    same_key_rows: Literal["reject", "merge_identical"] = "reject"
