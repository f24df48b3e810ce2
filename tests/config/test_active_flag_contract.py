"""The ERP's own active flag is read from the file, row by row: never a default, never a key."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config.contract_files import load_contract
from etl.config.settings import Settings
from etl.errors import ConfigError

PRICES = """{before}
[feed]
name = "prices"
entity = "price"
export = "delta"

[format]
type = "csv"

[columns]
"sku" = "part_no"
"price" = "price_sale"
"active" = "is_active"

[defaults]
price_list_code = "STD"
currency = "SEK"
quantity_break = "1"
{defaults}
"""


def refused(tmp_path: Path, before: str = "", defaults: str = "") -> ConfigError:
    path = tmp_path / "prices.toml"
    path.write_text(PRICES.format(before=before, defaults=defaults), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_contract(path, Settings())
    assert caught.value.source == str(path)
    return caught.value


@pytest.mark.parametrize("value", ['"false"', '"true"', '"0"'])
def test_a_default_for_the_flag_is_refused(tmp_path: Path, value: str) -> None:
    # "false" would switch off every row whose cell is empty (or every row, without the column).
    error = refused(tmp_path, defaults=f"is_active = {value}")

    assert error.key == "defaults.is_active"
    assert "empty cell" in error.problem


def test_the_flag_in_the_key_is_refused(tmp_path: Path) -> None:
    # One Norce record would have two snapshot keys: marking it sends an add and a remove.
    key = 'key = ["part_no", "price_list_code", "quantity_break", "is_active"]'
    error = refused(tmp_path, before=key)

    assert error.key == "key"
    assert "is_active" in error.problem
