"""The one-plan screen before pandera never lets a failing row through.

Validation runs pandera only on the rows some check fails in one lazy plan (issue 18). That
is exact only if every row pandera fails on the whole frame is among them: checked here on
generated frames for each shipped master-data contract, against pandera run whole.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pandera.errors
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.config.contract_files import load_contracts
from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.models import LINE
from etl.read.validate import _suspects, contract_schema

TEXTS = (
    None, "", "A1", "S0000001", "åäö", "x" * 300, "7350000000012", "7350000000013",
    "12345678", "a@b.se", "not an email", "SE", "XX", "5560000009", "556000-0009",
    "B2C-SEK", "SEK", "MAIN", " lead", "DK12345678",
)  # fmt: skip
NUMBERS = (None, Decimal(-1), Decimal(0), Decimal("25"), Decimal("100.5"), Decimal(10) ** 13)


def _values(dtype: pl.DataType) -> st.SearchStrategy[object]:
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


def _frame(contract: FeedContract, rows: list[dict[str, object]]) -> pl.DataFrame:
    fields = contract.entity.fields()
    frame = pl.DataFrame(rows, schema=fields, orient="row")
    return frame.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64).alias(LINE))


def _rows(contract: FeedContract) -> st.SearchStrategy[list[dict[str, object]]]:
    fields = contract.entity.fields()
    one = st.fixed_dictionaries({f: _values(d) for f, d in fields.items()})
    return st.lists(one, min_size=1, max_size=12)


def _pandera_whole(typed: pl.DataFrame, contract: FeedContract) -> set[int]:
    try:
        contract_schema(contract).validate(typed, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = pl.DataFrame(exc.failure_cases)
        return set(cases["index"].drop_nulls().cast(pl.Int64).to_list())
    return set()


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FeedContract]:
    from tests.support.paths import SCHEMAS

    home = Path(tmp_path_factory.mktemp("home"))
    return load_contracts(Settings(home=home, schemas_dir=SCHEMAS))


@pytest.mark.parametrize("feed", ["products", "prices", "stock", "customers", "companies"])
def test_every_row_pandera_fails_is_screened(shipped: dict[str, FeedContract], feed: str) -> None:
    contract = shipped[feed]

    @settings(max_examples=12, deadline=None)
    @given(rows=_rows(contract))
    def check(rows: list[dict[str, object]]) -> None:
        typed = _frame(contract, rows)
        suspects = _suspects(typed, contract_schema(contract))
        assert suspects is not None, "the shipped checks all judge rows alone"
        flagged = set(typed.filter(suspects)["_row"].cast(pl.Int64).to_list())
        assert _pandera_whole(typed, contract) <= flagged

    check()


def test_a_frame_of_good_rows_is_not_screened_at_all(shipped: dict[str, FeedContract]) -> None:
    contract = shipped["prices"]
    row = {f: None for f in contract.entity.fields()}
    row |= {"part_no": "S1", "price_list_code": "B2C-SEK", "quantity_break": 1}
    row |= {"currency": "SEK", "price_sale": Decimal("10.5")}
    typed = _frame(contract, [row, row | {"part_no": "S2"}])

    suspects = _suspects(typed, contract_schema(contract))

    assert suspects is not None and not suspects.any()
