"""Checks a contract adds per field, and the suspect-file threshold."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from etl.config.contracts import FeedContract
from etl.config.settings import LocalStoreSettings
from etl.errors import ConfigError
from tests.fixtures.feeds import check, price_contract
from tests.support.masterdata import run_once, settings_for

HEADER = "ItemNo;PriceList;Qty;Currency;Price;Cost"
SWEDISH = 'encoding = "cp1252"\ndelimiter = ";"\ndecimal = ","'
CHECKS = """
[checks.fields.part_no]
pattern = "^[0-9]{6}$"
[checks.fields.price_list_code]
allowed = ["STD-SEK", "B2B-SEK"]
[checks.fields.price_sale]
min = 1
max = 10000
[checks.fields.cost_purchase]
required = true
[checks.fields.currency]
max_length = 3
"""


def _contract(tmp_path: Path, extra: str = CHECKS) -> FeedContract:
    return price_contract(tmp_path, SWEDISH, extra=extra)


def _file(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "prices_1.csv"
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode("cp1252"))
    return path


def test_each_contract_check_rejects_with_its_code_and_a_plain_message(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        [
            "100123;STD-SEK;1;SEK;79,20;31,5",  # fine
            "ART-1;STD-SEK;1;SEK;79,20;31,5",  # pattern from the contract
            "100124;OTHER;1;SEK;79,20;31,5",  # not an allowed list
            "100125;STD-SEK;1;SEK;0,50;31,5",  # below min
            "100126;STD-SEK;1;SEK;79,20;",  # cost required by the contract
        ],
    )
    validated = check(path, _contract(tmp_path), tmp_path / "scratch")
    got = {(r["line"], r["code"]): r["message"] for r in validated.rejections.iter_rows(named=True)}
    assert set(got) == {(3, "pattern"), (4, "enum"), (5, "range"), (6, "required")}
    assert "the form the feed contract requires (^[0-9]{6}$)" in got[(3, "pattern")]
    assert "use one of STD-SEK, B2B-SEK" in got[(4, "enum")]
    assert "must be at least 1" in got[(5, "range")]
    assert validated.valid["part_no"].to_list() == ["100123"]


def test_a_check_on_an_unknown_field_names_file_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"checks\.fields\.price_sael"):
        _contract(tmp_path, "[checks.fields.price_sael]\nmin = 1")
    with pytest.raises(ConfigError, match=r"checks\.fields\.part_no\.pattern"):
        _contract(tmp_path, '[checks.fields.part_no]\npattern = "(["')


def test_a_file_over_the_reject_threshold_is_refused_whole_with_every_bad_cell_reported(
    home: Path, tmp_path: Path
) -> None:
    contract = home / "schemas" / "prices.toml"
    contract.write_text(contract.read_text() + "\n[checks]\nmax_rejected_ratio = 0.25\n")
    erp = tmp_path / "drop"
    (erp / "prices").mkdir(parents=True)
    rows = ["ItemNo,PriceList,Currency,Price,PurchaseCost,RRP"]
    rows += [f"10012{i},STD-SEK,SEK,79.20,31.50,99.00" for i in range(6)]
    rows += [f"20012{i},STD-SEK,sek,79.20,31.50,99.00" for i in range(3)]  # 3 of 9 bad: 33%
    (erp / "prices" / "prices_1.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (erp / "prices" / "prices_1.csv.done").touch()
    settings = settings_for(home, LocalStoreSettings(root=erp))

    [outcome] = run_once(settings, "prices")

    assert outcome.outcome == "rejected"
    assert "3 of 9 rows (33.3%) were rejected" in outcome.message
    assert not list((home / "outbox").rglob("*.json"))  # nothing applied
    [report] = list((home / "archive" / "prices" / "rejected").rglob("prices_1.rejected.xlsx"))
    detail = openpyxl.load_workbook(report)["Rejected cells"]
    codes = [row[4] for row in detail.iter_rows(min_row=2, values_only=True)]
    assert codes == ["too_many_rejects", "pattern", "pattern", "pattern"]
