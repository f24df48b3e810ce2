"""CSV rows with more (non-empty) or fewer fields than the header are rejected rows.

Not one of their cells can be trusted, their key included: each is reported at its line
(with the line as written, except in feeds about people), the rest of the file goes on,
and the deletion guard holds removals as for any row whose key could not be read.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from etl.cli import main
from etl.config.settings import LocalStoreSettings
from etl.errors import SuspectFile
from etl.models import LINE, place
from etl.read.formats import read_file
from etl.read.reports import CHECK_ROWS
from etl.to_norce.documents.grouping import OrphanLines, group
from etl.to_norce.feed import refuse_if_suspect
from tests.fixtures.cases import Case
from tests.fixtures.feeds import check, contract_from, price_contract, shipped
from tests.support.check_cases import printed_summary, settings_file
from tests.support.masterdata import run_once, settings_for, write_cp1252_products
from tests.support.paths import SAMPLES, SCHEMAS

FIELD_COUNT = "field_count"
WHY = (
    ": no cell of the row is read (a delimiter missing or too many, or one inside a cell that "
    "is not quoted?)"
)


def product(sku: str, name: str = "Artikel") -> str:
    """One products line in the shipped dialect: 11 fields."""
    return f"{sku};ACME;Acme AB;M-{sku};;{name} {sku};;GLOVES;;25;1,0"


SHORT = "30002;ACME;Acme AB;M-30002;;Artikel 30002"  # 6 fields: the rest of the row is lost
LONG = product("30003") + ";oops"  # 12 fields, the extra one not empty: shifted columns?


def broken_file(path: Path) -> Path:
    """Five products; line 4 too short, line 5 too long."""
    rows = [product("30000"), product("30001", "Ny"), SHORT, LONG, product("30004")]
    write_cp1252_products(path, rows)
    return path


def test_the_reader_leaves_out_broken_rows_and_names_them(tmp_path: Path, scratch: Path) -> None:
    path = broken_file(tmp_path / "products_1.csv")

    parsed = read_file(path, shipped("products"), scratch)

    assert parsed.frame.select("Artikelnr", LINE).rows() == [
        ("30000", 2),
        ("30001", 3),
        ("30004", 6),
    ]
    assert parsed.ragged.rows() == [(4, 6, 11), (5, 12, 11)]


def test_each_broken_row_is_a_rejected_row_and_its_key_unreadable(
    tmp_path: Path, scratch: Path
) -> None:
    path = broken_file(tmp_path / "products_1.csv")

    validated = check(path, shipped("products"), scratch)

    assert validated.valid["part_no"].to_list() == ["30000", "30001", "30004"]
    rejected = validated.rejections.select("line", "key", "field", "code", "message", "value")
    assert rejected.rows() == [
        (4, None, None, FIELD_COUNT, "6 fields where the header has 11" + WHY, None),
        (5, None, None, FIELD_COUNT, "12 fields where the header has 11" + WHY, None),
    ]
    assert (validated.rows_read, validated.rejected_rows) == (5, 2)
    assert validated.unkeyed_lines == (4, 5)
    assert validated.rejected_keys.height == 0


def test_check_prints_them_as_rejected_rows_with_their_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = broken_file(tmp_path / "products_1.csv")
    config = settings_file(tmp_path, Case("products", path, SCHEMAS / "products.toml", "products"))
    out = tmp_path / "out"

    code = main(
        ["--config", str(config), "check", str(path), "--feed", "products", "--out", str(out)]
    )

    lines = capsys.readouterr().out.splitlines()
    summary = printed_summary(lines)
    assert code == 1 and summary["Outcome"] == CHECK_ROWS
    assert [summary[f"Rows {k}"] for k in ("read", "accepted", "rejected")] == ["5", "3", "2"]
    assert summary["File-level error"] == "none"
    assert f"  {FIELD_COUNT}: 2" in lines
    sheet = openpyxl.load_workbook(out / "products_1.rejected.xlsx")["Rejected cells"]
    shown = [(r[0], r[4], r[7]) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert shown == [(4, FIELD_COUNT, SHORT), (5, FIELD_COUNT, LONG)]


def test_once_commits_the_good_rows_and_holds_the_removals(tmp_path: Path, home: Path) -> None:
    erp = tmp_path / "erp-drop"
    (erp / "products").mkdir(parents=True)
    settings = settings_for(home, LocalStoreSettings(root=erp))
    write_cp1252_products(
        erp / "products" / "products_1.csv", [product(f"3000{i}") for i in range(5)]
    )
    run_once(settings, "products")
    # 30001 is renamed, 30002 and 30003 are broken, 30004 is gone: the broken rows may be
    # any of the missing ones, so none is deactivated before someone looked.
    write_cp1252_products(
        erp / "products" / "products_2.csv", [product("30000"), product("30001", "Ny"), SHORT, LONG]
    )

    [second] = run_once(settings, "products")

    assert second.outcome == "committed", second.message
    assert (second.counts["rows"], second.counts["accepted"], second.counts["rejected"]) == (
        4,
        2,
        2,
    )
    assert second.counts["changes"] == 1
    assert (second.counts["removals"], second.counts["held"]) == (0, 3)
    assert "no readable key" in second.message and "line 4, 5" in second.message


def test_a_file_of_mostly_broken_rows_is_still_suspect(tmp_path: Path, scratch: Path) -> None:
    path = tmp_path / "prices.csv"
    rows = ["ItemNo;PriceList;Qty;Currency;Price;Cost", "A;L;1;SEK;10;", "B;L;1", "C;L", "D"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    contract = price_contract(tmp_path, 'delimiter = ";"', "[checks]\nmax_rejected_ratio = 0.5")

    with pytest.raises(SuspectFile, match="3 of 4 rows"):
        refuse_if_suspect(check(path, contract, scratch), contract, path.name)


def test_feeds_about_people_never_show_the_raw_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "customers.csv"
    header = "Kundnr;Förnamn;Efternamn;E-post"
    path.write_text(
        f"{header}\nK1;Anna;Svensson;anna@example.se\nK2;Bo;Berg;bo@example.se;extra\n",
        encoding="utf-8",
    )
    text = (
        '[feed]\nentity = "customer"\n[format]\ntype = "csv"\ndelimiter = ";"\n[columns]\n'
        '"Kundnr" = "code"\n"Förnamn" = "first_name"\n"Efternamn" = "last_name"\n'
        '"E-post" = "email"\n'
    )
    contract = contract_from(text, tmp_path / "schemas", "customers")
    config = settings_file(tmp_path, Case("customers", path, contract.path, "customers"))
    out = tmp_path / "out"

    main(["--config", str(config), "check", str(path), "--feed", "customers", "--out", str(out)])

    sheet = openpyxl.load_workbook(out / "customers.rejected.xlsx")["Rejected cells"]
    [row] = sheet.iter_rows(min_row=2, values_only=True)
    assert (row[0], row[4]) == (3, FIELD_COUNT)
    assert not row[7] and "berg" not in str(row).lower()


def test_a_document_feed_sends_nothing_of_a_file_with_a_broken_row(
    tmp_path: Path, scratch: Path
) -> None:
    # Which delivery note a broken row belongs to cannot be read: any note may miss a line.
    sample = (SAMPLES / "delivery_notes" / "despatch_20261124.csv").read_text(encoding="utf-8")
    header, first, *rest = sample.splitlines()
    path = tmp_path / "despatch.csv"
    path.write_text("\n".join([header, first, "DN-778899,SO-100045", *rest]) + "\n", "utf-8")
    contract = shipped("delivery_notes")

    with pytest.raises(OrphanLines, match=r"^line\(s\) 3 have no "):
        group(check(path, contract, scratch), contract)


def test_in_a_zip_of_several_files_a_broken_last_row_keeps_its_own_line(
    tmp_path: Path, scratch: Path
) -> None:
    header = "ItemNo;PriceList;Qty;Currency;Price;Cost\n"
    path = tmp_path / "prices.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("p1.csv", header + "A;L;1;SEK;1;\nB;L;1\n")  # broken, last
        archive.writestr("p2.csv", header + "C;L;1;SEK;3;\n")
    contract = price_contract(tmp_path, 'delimiter = ";"')

    validated = check(path, contract, scratch)

    assert validated.rejections.select("line", "code").rows() == [(3, FIELD_COUNT)]
    assert validated.valid.select("part_no", LINE).rows() == [("A", 2), ("C", 5)]
    assert [place(validated.parts, n) for n in (3, 5)] == [("p1.csv", 3), ("p2.csv", 2)]
