"""Contract patterns run as polars runs them (Rust regex): linear time, checked at start-up.

Python's `re` backtracks: '^(?:\\w+\\s?)+\\[([A-Z]{3})\\]$' on a 70-character cell without
the brackets never finishes, and one hostile cell would hang every feed. Rust's regex has no
backtracking (and no look-around): a pattern it cannot run is refused when the contract loads.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from etl.errors import ConfigError
from etl.read.validate import _schema_failures
from tests.fixtures.feeds import contract_from
from tests.support.paths import REPO

BACKTRACKS = "^(?:\\\\w+\\\\s?)+\\\\[([A-Z]{3})\\\\]$"
PRICES = f"""
[feed]
entity = "price"
[format]
type = "csv"
[columns]
"sku" = "part_no"
"list" = "price_list_code"
"qty" = "quantity_break"
"price" = "price_sale"
[derive]
currency = {{ column = "site", pattern = "{BACKTRACKS}" }}
[values.price_list_code]
unmapped = "reject"
patterns = [{{ match = "{BACKTRACKS}", to = '\\1' }}]
"""

CHECK = """
import sys
from pathlib import Path
from tests.fixtures.feeds import check, contract_from
folder = Path(sys.argv[1])
validated = check(folder / "prices.csv", contract_from(sys.argv[2], folder / "schemas", "prices"), folder)
print(sorted(validated.rejections["code"].to_list()))
"""


def test_a_pattern_that_backtracks_in_python_runs_in_linear_time(tmp_path: Path) -> None:
    hostile = "word " * 14  # 70 characters, no brackets: 2^70 ways to fail in Python's re
    path = tmp_path / "prices.csv"
    path.write_text(f"sku,list,qty,price,site\nA1,{hostile},1,10,{hostile}\n", encoding="utf-8")

    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(tmp_path), PRICES],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=20,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['no_match', 'unmapped_value']"


def test_a_field_check_pattern_polars_cannot_run_stops_the_start(tmp_path: Path) -> None:
    text = PRICES.split("[derive]")[0] + "[checks.fields.part_no]\npattern = '^(?!TMP-)'\n"
    text += '[defaults]\ncurrency = "SEK"\n'

    with pytest.raises(ConfigError) as caught:
        contract_from(text, tmp_path / "schemas", "prices")

    assert caught.value.key == "checks.fields.part_no.pattern"
    assert "look-around" in caught.value.problem


def test_a_schema_failure_without_a_row_is_an_error_not_a_pass(tmp_path: Path) -> None:
    """A failure pandera reports of a whole column has no row: dropping it would pass every row."""
    text = PRICES.split("[derive]")[0] + '[defaults]\ncurrency = "SEK"\n'
    contract = contract_from(text, tmp_path / "schemas", "prices")
    typed = pl.DataFrame({"_row": [0], "part_no": ["A1"]})  # the other fields' columns missing

    with pytest.raises(RuntimeError, match="without a row"):
        _schema_failures(typed, contract)
