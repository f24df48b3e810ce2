"""A [checks] key written inside a [checks.fields.<field>] table says where it belongs.

The README once showed `same_key_rows` under `[checks.fields.part_no]`; a contract that
followed it got "Extra inputs are not permitted", which does not say what to do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config.contract_files import load_contract
from etl.config.settings import Settings
from etl.errors import ConfigError
from tests.support.paths import SCHEMAS


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('same_key_rows = "merge_identical"', "same_key_rows"),
        ("max_rejected_ratio = 0.1", "max_rejected_ratio"),
    ],
)
def test_a_checks_key_under_a_field_says_it_belongs_in_checks(
    tmp_path: Path, line: str, said: str
) -> None:
    text = (SCHEMAS / "products.toml").read_text(encoding="utf-8")
    path = tmp_path / "products.toml"
    path.write_text(f"{text}\n[checks.fields.part_no]\n{line}\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_contract(path, Settings())

    assert f"{said} belongs in [checks]" in caught.value.problem
    assert caught.value.key == "checks.fields.part_no"


def test_an_unknown_key_under_a_field_is_still_refused_as_unknown(tmp_path: Path) -> None:
    text = (SCHEMAS / "products.toml").read_text(encoding="utf-8")
    path = tmp_path / "products.toml"
    path.write_text(f"{text}\n[checks.fields.part_no]\ncolour = 1\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_contract(path, Settings())

    assert caught.value.key == "checks.fields.part_no.colour"
