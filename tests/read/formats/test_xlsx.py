"""XLSX: cells as the text the ERP meant, Excel row numbers, sheets, refusals, hostile zips.

Every workbook is written here with openpyxl, then read back through `read_file` (what the
reader returns) or `parse_and_validate` (what a feed makes of it).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from etl.config.contracts import FeedContract
from etl.errors import ParseError, SchemaMismatch
from etl.models import LINE
from etl.read.formats import read_file
from etl.to_norce.check_feeds import FEED_HEADER
from tests.fixtures.feeds import PRICE_COLUMNS, check, contract_from, rejections, shipped
from tests.support.paths import REPO, SAMPLES

Cell = object  # what openpyxl takes: text, numbers, dates, booleans
PRICE_HEADER = ["ItemNo", "PriceList", "Qty", "Currency", "Price", "Cost"]
SAMPLE = SAMPLES / "prices_xlsx" / "kampanjpriser_20261120.xlsx"


def workbook(
    path: Path,
    rows: Mapping[int, Sequence[Cell]] | Sequence[Sequence[Cell]],
    *,
    title: str = "Priser",
    before: Sequence[str] = (),
) -> Path:
    """An .xlsx whose sheet `title` has `rows` (by Excel row number, or from row 1)."""
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    for name in before:
        book.create_sheet(name).append(["Export", "Kampanjpriser"])
    sheet = book.create_sheet(title)
    book.remove(first)
    numbered = rows if isinstance(rows, Mapping) else dict(enumerate(rows, start=1))
    for row, values in numbered.items():
        for column, value in enumerate(values, start=1):
            if value is not None:
                sheet.cell(row=row, column=column, value=value)
    book.save(path)
    return path


def xlsx_contract(folder: Path, fmt: str = "", columns: str = PRICE_COLUMNS) -> FeedContract:
    """A price feed (or another entity's, given its columns) read from XLSX."""
    entity = "onhand" if "onhand_value" in columns else "price"
    text = f'[feed]\nentity = "{entity}"\n[format]\ntype = "xlsx"\n{fmt}\n{columns}'
    return contract_from(text, folder, "xlsx_feed")


def cells(path: Path, contract: FeedContract, scratch: Path) -> list[tuple[object, ...]]:
    """The parsed rows with their line numbers, as the reader hands them on."""
    parsed = read_file(path, contract, scratch)
    return parsed.frame.select(*parsed.columns, LINE).rows()


# ---- cells as text ----


def test_numbers_arrive_as_the_digits_the_erp_meant(tmp_path: Path, scratch: Path) -> None:
    path = workbook(
        tmp_path / "p.xlsx",
        [
            PRICE_HEADER,
            ["00123", "L", 1, "SEK", 12.5, 0.1 + 0.2],
            [7350000000016, "L", 10, "SEK", 100.0, 1e20],
            [123, 45, True, "SEK", -0.5, 79.19999999999999],
        ],
    )

    assert cells(path, xlsx_contract(tmp_path), scratch) == [
        ("00123", "L", "1", "SEK", "12.5", "0.3", 2),
        ("7350000000016", "L", "10", "SEK", "100", "100000000000000000000", 3),
        ("123", "45", "true", "SEK", "-0.5", "79.2", 4),
    ]


def test_leading_zeros_and_long_numbers_survive_validation(tmp_path: Path, scratch: Path) -> None:
    path = workbook(
        tmp_path / "p.xlsx",
        [
            PRICE_HEADER,
            ["00123", "007", 1, "SEK", 10.5, None],
            [7350000000016, "L", 2, "SEK", 3, 1],
        ],
    )

    valid = check(path, xlsx_contract(tmp_path), scratch).valid

    assert valid.select("part_no", "price_list_code", "quantity_break", "price_sale").rows() == [
        ("00123", "007", 1, Decimal("10.5")),
        ("7350000000016", "L", 2, Decimal("3")),
    ]


@pytest.mark.parametrize(
    ("date_format", "written"),
    [("%Y-%m-%d", "2026-11-20"), ("%d.%m.%Y", "20.11.2026"), ("%Y%m%d", "20261120")],
)
def test_date_cells_are_written_with_the_contracts_date_format(
    tmp_path: Path, scratch: Path, date_format: str, written: str
) -> None:
    stamp = dt.datetime(2026, 11, 20, 13, 45)
    path = workbook(
        tmp_path / "p.xlsx",
        [
            PRICE_HEADER,
            [dt.date(2026, 11, 20), "L", 1, "SEK", stamp, dt.datetime(2026, 11, 20)],
            ["2026-02-30 00:00:00", "L", 1, "SEK", None, None],  # text, and no real date
        ],
    )
    contract = xlsx_contract(tmp_path, f'date_format = "{date_format}"')

    assert cells(path, contract, scratch) == [
        (written, "L", "1", "SEK", "2026-11-20 13:45:00", written, 2),
        ("2026-02-30 00:00:00", "L", "1", "SEK", None, None, 3),
    ]


ONHAND_COLUMNS = """
[columns]
"Art" = "part_no"
"Lager" = "warehouse_code"
"Plats" = "location_code"
"Saldo" = "onhand_value"
"Leverans" = "next_delivery_date"
"""


def test_dates_validate_as_dates_and_a_time_of_day_is_refused(
    tmp_path: Path, scratch: Path
) -> None:
    path = workbook(
        tmp_path / "s.xlsx",
        [
            ["Art", "Lager", "Plats", "Saldo", "Leverans"],
            ["A", "MAIN", "A1", 5, dt.date(2026, 12, 1)],
            ["B", "MAIN", "A1", 5, "01.12.2026"],
            ["C", "MAIN", "A1", 5, dt.datetime(2026, 12, 1, 8, 30)],
        ],
    )
    contract = xlsx_contract(tmp_path, 'date_format = "%d.%m.%Y"', ONHAND_COLUMNS)

    validated = check(path, contract, scratch)

    assert validated.valid.select("part_no", "next_delivery_date").rows() == [
        ("A", dt.date(2026, 12, 1)),
        ("B", dt.date(2026, 12, 1)),
    ]
    assert rejections(validated) == [(4, "next_delivery_date", "Leverans", "type")]


PRODUCT_COLUMNS = """
[columns]
"sku" = "part_no"
"name" = "name"
"start" = "start_date"
"stop" = "stop_date"
[defaults]
manufacturer_code = "ACME"
"""


def product_contract(folder: Path, fmt: str) -> FeedContract:
    text = f'[feed]\nentity = "product"\n[format]\ntype = "xlsx"\n{fmt}\n{PRODUCT_COLUMNS}'
    return contract_from(text, folder, "xlsx_products")


def test_a_date_cell_is_read_as_the_day_excel_holds_whatever_the_fields_format(
    tmp_path: Path, scratch: Path
) -> None:
    # The feed's date_format says day first; stop_date's own formats say month first.
    fmt = (
        'datetime_format = "%Y-%m-%d %H:%M:%S"\ndate_format = ["%d/%m/%Y", "%Y-%m-%d"]\n'
        '[format.field_formats]\nstop_date = ["%m/%d/%Y %H:%M", "%m/%d/%Y"]'
    )
    path = workbook(
        tmp_path / "px.xlsx",
        [
            ["sku", "name", "start", "stop"],
            ["A1", "Hat", dt.datetime(2026, 11, 20, 14, 30), dt.datetime(2026, 4, 3)],
            ["A2", "Cap", dt.datetime(2026, 11, 21), "04/13/2026"],
        ],
    )

    validated = check(path, product_contract(tmp_path, fmt), scratch)

    assert rejections(validated) == []
    assert validated.valid.select("part_no", "start_date", "stop_date").rows() == [
        (
            "A1",
            dt.datetime(2026, 11, 20, 14, 30, tzinfo=dt.UTC),
            dt.datetime(2026, 4, 3, tzinfo=dt.UTC),
        ),
        ("A2", dt.datetime(2026, 11, 21, tzinfo=dt.UTC), dt.datetime(2026, 4, 13, tzinfo=dt.UTC)),
    ]


def test_a_date_time_cell_is_never_cut_to_fit_a_format(tmp_path: Path, scratch: Path) -> None:
    path = workbook(
        tmp_path / "px.xlsx",
        [
            ["sku", "name", "start", "stop"],
            ["A1", "Hat", dt.datetime(2026, 11, 20, 14, 30), None],
            ["A2", "Cap", dt.datetime(2026, 11, 20, 14, 30, 45), None],  # seconds %M drops
        ],
    )

    validated = check(
        path, product_contract(tmp_path, 'datetime_format = "%d.%m.%Y %H:%M"'), scratch
    )

    assert validated.valid.select("part_no", "start_date").rows() == [
        ("A1", dt.datetime(2026, 11, 20, 14, 30, tzinfo=dt.UTC))
    ]
    assert rejections(validated) == [(3, "start_date", "start", "type")]
    assert validated.rejections["value"].to_list() == ["2026-11-20 14:30:45"]


def test_a_text_cell_shaped_like_excels_dates_follows_the_contracts_format(
    tmp_path: Path, scratch: Path
) -> None:
    path = workbook(
        tmp_path / "s.xlsx",
        [
            ["Art", "Lager", "Plats", "Saldo", "Leverans"],
            ["A", "MAIN", "A1", 5, dt.date(2026, 12, 1)],
            ["B", "MAIN", "A1", 5, "2026-12-01 00:00:00"],  # typed as text by a person
        ],
    )
    contract = xlsx_contract(tmp_path, 'date_format = "%d.%m.%Y"', ONHAND_COLUMNS)

    validated = check(path, contract, scratch)

    assert validated.valid.select("part_no", "next_delivery_date").rows() == [
        ("A", dt.date(2026, 12, 1))
    ]
    assert rejections(validated) == [(3, "next_delivery_date", "Leverans", "type")]


# ---- the decimal rule: numeric cells take the contract's separator, text stays as typed ----


def test_numeric_cells_take_the_contracts_decimal_comma(tmp_path: Path, scratch: Path) -> None:
    path = workbook(
        tmp_path / "p.xlsx",
        [
            PRICE_HEADER,
            ["A", "L", 1, "SEK", 1.5, 0.0001],  # typed as 1,5 in a Swedish Excel
            ["B", "L", 1, "SEK", "1,5", -2.25],  # text, as typed
            ["C", "L", 1, "SEK", "1.500", None],  # text with a dot: not guessed
            ["10.25", "L", 1, "SEK", 1234.5, 7],  # a text code keeps its dot
        ],
    )
    contract = xlsx_contract(tmp_path, 'decimal = ","')

    assert cells(path, contract, scratch) == [
        ("A", "L", "1", "SEK", "1,5", "0,0001", 2),
        ("B", "L", "1", "SEK", "1,5", "-2,25", 3),
        ("C", "L", "1", "SEK", "1.500", None, 4),
        ("10.25", "L", "1", "SEK", "1234,5", "7", 5),
    ]
    validated = check(path, contract, scratch)
    assert validated.valid.select("part_no", "price_sale", "cost_purchase").rows() == [
        ("A", Decimal("1.5"), Decimal("0.0001")),
        ("10.25", Decimal("1234.5"), Decimal("7")),
    ]
    assert rejections(validated) == [
        (3, "cost_purchase", "Cost", "range"),  # read as -2.25: a cost may not be negative
        (4, "price_sale", "Price", "type"),
    ]


def test_numeric_cells_need_no_thousands_separator(tmp_path: Path, scratch: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", [PRICE_HEADER, ["A", "L", 1, "SEK", 1234567.25, "1.500"]])
    contract = xlsx_contract(tmp_path, 'decimal = ","\nthousands = "."')

    valid = check(path, contract, scratch).valid

    assert valid.select("price_sale", "cost_purchase").rows() == [
        (Decimal("1234567.25"), Decimal("1500"))
    ]


def test_numeric_cells_keep_the_point_under_a_decimal_point(tmp_path: Path, scratch: Path) -> None:
    path = workbook(
        tmp_path / "p.xlsx",
        [PRICE_HEADER, ["A", "L", 1, "SEK", 1.5, None], ["B", "L", 1, "SEK", "1,5", None]],
    )

    validated = check(path, xlsx_contract(tmp_path), scratch)

    assert validated.valid.select("part_no", "price_sale").rows() == [("A", Decimal("1.5"))]
    assert rejections(validated) == [(3, "price_sale", "Price", "type")]


# ---- rows: header_row, Excel row numbers, empty rows ----


def test_header_row_below_titles_and_excel_row_numbers(tmp_path: Path, scratch: Path) -> None:
    path = workbook(
        tmp_path / "p.xlsx",
        {
            1: ["Prislista KAMPANJ-SEK"],
            2: ["Utskriven 2026-11-20", None, None, None, None, "sida 1"],
            4: PRICE_HEADER,
            5: ["A", "L", 1, "SEK", 10, None],
            6: [None, None, None, None, None, None],
            7: ["   ", None, " ", None, None, None],  # only spaces: empty to the eye
            8: ["B", "L", 1, "SEK", 0, None],
            12: ["C", "L", 1, "SEK", 30, None],
            14: [" "],  # trailing rows with nothing in them
            15: [""],
        },
    )
    contract = xlsx_contract(tmp_path, "header_row = 4")

    assert cells(path, contract, scratch) == [
        ("A", "L", "1", "SEK", "10", None, 5),
        ("B", "L", "1", "SEK", "0", None, 8),
        ("C", "L", "1", "SEK", "30", None, 12),
    ]
    validated = check(path, contract, scratch)
    assert rejections(validated) == [(8, "price_sale", "Price", "range")]
    assert validated.rows_read == 3


def test_a_header_row_that_is_empty_says_so(tmp_path: Path, scratch: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", {1: ["Title"], 3: PRICE_HEADER})

    with pytest.raises(SchemaMismatch, match=r"row 2 of sheet 'Priser' is empty.*header_row"):
        read_file(path, xlsx_contract(tmp_path, "header_row = 2"), scratch)


def test_a_header_row_below_the_sheets_end_says_so(tmp_path: Path, scratch: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", [PRICE_HEADER, ["A", "L", 1, "SEK", 1, 2]])

    with pytest.raises(SchemaMismatch, match=r"row 9 of sheet 'Priser' is empty.*header_row"):
        read_file(path, xlsx_contract(tmp_path, "header_row = 9"), scratch)


def test_a_formula_never_calculated_reads_as_empty(tmp_path: Path, scratch: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", [PRICE_HEADER, ["A", "L", 1, "SEK", "=2*5", 4]])

    assert cells(path, xlsx_contract(tmp_path), scratch) == [("A", "L", "1", "SEK", None, "4", 2)]


# ---- sheets ----


@pytest.mark.parametrize("sheet", ['"Priser"', "1"])
def test_sheet_by_name_or_by_index(tmp_path: Path, scratch: Path, sheet: str) -> None:
    path = workbook(
        tmp_path / "p.xlsx", [PRICE_HEADER, ["A", "L", 1, "SEK", 10, 5]], before=["Info"]
    )

    assert cells(path, xlsx_contract(tmp_path, f"sheet = {sheet}"), scratch) == [
        ("A", "L", "1", "SEK", "10", "5", 2)
    ]


def test_the_first_sheet_is_the_default(tmp_path: Path, scratch: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", [PRICE_HEADER], before=["Info"])

    assert read_file(path, xlsx_contract(tmp_path), scratch).columns == ("Export", "Kampanjpriser")


@pytest.mark.parametrize(
    ("sheet", "said"), [('"Prices"', "no sheet 'Prices'"), ("2", "no sheet at index 2")]
)
def test_a_missing_sheet_names_the_file_and_lists_the_sheets(
    tmp_path: Path, scratch: Path, sheet: str, said: str
) -> None:
    path = workbook(tmp_path / "p.xlsx", [PRICE_HEADER], before=["Info"])

    with pytest.raises(ParseError) as caught:
        read_file(path, xlsx_contract(tmp_path, f"sheet = {sheet}"), scratch)

    assert (
        str(caught.value)
        == f"p.xlsx: {said} (format.sheet); the workbook has 0: 'Info', 1: 'Priser'"
    )


# ---- the header ----


def test_a_column_named_twice_is_a_schema_mismatch(tmp_path: Path, scratch: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", [[*PRICE_HEADER, "Price"], ["A", "L", 1, "SEK", 1, 2, 3]])

    with pytest.raises(SchemaMismatch) as caught:
        read_file(path, xlsx_contract(tmp_path), scratch)

    assert "names a column twice ('Price' in columns E and G)" in str(caught.value)
    assert (caught.value.line, caught.value.column) == (1, "Price")


def test_values_under_an_empty_header_cell_are_a_schema_mismatch(
    tmp_path: Path, scratch: Path
) -> None:
    path = workbook(
        tmp_path / "p.xlsx", [[*PRICE_HEADER, None, "Note"], ["A", "L", 1, "SEK", 1, 2, 3]]
    )

    with pytest.raises(SchemaMismatch, match="column G has values but no name in header row 1"):
        read_file(path, xlsx_contract(tmp_path), scratch)


def test_an_unnamed_column_with_nothing_in_it_is_ignored(tmp_path: Path, scratch: Path) -> None:
    path = workbook(
        tmp_path / "p.xlsx", [[*PRICE_HEADER, None, "Note"], ["A", "L", 1, "SEK", 1, 2, None, "x"]]
    )

    parsed = read_file(path, xlsx_contract(tmp_path), scratch)

    assert parsed.columns == (*PRICE_HEADER, "Note")


# ---- files that are not XLSX ----


def _not_xlsx(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "p.xlsx"
    if kind == "csv renamed":
        path.write_text("ItemNo,PriceList\n1,L\n", encoding="utf-8")
    elif kind == "truncated":
        real = workbook(tmp_path / "real.xlsx", [PRICE_HEADER, ["A", "L", 1, "SEK", 1, 2]])
        data = real.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "a zip of something else":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("prices.csv", "ItemNo,PriceList\n1,L\n")
    else:  # an old .xls, or an encrypted workbook: both are OLE2 files
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    return path


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("csv renamed", "not an XLSX workbook (not a readable zip"),
        ("truncated", "not an XLSX workbook (not a readable zip"),
        ("a zip of something else", "not readable as an XLSX workbook"),
        ("ole2", "not an XLSX workbook but an OLE2 file (an old .xls, or a password-protected"),
    ],
)
def test_a_file_that_is_not_an_xlsx_is_a_parse_error_naming_it(
    tmp_path: Path, scratch: Path, kind: str, said: str
) -> None:
    path = _not_xlsx(tmp_path, kind)

    with pytest.raises(ParseError) as caught:
        read_file(path, xlsx_contract(tmp_path), scratch)

    assert str(caught.value).startswith(f"p.xlsx: {said}")


# ---- hostile zips ----


def _rewrite(path: Path, member: str, edit: Callable[[bytes], bytes]) -> Path:
    """Copy of the workbook at `path` with one member's bytes replaced by `edit(old)`."""
    out = path.with_name(f"crafted-{path.name}")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info.filename, edit(data) if info.filename == member else data)
    return out


SHEET = "xl/worksheets/sheet1.xml"


def _sheet_data(rows: str) -> Callable[[bytes], bytes]:
    def edit(xml: bytes) -> bytes:
        start, end = xml.index(b"<sheetData"), xml.index(b"</sheetData>") + len(b"</sheetData>")
        return xml[:start] + f"<sheetData>{rows}</sheetData>".encode() + xml[end:]

    return edit


def test_declared_sizes_over_the_limit_are_refused_before_reading(
    tmp_path: Path, scratch: Path
) -> None:
    # 50 kB of one repeated byte deflates to under 100 bytes: small on disk, large declared.
    path = _rewrite(
        workbook(tmp_path / "p.xlsx", [PRICE_HEADER]), "docProps/app.xml", lambda _: b" " * 50_000
    )
    assert path.stat().st_size < 10_000

    with pytest.raises(
        ParseError, match=r"declares \d+ bytes expanded, over format.max_expanded_bytes = 20000"
    ):
        read_file(path, xlsx_contract(tmp_path, "max_expanded_bytes = 20000"), scratch)


def _lying(path: Path) -> tuple[Path, int, int]:
    """The workbook with its sheet's sizes and CRC declared for only its first 200 bytes."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(SHEET)
        full = archive.read(info)
    size, crc = 200, zlib.crc32(full[:200]).to_bytes(4, "little")
    local = info.header_offset
    data[local + 14 : local + 18] = crc
    data[local + 22 : local + 26] = size.to_bytes(4, "little")
    central = data.index(b"PK\x01\x02")
    while bytes(data[central + 46 : central + 46 + len(SHEET)]) != SHEET.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 16 : central + 20] = crc
    data[central + 24 : central + 28] = size.to_bytes(4, "little")
    lying = path.with_name("lying.xlsx")
    lying.write_bytes(bytes(data))
    return lying, size, len(full)


def test_a_sheet_larger_than_its_zip_header_says_is_measured_as_it_expands(
    tmp_path: Path, scratch: Path
) -> None:
    rows = [PRICE_HEADER, *([f"A{i}", "L", 1, "SEK", 1, 2] for i in range(300))]
    path, declared, actual = _lying(workbook(tmp_path / "p.xlsx", rows))
    with zipfile.ZipFile(path) as archive:  # what zipfile believes: 200 bytes, CRC fine
        assert len(archive.read(SHEET)) == declared
    others = sum(i.file_size for i in zipfile.ZipFile(path).infolist()) - declared
    limit = others + declared + (actual - declared) // 2

    with pytest.raises(
        ParseError,
        match=r"expands beyond format.max_expanded_bytes .*whatever its zip headers declare",
    ):
        read_file(path, xlsx_contract(tmp_path, f"max_expanded_bytes = {limit}"), scratch)
    # The same file with room for what it really holds is read whole, as calamine reads it.
    assert (
        len(
            read_file(
                path, xlsx_contract(tmp_path, f"max_expanded_bytes = {limit * 2}"), scratch
            ).frame
        )
        == 300
    )


# Each grid is refused only thanks to the detection it names: without it, the positions seen
# would span under 3.1 million cells, what max_expanded_bytes = 100 MB allows.
HUGE_GRIDS = {
    "a far corner": '<row r="1"><c r="A1" t="inlineStr"><is><t>ItemNo</t></is></c></row>'
    '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
    "a row beyond any sheet": '<row r="1"><c r="A1"><v>1</v></c></row>'
    '<row r="900000000"><c r="A900000000"><v>1</v></c></row>',
    "cells without positions": '<row r="1000000">' + "<c><v>1</v></c>" * 10 + "</row>",
    "prefixed cells without positions": '<row r="1000000">'
    + '<x:c xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><v>1</v></x:c>' * 10
    + "</row>",
    "positions written with an entity": '<row r="1000000">'
    + '<c r="A&#49;"><v>1</v></c>' * 10
    + "</row>",
    "positions with spaces and single quotes": '<row r="1"><c r = "D1000000"><v>1</v></c>'
    "<c r='Z1'><v>1</v></c></row>",
}


@pytest.mark.parametrize("grid", sorted(HUGE_GRIDS))
def test_a_tiny_file_spanning_a_huge_grid_is_refused(tmp_path: Path, grid: str) -> None:
    """calamine would allocate the whole grid and abort the process, so this runs in a child."""
    path = _rewrite(
        workbook(tmp_path / "p.xlsx", [PRICE_HEADER]), SHEET, _sheet_data(HUGE_GRIDS[grid])
    )
    assert path.stat().st_size < 10_000
    script = textwrap.dedent(
        f"""
        import resource
        from pathlib import Path
        from etl.config.contract_format import FormatSpec
        from etl.errors import ParseError
        from etl.read.formats.xlsx import read_xlsx
        resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))
        try:
            read_xlsx(Path({str(path)!r}), FormatSpec(type="xlsx", max_expanded_bytes=100_000_000))
        except ParseError as exc:
            print("refused:", exc)
        """
    )

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(f"refused: {path.name}: {SHEET} spans up to"), result.stdout
    assert "refused as hostile" in result.stdout


def test_a_wide_but_honest_sheet_is_not_refused(tmp_path: Path, scratch: Path) -> None:
    """The grid bound counts what the sheet spans, not what a limit of bytes could mean."""
    rows = {1: PRICE_HEADER, 2: ["A", "L", 1, "SEK", 1, 2], 400: ["B", "L", 1, "SEK", 1, 2]}
    path = workbook(tmp_path / "p.xlsx", rows)

    parsed = read_file(path, xlsx_contract(tmp_path, "max_expanded_bytes = 100000"), scratch)

    assert parsed.frame[LINE].to_list() == [2, 400]


def test_utf16_xml_is_refused(tmp_path: Path, scratch: Path) -> None:
    path = _rewrite(
        workbook(tmp_path / "p.xlsx", [PRICE_HEADER]),
        SHEET,
        lambda xml: xml.decode().encode("utf-16"),
    )

    with pytest.raises(ParseError, match=f"{SHEET} is UTF-16 XML"):
        read_file(path, xlsx_contract(tmp_path), scratch)


# ---- the shipped sample and its contract ----


def test_the_shipped_contract_reads_the_shipped_sample(scratch: Path) -> None:
    contract = shipped("prices_xlsx")
    parsed = read_file(SAMPLE, contract, scratch)

    assert (contract.format.sheet, contract.format.header_row, contract.format.decimal) == (
        "Prislista",
        4,
        ",",
    )
    assert parsed.frame.select("Artikelnr", "Kampanjpris", "Inpris", LINE).rows()[:7] == [
        ("100123", "69,5", "31,5", 5),
        ("100123", "62,5", "31,5", 6),
        ("100124", "74", "32", 7),
        ("100200", "1999", "1120", 8),
        ("100201", "479,2", "235,75", 9),
        ("00125", "149,9", "60", 11),
        ("100300", "0", "18", 12),
    ]


@pytest.mark.slow
def test_run_py_check_on_the_shipped_sample(tmp_path: Path) -> None:
    out = tmp_path / "out"

    result = subprocess.run(
        [
            sys.executable,
            "run.py",
            "check",
            str(SAMPLE),
            "--feed",
            "prices_xlsx",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1, result.stderr
    printed = [line for line in result.stdout.splitlines() if not line.startswith(FEED_HEADER)]
    assert printed[7:10] == ["Rows read:        12", "Rows accepted:    7", "Rows rejected:    5"]
    assert printed[-7:] == [
        "Rejected cells per error code:",
        "  duplicate_key: 2",
        "  pattern: 1",
        "  range: 1",
        "  type: 1",
        f"Report: {out / 'kampanjpriser_20261120.rejected.xlsx'}",
        f"Report: {out / 'kampanjpriser_20261120.rejected.csv'}",
    ]
    report = openpyxl.load_workbook(out / "kampanjpriser_20261120.rejected.xlsx")
    lines = [r[0] for r in report.worksheets[-1].iter_rows(min_row=2, values_only=True)]
    assert lines == [12, 13, 14, 16, 17]  # Excel's row numbers
