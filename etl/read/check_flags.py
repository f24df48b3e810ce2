"""The checks of a pandera schema as one polars plan: a flag per check and row.

pandera runs each check as a query of its own over every row, then gathers each check's
failure cases apart. Where every check judges a row by its own cells (no check over the
whole frame, no uniqueness), the same check functions run here in one lazy plan, with
pandera's rule for a null outcome, and the failed cells are read off the flags in pandera's
order and with pandera's check names (tests/read/validate/test_flagged_failures.py holds
them to pandera's own).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pandera.polars as pa
import polars as pl
from pandera.api.function_dispatch import Dispatcher
from pandera.api.polars.types import PolarsData

from etl.entities.checks import NORCE_CODE

# Checks that judge each row by its own cells, so the rows they fail can be checked apart.
ROW_CHECKS = frozenset(
    {
        "str_matches", "str_length", "str_contains", "str_startswith", "str_endswith",
        "in_range", "isin", "notin", "equal_to", "not_equal_to", "greater_than",
        "greater_than_or_equal_to", "less_than", "less_than_or_equal_to",
        "checksum", "email", "country", "org_no", NORCE_CODE,
    }
)  # fmt: skip


# One flag per check pandera would run: (field, pandera's name for the check, per row
# True where the check fails that row).
Flag = tuple[str, str, pl.LazyFrame]
NOT_NULLABLE = "not_nullable"  # pandera's name for a required cell found empty


def suspects(typed: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.Series | None:
    """Per row: does any check of `schema` fail it (or a required cell lack)? None: cannot tell."""
    flags = check_flags(typed, schema)
    return None if flags is None else any_flag(typed, flags)


def check_flags(typed: pl.DataFrame, schema: pa.DataFrameSchema) -> list[Flag] | None:
    """The checks of `schema` as flags of one lazy plan, in the order pandera runs them.

    The same check functions pandera applies, with its rule for a null outcome. A schema with
    a check over the whole frame or one not known to judge rows alone gives None.
    """
    if schema.checks or any(c.unique or c.regex for c in schema.columns.values()):
        return None
    lazy, flags = typed.lazy(), []
    for name, column in schema.columns.items():
        if name not in typed.columns:
            return None  # pandera says what is wrong with the frame
        if not column.nullable:
            empty = pl.col(name).is_null()
            if typed.schema[name].is_float():  # pandera counts NaN as empty too
                empty = empty | pl.col(name).is_nan()
            flags.append((name, NOT_NULLABLE, lazy.select(empty)))
        for check in column.checks:
            if check.name not in ROW_CHECKS or check.element_wise or check.groupby is not None:
                return None
            if check.raise_warning or check.n_failure_cases is not None:
                return None  # pandera warns only, or lists only some failures
            try:
                out = _check_function(check)(PolarsData(lazy, name), **check._check_kwargs)
            except KeyError:  # a built-in check registered for another backend's data only
                return None
            if not isinstance(out, pl.LazyFrame):
                return None
            passed = pl.all_horizontal(pl.all())
            kept = passed | passed.is_null() if check.ignore_na else passed.fill_null(False)
            flags.append((name, _check_name(check), out.select(~kept)))
    return flags


def _check_name(check: pa.Check) -> str:
    """The name pandera gives a failed check in its failure cases."""
    return check.error if check.error is not None else (check.name or str(check))


def plain_columns(typed: pl.DataFrame, schema: pa.DataFrameSchema) -> bool:
    """Whether pandera would only run the checks: no coercion, defaults, parsers or column
    rules of the frame, and every column already of its type (else pandera reports it)."""
    frame_rules = schema.coerce or schema.strict or schema.ordered or schema.parsers
    if frame_rules or schema.add_missing_columns or schema.drop_invalid_rows:
        return False
    for name, column in schema.columns.items():
        if column.coerce or column.default is not None or column.parsers:
            return False
        if column.dtype is not None and typed.schema[name] != column.dtype.type:
            return False
    return True


def _flag_frame(flags: list[Flag]) -> pl.DataFrame:
    """Every flag (at least one) as a column `_0`, `_1`... of one frame, in one plan."""
    named = [f.select(pl.all().alias(f"_{i}")) for i, (_, _, f) in enumerate(flags)]
    return pl.concat(named, how="horizontal").collect()


def any_flag(typed: pl.DataFrame, flags: list[Flag]) -> pl.Series:
    """Per row: whether any flag is up (a schema without checks: none)."""
    if not flags:
        return pl.Series("_suspect", [False] * typed.height, dtype=pl.Boolean)
    return _flag_frame(flags).select(pl.any_horizontal(pl.all())).to_series()


def flagged(typed: pl.DataFrame, flags: list[Flag]) -> pl.DataFrame:
    """(_row, field, check) of each raised flag: field by field, check by check, row by row,
    as pandera lists its failure cases."""
    if not flags:  # as validation's own empty failures
        return pl.DataFrame(schema={"_row": pl.UInt32, "field": pl.String, "check": pl.String})
    raised = _flag_frame(flags).with_columns(typed["_row"])
    # The few rows with a flag up first: each flag is then read on those rows only.
    raised = raised.filter(pl.any_horizontal(pl.exclude("_row")))
    # One unpivot, not a filter per flag: it stacks the flags' columns in order, each in row
    # order, as pandera lists them (a batch's fixed cost, ~20 plans fewer per validation).
    names = [f"_{i}" for i in range(len(flags))]
    stacked = raised.unpivot(on=names, index="_row").filter(pl.col("value"))
    fields = [field for field, _, _ in flags]
    checks = [check for _, check, _ in flags]
    which = pl.col("variable")
    return stacked.select(
        "_row",
        which.replace_strict(names, fields, return_dtype=pl.String).alias("field"),
        which.replace_strict(names, checks, return_dtype=pl.String).alias("check"),
    )


def _check_function(check: pa.Check) -> Callable[..., object]:
    """The function a check applies; a built-in one from pandera's registry as it is now.

    A schema copied (update_column) before pandera registered its polars checks holds a
    copy of the dispatcher that knows no PolarsData yet.
    """
    if isinstance(check._check_fn, Dispatcher):
        return cast(Callable[..., object], pa.Check.get_builtin_check_fn(check.name or ""))
    return cast(Callable[..., object], check._check_fn)
