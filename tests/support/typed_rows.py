"""Generated typed frames for a contract's checks: cells each check may pass or fail.

Validation screens rows in one lazy plan and reads failures off it instead of pandera
(etl.read.validate); tests/read/validate holds both to pandera run on the whole frame.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
from hypothesis import strategies as st

from etl.config.contracts import FeedContract
from etl.models import LINE

TEXTS = (
    None, "", "A1", "S0000001", "åäö", "x" * 300, "7350000000012", "7350000000013",
    "12345678", "a@b.se", "not an email", "SE", "XX", "5560000009", "556000-0009",
    "B2C-SEK", "SEK", "MAIN", " lead", "DK12345678",
)  # fmt: skip
NUMBERS = (None, Decimal(-1), Decimal(0), Decimal("25"), Decimal("100.5"), Decimal(10) ** 13)


def cell_values(dtype: pl.DataType) -> st.SearchStrategy[object]:
    """Values of `dtype` that pass and fail the shipped checks."""
    if dtype == pl.String:
        return st.sampled_from(TEXTS)
    if dtype == pl.Boolean:
        return st.sampled_from((None, True, False))
    if isinstance(dtype, pl.Datetime):
        return st.sampled_from((None, datetime(2026, 1, 1, tzinfo=UTC)))
    if dtype == pl.Date:
        return st.sampled_from((None, date(1800, 1, 1), date(2026, 1, 1)))
    if dtype.is_integer():
        return st.sampled_from((None, -5, 0, 1, 10**6))
    return st.sampled_from(NUMBERS)


def typed_rows(
    contract: FeedContract, max_size: int = 12
) -> st.SearchStrategy[list[dict[str, object]]]:
    """Lists of rows with a cell for every field of the contract's entity."""
    fields = contract.entity.fields()
    one = st.fixed_dictionaries({f: cell_values(d) for f, d in fields.items()})
    return st.lists(one, min_size=1, max_size=max_size)


def typed_frame(contract: FeedContract, rows: list[dict[str, object]]) -> pl.DataFrame:
    """The rows as validation types them: `_row` and LINE beside the fields."""
    fields = contract.entity.fields()
    frame = pl.DataFrame(rows, schema=fields, orient="row")
    return frame.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64).alias(LINE))
