"""CSV shapes real exports write: lines ended by CR alone, rows with a trailing delimiter.

Every file is written here as the ERP would and read through `read_file` (what the reader
hands on), `check` (what a feed makes of it) or `raw_records` (what a report shows).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.errors import ParseError
from etl.models import LINE
from etl.read.formats import read_file
from etl.read.formats.raw import raw_records
from tests.fixtures.feeds import check, price_contract, rejections

HEADER = "ItemNo;PriceList;Qty;Currency;Price;Cost"
IGNORE = 'delimiter = ";"\nextra_empty_fields = "ignore"'


def write(path: Path, lines: list[str], end: str, *, encoding: str = "utf-8") -> Path:
    """`lines`, each ended by `end`, encoded as the ERP would."""
    path.write_bytes("".join(line + end for line in lines).encode(encoding))
    return path


# ---- lines ended by CR alone ----


@pytest.mark.parametrize("end", ["\r", "\n", "\r\n"], ids=["cr", "lf", "crlf"])
def test_cr_only_lines_read_like_lf_and_crlf(tmp_path: Path, scratch: Path, end: str) -> None:
    lines = [HEADER, "A;L;1;SEK;10;", 'B;L;1;SEK;11;"two', 'lines"', "", "C;L;1;SEK;12;"]
    path = write(tmp_path / "prices.csv", lines, end, encoding="mac_roman")
    contract = price_contract(tmp_path, 'delimiter = ";"\nencoding = "mac_roman"')

    frame = read_file(path, contract, scratch).frame

    in_cell = "\r\n" if end == "\r\n" else "\n"  # a CR-only file's CRs are all line ends
    assert frame.select("ItemNo", "Cost", LINE).rows() == [
        ("A", None, 2),
        ("B", f"two{in_cell}lines", 3),
        ("C", None, 6),
    ]
    assert not list(scratch.glob("*")), "scratch copies are removed"


def test_a_cr_only_file_longer_than_one_line_bound_is_not_one_long_line(
    tmp_path: Path, scratch: Path
) -> None:
    rows = [f"A{n};L;1;SEK;10;" for n in range(200)]
    path = write(tmp_path / "prices.csv", [HEADER, *rows], "\r")
    contract = price_contract(tmp_path, 'delimiter = ";"\nmax_line_bytes = 1024')

    frame = read_file(path, contract, scratch).frame

    assert frame.height == 200 and frame[LINE][-1] == 201


def test_max_rows_counts_cr_only_lines(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "prices.csv", [HEADER, *["A;L;1;SEK;10;"] * 5], "\r")
    contract = price_contract(tmp_path, 'delimiter = ";"\nmax_rows = 4')

    with pytest.raises(ParseError, match="5 lines of data") as caught:
        read_file(path, contract, scratch)

    assert caught.value.line == 6


def test_max_blank_lines_counts_cr_only_blank_lines(tmp_path: Path, scratch: Path) -> None:
    path = write(
        tmp_path / "prices.csv", [HEADER, "A;L;1;SEK;10;", "", "", "", "B;L;1;SEK;1;"], "\r"
    )
    contract = price_contract(tmp_path, 'delimiter = ";"\nmax_blank_lines = 2')

    with pytest.raises(ParseError, match="more than 2 blank lines") as caught:
        read_file(path, contract, scratch)

    assert caught.value.line == 5


def test_a_cr_inside_a_cell_of_an_lf_file_stays_text(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "prices.csv", [HEADER, 'A;L;1;SEK;10;"a\rb"'], "\n")
    contract = price_contract(tmp_path, 'delimiter = ";"')

    assert read_file(path, contract, scratch).frame["Cost"].to_list() == ["a\rb"]


def test_a_report_finds_the_raw_lines_of_a_cr_only_file(tmp_path: Path, scratch: Path) -> None:
    lines = [HEADER, 'A;L;1;SEK;10;"two', 'lines"', "B;L;1;SEK;many;", "C;L;1;sek;12;"]
    path = write(tmp_path / "prices.csv", lines, "\r", encoding="mac_roman")
    contract = price_contract(tmp_path, 'delimiter = ";"\nencoding = "mac_roman"')
    validated = check(path, contract, scratch)

    raw = raw_records(path, contract, validated.rejections["line"].to_list(), scratch)

    # The reader reads every CR as a line end: so does the report, quoted ones as LF.
    assert raw == {2: 'A;L;1;SEK;10;"two\nlines"', 4: "B;L;1;SEK;many;", 5: "C;L;1;sek;12;"}


# ---- a trailing delimiter: one more, empty field than the header ----


def test_a_trailing_delimiter_rejects_the_file_by_default_and_says_how_to_allow_it(
    tmp_path: Path, scratch: Path
) -> None:
    path = write(tmp_path / "prices.csv", [HEADER, "A;L;1;SEK;10;;", "B;L;1;SEK;11;;"], "\n")

    with pytest.raises(ParseError, match='extra_empty_fields = "ignore"') as caught:
        read_file(path, price_contract(tmp_path, 'delimiter = ";"'), scratch)

    assert "7 fields where the header has 6" in str(caught.value)
    assert caught.value.line == 2


def test_extra_empty_fields_ignore_takes_the_rows(tmp_path: Path, scratch: Path) -> None:
    lines = [HEADER, "A;L;1;SEK;10;;", '"B;2";L;1;SEK;11;"";""; ', "C;L;1;SEK;12;"]
    path = write(tmp_path / "prices.csv", lines, "\n")
    contract = price_contract(tmp_path, IGNORE)

    frame = read_file(path, contract, scratch).frame

    assert frame.select("ItemNo", "Cost", LINE).rows() == [
        ("A", None, 2),
        ("B;2", None, 3),
        ("C", None, 4),
    ]
    # Only the part number's own rule (no ';' in it) rejects a cell: no row is lost.
    assert rejections(check(path, contract, scratch)) == [(3, "part_no", "ItemNo", "pattern")]


@pytest.mark.parametrize(
    ("row", "fields"),
    [("B;L;1;SEK;11;;oops", 7), ("B;L;1;SEK", 4)],
    ids=["a-non-empty-extra-field", "too-short"],
)
def test_really_too_long_or_short_rows_are_rejected_rows_at_their_line(
    tmp_path: Path, scratch: Path, row: str, fields: int
) -> None:
    path = write(tmp_path / "prices.csv", [HEADER, "A;L;1;SEK;10;;", row], "\n")
    contract = price_contract(tmp_path, IGNORE)

    validated = check(path, contract, scratch)

    assert validated.valid["part_no"].to_list() == ["A"]
    assert rejections(validated) == [(3, None, None, "field_count")]
    message = validated.rejections["message"][0]
    assert message.startswith(f"{fields} fields where the header has 6")
    assert "extra_empty_fields" not in message
    assert raw_records(path, contract, [3], scratch) == {3: row}
