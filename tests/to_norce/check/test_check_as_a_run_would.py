"""`run.py check` reports what `once` would do with the file, and never writes state.

A feed that reads another feed's file checks its references against what that feed's check
just accepted (plus the ledger's current snapshot, read only, when there is one), as a run
does against the snapshot the other feed just committed. Review E D1: check said 21 prices
accepted where once rejected 12 as unknown_reference.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.cli import main
from tests.support.shop_feeds import HEADER, PRICES, PRODUCTS


def config(tmp_path: Path) -> tuple[Path, Path]:
    """An etl.toml for the shop's two feeds; (its path, the ERP's shop folder)."""
    schemas, erp = tmp_path / "schemas", tmp_path / "erp"
    schemas.mkdir()
    (erp / "shop").mkdir(parents=True)
    (schemas / "shop_products.toml").write_text(PRODUCTS, encoding="utf-8")
    (schemas / "shop_prices.toml").write_text(PRICES, encoding="utf-8")
    path = tmp_path / "etl.toml"
    path.write_text(
        f'home = "{tmp_path / "home"}"\nschemas_dir = "{schemas}"\n'
        f'[stores.erp]\nkind = "local"\nroot = "{erp}"\n',
        encoding="utf-8",
    )
    return path, erp / "shop"


def write(folder: Path, name: str, *rows: str) -> Path:
    path = folder / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def summaries(out: str) -> dict[str, dict[str, str]]:
    """Feed -> its summary's label -> value, from check's printed output."""
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in out.splitlines():
        label, sep, value = line.partition(":")
        if sep and not line.startswith((" ", "#")):
            if label == "File":
                current = {}
            current[label] = value.strip()
            if label == "Feed":
                found[value.strip()] = current
    return found


def test_check_rejects_a_price_whose_product_its_check_rejected_and_writes_no_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, folder = config(tmp_path)
    file = write(folder, "shop_1.csv", "A,Alpha,1,10,1", "D,Dish,heavy,40,1")
    out_dir = tmp_path / "checks"

    main(["--config", str(settings), "check", str(file), "--out", str(out_dir)])

    out = capsys.readouterr().out
    prices = summaries(out)["shop_prices"]
    assert (prices["Rows accepted"], prices["Rows rejected"]) == ("1", "1")
    assert "unknown_reference: 1" in out
    assert not (tmp_path / "home").exists()  # check never writes state

    assert main(["--config", str(settings), "once"]) == 0
    once = capsys.readouterr().out
    assert "shop_prices: shop_1.csv: committed (rows 2, accepted 1, rejected 1" in once


def test_check_reads_the_ledger_for_what_the_other_feed_already_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """B's product is in the snapshot and switched off by this file: its price is a removal."""
    settings, folder = config(tmp_path)
    write(folder, "shop_1.csv", "A,Alpha,1,10,1", "B,Belt,1,20,1")
    assert main(["--config", str(settings), "once"]) == 0
    second = write(tmp_path, "shop_2.csv", "A,Alpha,1,10,1", "B,Belt,1,20,0", "X,X,1,5,0")
    capsys.readouterr()

    main(["--config", str(settings), "check", str(second), "--out", str(tmp_path / "c")])

    prices = summaries(capsys.readouterr().out)["shop_prices"]
    assert (prices["Rows accepted"], prices["Rows rejected"]) == ("3", "0")
    assert prices["Rows marked inactive"] == "2"


def test_check_warns_that_a_full_export_of_inactive_rows_only_would_hold_its_removals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Review D #11: 'a run would reject nothing', exit 0, and not a word about the flag."""
    settings, folder = config(tmp_path)
    file = write(folder, "shop_9.csv", "A,Alpha,1,10,0", "B,Belt,1,20,0")

    main(["--config", str(settings), "check", str(file), "--out", str(tmp_path / "c")])

    out = capsys.readouterr().out
    assert summaries(out)["shop_products"]["Rows marked inactive"] == "2"
    assert out.count("Warning: every valid row of this full export is marked inactive") == 2


def test_the_unknown_reference_message_asks_to_empty_only_an_optional_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Review E D10: 'or leave SKU empty', though SKU is the price's key."""
    settings, folder = config(tmp_path)
    file = write(folder, "shop_1.csv", "D,Dish,heavy,40,1")
    out_dir = tmp_path / "checks"

    main(["--config", str(settings), "check", str(file), "--out", str(out_dir)])

    capsys.readouterr()
    [report] = out_dir.glob("*shop_prices.rejected.csv")
    text = report.read_text(encoding="utf-8-sig")
    assert "unknown_reference" in text
    assert "leave SKU empty" not in text


def test_check_says_a_run_would_hold_the_removals_of_live_rows_all_marked_inactive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With A and B live, a file switching both off is held by the run: check says so."""
    settings, folder = config(tmp_path)
    write(folder, "shop_1.csv", "A,Alpha,1,10,1", "B,Belt,1,20,1")
    assert main(["--config", str(settings), "once"]) == 0
    second = write(tmp_path, "shop_2.csv", "A,Alpha,1,10,0", "B,Belt,1,20,0")
    capsys.readouterr()

    main(["--config", str(settings), "check", str(second), "--out", str(tmp_path / "c")])

    out = capsys.readouterr().out
    held = [line for line in out.splitlines() if line.startswith("Warning: a run would hold")]
    assert len(held) == 2 and "every valid row of the file is marked inactive" in held[0]


def test_check_lists_the_cells_a_deactivation_would_not_send_as_the_run_report_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """B's price is emptied as the ERP switches it off: not a rejected row, but a listed cell."""
    settings, folder = config(tmp_path)
    write(folder, "shop_1.csv", "A,A,1,10,1", "B,B,1,20,1")
    assert main(["--config", str(settings), "once"]) == 0
    file = write(tmp_path, "shop_2.csv", "A,A,1,10,1", "B,B,1,,0")
    out_dir = tmp_path / "c"
    capsys.readouterr()

    code = main(["--config", str(settings), "check", str(file), "--out", str(out_dir)])

    printed = capsys.readouterr().out
    assert code == 0 and summaries(printed)["shop_prices"]["Rows rejected"] == "0"
    [report] = out_dir.glob("shop_2.shop_prices.rejected.csv")
    assert "ignored_on_deactivation" in report.read_text(encoding="utf-8-sig")
