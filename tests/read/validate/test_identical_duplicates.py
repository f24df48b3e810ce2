"""Rows that repeat one key and agree on every field: the message names the contract key.

Every other rejection message names the contract key that would allow the case; for rows
that are copies of each other that key is `[checks] same_key_rows = "merge_identical"`.
Rows that share a key but differ anywhere get no such hint: merging would not take them.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from etl.config.contract_files import load_contract
from etl.config.settings import Settings
from etl.to_norce.feed import parse_and_validate

CONTRACT = """
[feed]
entity = "company"
[format]
type = "csv"
[columns]
"External ID" = "code"
"Name" = "name"
"Country" = "country"
"Org" = "organization_no"
"""
HINT = '[checks] same_key_rows = "merge_identical"'
ROWS = [
    "C-1,Volvo AB,SE,556012-5790",  # line 2
    "C-1,Volvo AB,SE,556012-5790",  # line 3: a copy of line 2
    "C-2,Ericsson AB,SE,556016-0680",  # line 4
    "C-2,Ericsson Inköp AB,SE,556016-0680",  # line 5: another name
    "C-3,Sandvik AB,SE,556000-3468",  # line 6
    "C-3,Sandvik AB,SE,556000-3468",  # line 7: a copy of line 6
    "C-3,Sandvik AB,NO,556000-3468",  # line 8: another country
]


def messages(tmp_path: Path) -> dict[int, str]:
    """line -> the duplicate_key message of that line."""
    (tmp_path / "comp.toml").write_text(CONTRACT, encoding="utf-8")
    path = tmp_path / "comp.csv"
    path.write_text("\n".join(["External ID,Name,Country,Org", *ROWS]) + "\n", encoding="utf-8")
    contract = load_contract(tmp_path / "comp.toml", Settings())
    rejections = parse_and_validate(path, contract, tmp_path).rejections
    dup = rejections.filter(pl.col("code") == "duplicate_key")
    return dict(dup.select("line", "message").iter_rows())


def test_identical_rows_of_one_key_are_told_how_to_take_them_once(tmp_path: Path) -> None:
    said = messages(tmp_path)

    assert sorted(said) == [2, 3, 4, 5, 6, 7, 8]
    assert HINT in said[2] and HINT in said[3]
    assert said[2].startswith("this key appears on lines 2, 3")


def test_rows_of_one_key_that_differ_get_no_merge_hint(tmp_path: Path) -> None:
    said = messages(tmp_path)

    # C-2 differs in its name; C-3 has two copies and a third row that differs.
    assert not any(HINT in said[n] for n in (4, 5, 6, 7, 8))
