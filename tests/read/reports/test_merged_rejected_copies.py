"""Copies of a rejected row are rejected rows, each named on the report by its own line.

With `same_key_rows = "merge_identical"` identical rows are taken once. When the row taken
is rejected, its copies did not "merge" into anything applied: each is a bad line of the
file, counted as rejected and listed with the same code and message (rv_e D5: three
identical rows with Published=2 showed as one rejection and "Rows merged: 3").
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from etl.cli import main
from etl.config.contract_files import load_contract
from etl.config.settings import Settings
from etl.models import Merge
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
[checks]
same_key_rows = "merge_identical"
"""
ROWS = [
    "C-1,Volvo AB,SE,556012-5791",  # line 2: a wrong check digit
    "C-1,Volvo AB,SE,556012-5791",  # line 3: a copy of line 2
    "C-2,Ericsson AB,SE,556016-0680",  # line 4
    "C-1,Volvo AB,SE,556012-5791",  # line 5: another copy of line 2
    "C-2,Ericsson AB,SE,556016-0680",  # line 6: a copy of line 4, taken once
    ",Nameless AB,SE,556000-3468",  # line 7: no key
    ",Nameless AB,SE,556000-3468",  # line 8: a copy of line 7
]


def write_files(tmp_path: Path) -> tuple[Path, Path]:
    """The contract in a schemas folder, and the export."""
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "comp.toml").write_text(CONTRACT, encoding="utf-8")
    path = tmp_path / "comp.csv"
    path.write_text("\n".join(["External ID,Name,Country,Org", *ROWS]) + "\n", encoding="utf-8")
    return schemas / "comp.toml", path


def test_copies_of_a_rejected_row_are_rejected_not_merged(tmp_path: Path) -> None:
    contract_path, path = write_files(tmp_path)

    validated = parse_and_validate(path, load_contract(contract_path, Settings()), tmp_path)

    org = validated.rejections.filter(validated.rejections["code"] == "org_no")
    assert org["line"].to_list() == [2, 3, 5]
    assert org["message"].n_unique() == 1 and org["value"].to_list() == ["556012-5791"] * 3
    assert validated.rejected_rows == 5  # lines 2, 3, 5, 7, 8
    assert validated.merged.count == 1
    assert validated.merged.examples == (Merge("C-2", 4, (6,), 1),)
    assert validated.rows_read == validated.valid.height + validated.rejected_rows + 1
    # A copy of a row with no key is a row with no key: removals wait for it as well.
    assert validated.unkeyed_lines == (7, 8)


def test_check_counts_and_lists_every_line_of_a_rejected_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, path = write_files(tmp_path)
    config, out = tmp_path / "etl.toml", tmp_path / "out"
    config.write_text(
        f'home = "{tmp_path / "home"}"\nschemas_dir = "{tmp_path / "schemas"}"\n',
        encoding="utf-8",
    )

    code = main(["--config", str(config), "check", str(path), "--feed", "comp", "--out", str(out)])

    printed = capsys.readouterr().out.splitlines()
    assert code == 1
    assert "Rows rejected:    5" in printed
    assert "Rows merged:      1 (identical rows with the same key, taken once)" in printed
    assert "  C-2: line 6 merged into line 4" in printed
    assert not any(line.startswith("  C-1: ") for line in printed)
    with (out / "comp.rejected.csv").open(encoding="utf-8-sig", newline="") as handle:
        report = list(csv.DictReader(handle))
    org = [r for r in report if r["Error code"] == "org_no"]
    assert [r["Line"] for r in org] == ["2", "3", "5"]
    assert len({r["What is wrong"] for r in org}) == 1
