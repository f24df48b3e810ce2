"""The failures read off the one-plan screen are pandera's, cell for cell and in its order.

Validation no longer runs pandera on the rows its screen flags: each check's flag names the
failed cells itself (issue 18). Held here to pandera run on the whole frame, for every
shipped master-data contract and for contracts that add field checks of their own: the same
(row, field, check name) triples in the same order, since the first failure of a cell is
the one its rejection reports.
"""

from __future__ import annotations

from pathlib import Path

import pandera.errors
import polars as pl
import pytest
from hypothesis import given, settings

from etl.config.contract_files import load_contracts
from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.read.check_flags import check_flags, plain_columns
from etl.read.validate import _schema_failures, contract_schema
from tests.fixtures.feeds import contract_from
from tests.support.paths import SCHEMAS
from tests.support.typed_rows import typed_frame, typed_rows

# Field checks of the contract's own on top of the entity's: a pattern, bounds, a length,
# allowed values; a required optional field (its empty cells fail as not_nullable).
OWN_CHECKS = """
[feed]
entity = "price"
[format]
type = "csv"
[columns]
"sku" = "part_no"
"list" = "price_list_code"
"price" = "price_sale"
"cur" = "currency"
[defaults]
quantity_break = "1"
[checks.fields.part_no]
pattern = '^S[0-9]+$'
min_length = 2
[checks.fields.price_sale]
min = 1
max = 50
[checks.fields.currency]
allowed = ["SEK", "NOK"]
[checks.fields.cost_unit]
required = true
"""


def _pandera_whole(typed: pl.DataFrame, contract: FeedContract) -> list[tuple[int, str, str]]:
    try:
        contract_schema(contract).validate(typed, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = pl.DataFrame(exc.failure_cases)
        rows = typed["_row"].gather(cases["index"].cast(pl.UInt32)).to_list()
        return list(zip(rows, cases["column"].to_list(), cases["check"].to_list(), strict=True))
    return []


@pytest.fixture(scope="module")
def contracts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FeedContract]:
    home = Path(tmp_path_factory.mktemp("home"))
    found = load_contracts(Settings(home=home, schemas_dir=SCHEMAS))
    found["own_checks"] = contract_from(OWN_CHECKS, home / "own", "own_checks")
    return found


@pytest.mark.parametrize(
    "feed", ["products", "prices", "stock", "customers", "companies", "own_checks"]
)
def test_the_flags_name_what_pandera_names(contracts: dict[str, FeedContract], feed: str) -> None:
    contract = contracts[feed]

    @settings(max_examples=25, deadline=None)
    @given(rows=typed_rows(contract, max_size=20))
    def check(rows: list[dict[str, object]]) -> None:
        typed = typed_frame(contract, rows)
        schema = contract_schema(contract)
        assert check_flags(typed, schema) is not None and plain_columns(typed, schema)
        found = _schema_failures(typed, contract)
        assert list(found.iter_rows()) == _pandera_whole(typed, contract)

    check()


def test_a_column_of_another_type_goes_to_pandera(contracts: dict[str, FeedContract]) -> None:
    contract = contracts["prices"]
    row = {f: None for f in contract.entity.fields()}
    typed = typed_frame(contract, [row]).with_columns(pl.col("price_sale").cast(pl.String))

    assert not plain_columns(typed, contract_schema(contract))
    with pytest.raises(RuntimeError, match="without a row"):
        _schema_failures(typed, contract)
