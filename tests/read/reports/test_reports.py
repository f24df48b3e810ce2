"""Rejected-row reports, reopened the way finance opens them: with openpyxl and the csv module."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from etl.models import Validated
from etl.read.formats.raw import CUT, RAW_LIMIT
from etl.read.reports import (
    DETAIL_COLUMNS,
    PREVIEW,
    ROWS_REJECTED,
    FileFacts,
    Report,
    RowCounts,
    detail_columns,
    write_reports,
)
from etl.read.validate import REJECTION_SCHEMA
from etl.to_norce.records import rejection_report
from tests.fixtures.feeds import PRODUCT_COLUMNS, check, shipped

RISKY = ["=1+2", "+46701234567", "-5", "@SUM(A1)", '=HYPERLINK("http://x.invalid";"a")']
TITLES = [title for _, title, _ in detail_columns(["part_no"])]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    def row(
        part_no: str, name: str = "Namn", ean: str = "", vat: str = "25", kg: str = "1"
    ) -> list[str]:
        return [part_no, "ACME", "Acme", "", "", name, "", "CAT", ean, vat, kg]

    rows = [row(p) for p in RISKY]
    rows += [
        row("OK"),
        row("A\x0bB"),  # a control character a worksheet cannot hold
        row("P2", name="", ean="7350000000017", vat="125", kg="tung"),
        row("P3", name="=" + "x" * 40_000),
    ]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows([PRODUCT_COLUMNS, *rows])
    path = tmp_path / "products.csv"
    path.write_bytes(buffer.getvalue().encode("cp1252"))
    return path


@pytest.fixture
def validated(tmp_path: Path, source: Path) -> Validated:
    return check(source, shipped("products"), tmp_path / "scratch")


@pytest.fixture
def report(tmp_path: Path, source: Path, validated: Validated) -> Report:
    return rejection_report(
        source,
        shipped("products"),
        validated.rejections,
        facts=FileFacts.of(source),
        outcome=ROWS_REJECTED,
        rows=RowCounts(validated.rows_read, validated.valid.height, validated.rejected_rows),
        scratch=tmp_path / "scratch",
    )


@pytest.fixture
def reports(tmp_path: Path, report: Report) -> tuple[Path, Path]:
    xlsx, csv_path = write_reports(report, tmp_path / "out", "products.rejected")
    return xlsx, csv_path


def expected_rows(report: Report) -> list[tuple[object, ...]]:
    """The detail as it should read: the rejection's columns, then its line's raw record."""
    columns = [c for c, _, _ in DETAIL_COLUMNS if c != "raw"]
    rows = report.rejections.select(columns).rows()
    return [(*(_preview(v, i) for i, v in enumerate(r)), report.raw.get(r[0])) for r in rows]


def _preview(value: object, index: int) -> object:
    """A long key (1), message (5) or value (6) as the reports show it: cut, with a marker."""
    keep = {1: PREVIEW, 5: 5 * PREVIEW, 6: PREVIEW}.get(index)
    if keep is None or not isinstance(value, str) or len(value) <= keep:
        return value
    return f"{value[:keep]} [cut at {keep} of {len(value):,} characters]"


def test_both_reports_are_written_atomically(tmp_path: Path, reports: tuple[Path, Path]) -> None:
    xlsx, csv_path = reports
    assert (xlsx.name, csv_path.name) == ("products.rejected.xlsx", "products.rejected.csv")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [csv_path.name, xlsx.name]


def test_summary_sheet_says_what_the_file_was_and_counts_each_error_code(
    reports: tuple[Path, Path], validated: Validated, source: Path
) -> None:
    book = openpyxl.load_workbook(reports[0])
    assert book.sheetnames == ["Summary", "Rejected cells"]
    rows = [tuple(c.value for c in row) for row in book["Summary"].iter_rows()]

    received = dt.datetime.fromisoformat(str(rows[5][1]))
    assert rows[:11] == [
        ("File", "products.csv", None),
        ("Feed", "products", None),
        ("Contract", str(shipped("products").path), None),
        ("Size (bytes)", source.stat().st_size, None),
        ("SHA-256", hashlib.sha256(source.read_bytes()).hexdigest(), None),
        ("Received at", received.isoformat(), None),
        ("Outcome", ROWS_REJECTED, None),
        ("Rows read", 9, None),
        ("Rows accepted", 1, None),
        ("Rows rejected", 8, None),
        ("File-level error", "none", None),
    ]
    assert received.utcoffset() == dt.timedelta(0)
    modified = dt.datetime.fromtimestamp(source.stat().st_mtime, dt.UTC)
    assert abs(received - modified) < dt.timedelta(seconds=1)
    assert rows[12] == ("Error code", "Cells", "Meaning")
    counts = {code: count for code, count, _ in rows[13:]}
    assert counts == {
        "pattern": 6,
        "required": 1,
        "checksum": 1,
        "range": 1,
        "type": 1,
        "length": 1,
    }
    assert counts == dict(validated.rejections["code"].value_counts().iter_rows())
    assert [r[0] for r in rows[13:15]] == ["pattern", "checksum"]  # most frequent first
    assert rows[13][2] == "The value does not have the allowed form (characters, length)."


def test_detail_sheet_is_ready_to_filter(reports: tuple[Path, Path], validated: Validated) -> None:
    sheet = openpyxl.load_workbook(reports[0])["Rejected cells"]
    n = validated.rejections.height

    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:H{n + 1}"
    assert [c.value for c in sheet[1]] == TITLES
    assert TITLES[1] == "Key (part_no)" and TITLES[-1] == "Raw line"
    assert all(c.font.b for c in sheet[1])
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDEFGH"}
    assert all(8 <= w <= 80 for w in widths.values())
    assert max(widths, key=lambda k: widths[k]) == "F"  # the message gets the room
    assert sheet.max_row == n + 1


def test_a_composite_key_names_its_fields_in_the_title() -> None:
    titles = [t for _, t, _ in detail_columns(shipped("prices").key_fields)]
    assert titles[1] == "Key (part_no / price_list_code / quantity_break)"


def test_one_row_per_rejected_cell_with_the_right_values(
    reports: tuple[Path, Path], report: Report
) -> None:
    sheet = openpyxl.load_workbook(reports[0])["Rejected cells"]
    got = [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=2)]

    short = [r for r in expected_rows(report) if r[0] not in (8, 10)]
    assert [r for r in got if r[0] not in (8, 10)] == short
    line_8 = [r for r in got if r[0] == 8]
    assert [r[4] for r in line_8] == ["pattern"]
    assert line_8[0][1] == line_8[0][6] == "A[0x0B]B"  # shown, not dropped, not a crash
    assert line_8[0][7] == "A[0x0B]B;ACME;Acme;;;Namn;;CAT;;25;1"
    assert [r[:2] + r[4:5] for r in got if r[0] == 9] == [
        (9, "P2", "checksum"), (9, "P2", "required"), (9, "P2", "range"), (9, "P2", "type")
    ]  # fmt: skip
    assert {r[7] for r in got if r[0] == 9} == {"P2;ACME;Acme;;;;;CAT;7350000000017;125;tung"}
    line_10 = next(r for r in got if r[0] == 10)
    assert line_10[6] == "=" + "x" * 199 + " [cut at 200 of 40,001 characters]"
    assert line_10[7] == ("P3;ACME;Acme;;;=" + "x" * 40_000)[:RAW_LIMIT] + CUT


def test_formula_text_is_stored_as_plain_strings(reports: tuple[Path, Path]) -> None:
    sheet = openpyxl.load_workbook(reports[0])["Rejected cells"]
    risky = [c for row in sheet.iter_rows(min_row=2) for c in row if str(c.value)[:1] in "=+-@"]

    assert {c.value for c in risky} >= set(RISKY)
    raw = {c.value for c in risky if c.column_letter == "H"}
    assert raw == {
        "=1+2;ACME;Acme;;;Namn;;CAT;;25;1",
        "+46701234567;ACME;Acme;;;Namn;;CAT;;25;1",
        "-5;ACME;Acme;;;Namn;;CAT;;25;1",
        "@SUM(A1);ACME;Acme;;;Namn;;CAT;;25;1",
    }
    for cell in risky:
        assert cell.data_type == "s", cell.coordinate
        assert cell.quotePrefix, cell.coordinate


def test_the_csv_has_a_bom_and_reads_back(reports: tuple[Path, Path], report: Report) -> None:
    raw = reports[1].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")

    with reports[1].open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))

    assert rows[0] == TITLES
    expected = expected_rows(report)
    assert len(rows) == len(expected) + 1
    for got, want in zip(rows[1:], expected, strict=True):
        shown = ["" if v is None else str(v) for v in want]
        shown = [f"'{v}" if v[:1] in ("=", "+", "-", "@") else v for v in shown]
        assert got == shown
    values = [r[6] for r in rows[1:]]
    assert "'=1+2" in values and "'-5" in values and "'@SUM(A1)" in values
    assert "A\x0bB" in values  # the CSV keeps the value exactly as received
    raws = [r[7] for r in rows[1:]]
    assert "'=1+2;ACME;Acme;;;Namn;;CAT;;25;1" in raws
    assert "A\x0bB;ACME;Acme;;;Namn;;CAT;;25;1" in raws


def test_an_empty_rejection_frame_gives_reports_with_headers_only(tmp_path: Path) -> None:
    empty = pl.DataFrame(schema=REJECTION_SCHEMA)
    report = Report({"File": "x.csv"}, empty, {}, ["part_no"])
    xlsx, csv_path = write_reports(report, tmp_path, "x.rejected")

    sheet = openpyxl.load_workbook(xlsx)["Rejected cells"]
    assert sheet.max_row == 1
    assert sheet.auto_filter.ref == "A1:H1"
    assert csv_path.read_text(encoding="utf-8-sig").count("\n") == 1
