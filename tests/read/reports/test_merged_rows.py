"""Rows taken once by `same_key_rows = "merge_identical"` are counted and named, never lost.

Rows read = accepted + rejected + merged, in `run.py check`, in the report's Summary sheet,
in `run.py once` and in the archived manifest. The fixture is a flat customer export read
as companies: C-100 on three contacts' rows, C-200 on two, C-300 on three of which one has
another address (so the C-300 rows are duplicate keys, and the copy of line 7, line 8, is
rejected with it: read 8 = accepted 2 + rejected 3 + merged 3).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest

from etl.cli import main
from etl.config.contract_files import load_contract
from etl.config.settings import Settings
from etl.models import Merge
from etl.read.same_rows import MERGE_EXAMPLES, MERGE_LINES
from etl.to_norce.feed import parse_and_validate
from tests.fixtures.cases import DIALECTS

FIXTURE = DIALECTS / "flat_customer_companies.csv"
CONTRACT = DIALECTS / "flat_customer_companies.toml"
MERGED = "3 (identical rows with the same key, taken once)"
EXAMPLES = [
    "Rows merged into an earlier identical row:",
    "  C-100: lines 3, 5 merged into line 2",
    "  C-200: line 6 merged into line 4",
]


def settings_file(tmp_path: Path, erp: Path) -> Path:
    """Settings with an empty home, the fixture's contract as a feed and `erp` as its store."""
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    contract = CONTRACT.read_text(encoding="utf-8") + '\n[source]\nready = "temp_name"\n'
    (schemas / CONTRACT.name).write_text(contract, encoding="utf-8")
    config = tmp_path / "etl.toml"
    config.write_text(
        f'home = "{tmp_path / "home"}"\nschemas_dir = "{schemas}"\n'
        f'[stores.erp]\nkind = "local"\nroot = "{erp}"\n',
        encoding="utf-8",
    )
    return config


def test_check_prints_the_merged_rows_so_the_counts_add_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, out = settings_file(tmp_path, tmp_path), tmp_path / "out"

    code = main(
        ["--config", str(config), "check", str(FIXTURE), "--feed", CONTRACT.stem, "--out", str(out)]
    )

    printed = capsys.readouterr().out.splitlines()
    assert code == 1  # the C-300 rows that disagree
    assert "Rows read:        8" in printed
    assert "Rows accepted:    2" in printed and "Rows rejected:    3" in printed
    assert f"Rows merged:      {MERGED}" in printed
    at = printed.index(EXAMPLES[0])
    assert printed[at : at + len(EXAMPLES)] == EXAMPLES
    sheet = openpyxl.load_workbook(out / "flat_customer_companies.rejected.xlsx")["Summary"]
    cells = [
        tuple(str(c) for c in row if c is not None) for row in sheet.iter_rows(values_only=True)
    ]
    assert ("Rows merged", MERGED) in cells
    assert ("C-100", "lines 3, 5 merged into line 2") in cells


def test_a_run_records_the_merged_rows_in_its_counts_and_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    erp = tmp_path / "erp"
    erp.mkdir()
    (erp / FIXTURE.name).write_bytes(FIXTURE.read_bytes())
    config = settings_file(tmp_path, erp)

    code = main(["--config", str(config), "once", "--feed", CONTRACT.stem])

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "(rows 8, accepted 2, rejected 3, merged 3, adds 2," in printed
    [manifest_path] = (tmp_path / "home" / "archive" / CONTRACT.stem).glob("*/*/manifest.json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["counts"]["merged"] == manifest["rows_merged"] == 3
    assert manifest["merged_examples"] == [
        {"key": "C-100", "line": 2, "merged_lines": [3, 5], "merged": 2},
        {"key": "C-200", "line": 4, "merged_lines": [6], "merged": 1},
    ]
    book = openpyxl.load_workbook(manifest_path.parent / "flat_customer_companies.rejected.xlsx")
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r and r[0]}
    assert summary["Rows merged"] == MERGED


def test_a_file_of_many_repeated_rows_names_only_the_first_few(tmp_path: Path) -> None:
    """100k repeated rows: all counted, MERGE_EXAMPLES keys named, MERGE_LINES lines each."""
    path = tmp_path / "flat.csv"
    header = FIXTURE.read_text(encoding="utf-8").splitlines()[:2]
    companies = 30
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        handle.write(header[0] + "\n")
        for n in range(100_000):
            code = f"C-{n % companies:03d}"
            writer.writerow(
                [
                    "Bolaget AB",
                    code,
                    "556012-5790",
                    "Gatan 1",
                    "41715",
                    "Göteborg",
                    "SE",
                    "A",
                    "B",
                    "a@b.se",
                ]
            )

    validated = parse_and_validate(path, load_contract(CONTRACT, Settings()), tmp_path)

    assert validated.rows_read == 100_000 and validated.valid.height == companies
    assert validated.merged.count == 100_000 - companies
    examples = validated.merged.examples
    assert len(examples) == MERGE_EXAMPLES
    # C-000 is on lines 2, 32, 62, ...: 3,334 rows, 3,333 of them merged into line 2.
    first_lines = tuple(range(2 + companies, 2 + (MERGE_LINES + 1) * companies, companies))
    assert examples[0] == Merge("C-000", 2, first_lines, 3_333)
    assert [e.key for e in examples] == [f"C-{n:03d}" for n in range(MERGE_EXAMPLES)]
    assert all(len(e.lines) == MERGE_LINES for e in examples)


COMPANY_MAP = """
[feed]
entity = "company"
[format]
type = "csv"
[columns]
"External ID" = "code"
"Name" = "name"
"Country" = "country"
"Org" = "organization_no"
[values.country]
ignore_case = true
map = { "Sverige" = "SE" }
[checks]
same_key_rows = "merge_identical"
"""


def test_rows_the_same_after_their_values_are_mapped_are_merged(tmp_path: Path) -> None:
    """Sverige, SVERIGE and SE are one country to the map: the company is one company."""
    text = COMPANY_MAP
    (tmp_path / "comp.toml").write_text(text, encoding="utf-8")
    path = tmp_path / "comp.csv"
    rows = [f"C-1,Volvo AB,{country},556012-5790" for country in ("Sverige", "SVERIGE", "SE")]
    path.write_text("\n".join(["External ID,Name,Country,Org", *rows]) + "\n", encoding="utf-8")

    contract = load_contract(tmp_path / "comp.toml", Settings())
    validated = parse_and_validate(path, contract, tmp_path)

    assert validated.rejections["code"].to_list() == []
    assert validated.valid.select("code", "country").rows() == [("C-1", "SE")]
    assert validated.merged.examples == (Merge("C-1", 2, (3, 4), 2),)


def test_rows_whose_cells_the_map_refused_stay_apart_as_written(tmp_path: Path) -> None:
    """Two unknown countries are two rejections; the copy of the first is rejected as it is."""
    text = COMPANY_MAP.replace(
        'map = { "Sverige" = "SE" }', 'map = { "Sverige" = "SE" }\nunmapped = "reject"'
    )
    (tmp_path / "comp.toml").write_text(text, encoding="utf-8")
    path = tmp_path / "comp.csv"
    rows = [f"C-1,Volvo AB,{country},556012-5790" for country in ("Narnia", "Atlantis", "Narnia")]
    path.write_text("\n".join(["External ID,Name,Country,Org", *rows]) + "\n", encoding="utf-8")

    contract = load_contract(tmp_path / "comp.toml", Settings())
    validated = parse_and_validate(path, contract, tmp_path)

    unmapped = validated.rejections.filter(validated.rejections["code"] == "unmapped_value")
    assert unmapped.select("line", "value").rows() == [
        (2, "Narnia"),
        (3, "Atlantis"),
        (4, "Narnia"),
    ]
    assert validated.merged.count == 0
