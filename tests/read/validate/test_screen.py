"""The one-plan screen before pandera never lets a failing row through.

Validation runs pandera only on the rows some check fails in one lazy plan (issue 18). That
is exact only if every row pandera fails on the whole frame is among them: checked here on
generated frames for each shipped master-data contract, against pandera run whole.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandera.errors
import polars as pl
import pytest
from hypothesis import given, settings

from etl.config.contract_files import load_contracts
from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.read.check_flags import suspects
from etl.read.validate import contract_schema
from tests.support.typed_rows import typed_frame, typed_rows


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
    @given(rows=typed_rows(contract))
    def check(rows: list[dict[str, object]]) -> None:
        typed = typed_frame(contract, rows)
        screened = suspects(typed, contract_schema(contract))
        assert screened is not None, "the shipped checks all judge rows alone"
        flagged = set(typed.filter(screened)["_row"].cast(pl.Int64).to_list())
        assert _pandera_whole(typed, contract) <= flagged

    check()


def test_a_frame_of_good_rows_is_not_screened_at_all(shipped: dict[str, FeedContract]) -> None:
    contract = shipped["prices"]
    row = {f: None for f in contract.entity.fields()}
    row |= {"part_no": "S1", "price_list_code": "B2C-SEK", "quantity_break": 1}
    row |= {"currency": "SEK", "price_sale": Decimal("10.5")}
    typed = typed_frame(contract, [row, row | {"part_no": "S2"}])

    screened = suspects(typed, contract_schema(contract))

    assert screened is not None and not screened.any()
