"""CSV: dialects, quoting, physical line numbers, and file-level refusals."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from etl.errors import ParseError, SchemaMismatch
from etl.models import LINE
from etl.read.formats import read_file
from tests.fixtures.feeds import check, price_contract, rejections

HEADER = "ItemNo;PriceList;Qty;Currency;Price;Cost"
SWEDISH = 'encoding = "cp1252"\ndelimiter = ";"\ndecimal = ","'


def write(path: Path, lines: list[str], *, newline: str = "\n", end: str = "\n") -> Path:
    path.write_bytes((newline.join(lines) + end).encode("cp1252"))
    return path


def test_semicolons_and_decimal_commas(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "p.csv", [HEADER, "A;L;1;SEK;1,5;0,0001", "B;L;2;SEK;1234,5678;"])

    valid = check(path, price_contract(tmp_path, SWEDISH), scratch).valid

    assert valid.select("part_no", "quantity_break", "price_sale", "cost_purchase").rows() == [
        ("A", 1, Decimal("1.5"), Decimal("0.0001")),
        ("B", 2, Decimal("1234.5678"), None),
    ]


@pytest.mark.parametrize(
    ("thousands", "decimal", "text", "expected"),
    [
        (".", ",", "1.234,50", Decimal("1234.50")),
        (".", ",", "1.234.567", Decimal("1234567")),
        (".", ",", "1234,5", Decimal("1234.5")),
        (" ", ",", "1 234 567,25", Decimal("1234567.25")),
        (",", ".", "12,345.6", Decimal("12345.6")),
        ("'", ".", "1'000", Decimal("1000")),
        (".", ",", "1.5", None),  # not a group of three: never read as 15
        (".", ",", "12.34", None),
        (".", ",", "1.2345,6", None),
        ("", ",", "1.500", None),  # a dot in a decimal-comma file is not a decimal point
        ("", ",", "1,500.25", None),
        ("", ".", "1,5", None),
    ],
)
def test_thousands_separators_only_where_the_contract_declares_them(
    tmp_path: Path,
    scratch: Path,
    thousands: str,
    decimal: str,
    text: str,
    expected: Decimal | None,
) -> None:
    fmt = f'delimiter = ";"\ndecimal = "{decimal}"\nthousands = "{thousands}"'
    path = write(tmp_path / "p.csv", [HEADER, f'A;L;1;SEK;"{text}";'])

    validated = check(path, price_contract(tmp_path, fmt), scratch)

    if expected is None:
        assert rejections(validated) == [(2, "price_sale", "Price", "type")]
        assert validated.valid.is_empty()
    else:
        assert validated.valid["price_sale"].to_list() == [expected]


def test_leading_zeros_stay_text(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "p.csv", [HEADER, "00123;007;0001;SEK;010,50;"])

    valid = check(path, price_contract(tmp_path, SWEDISH), scratch).valid

    assert valid.row(0, named=True) | {"cost_purchase": None} == {
        LINE: 2,
        "part_no": "00123",
        "price_list_code": "007",
        "quantity_break": 1,
        "currency": "SEK",
        "price_sale": Decimal("10.5"),
        "cost_purchase": None,
        "cost_unit": None,
        "price_recommended": None,
        "price_previous": None,
        "price_catalog": None,
        "is_active": None,
    }


def test_quoted_delimiters_and_newlines_keep_physical_line_numbers(
    tmp_path: Path, scratch: Path
) -> None:
    path = write(
        tmp_path / "p.csv",
        [
            HEADER,
            '"A;1";"list\nwith\nthree lines";1;SEK;1;',  # lines 2-4
            'B;"say ""hi""; ok";1;SEK;2;',  # line 5
            'C;"two\r\nlines";1;SEK;3;',  # lines 6-7
            "D;L;1;sek;4;",  # line 8, rejected
        ],
    )

    parsed = read_file(path, price_contract(tmp_path, SWEDISH), scratch)
    validated = check(path, price_contract(tmp_path, SWEDISH), scratch)

    assert parsed.frame.select("ItemNo", "PriceList", LINE).rows() == [
        ("A;1", "list\nwith\nthree lines", 2),
        ("B", 'say "hi"; ok', 5),
        ("C", "two\r\nlines", 6),
        ("D", "L", 8),
    ]
    assert rejections(validated)[-1] == (8, "currency", "Currency", "pattern")


def test_line_numbers_without_a_final_newline(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "p.csv", [HEADER, 'A;"x\ny";1;SEK;1;', "B;L;1;SEK;2;"], end="")

    parsed = read_file(path, price_contract(tmp_path, SWEDISH), scratch)

    assert parsed.frame[LINE].to_list() == [2, 4]


def test_a_newline_at_the_edge_of_a_quoted_cell_still_counts(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "p.csv", [HEADER, 'A;"L\n";1;SEK;1;', "B;L;1;SEK;2;"])

    parsed = read_file(path, price_contract(tmp_path, SWEDISH), scratch)

    assert parsed.frame.select("PriceList", LINE).rows() == [("L", 2), ("L", 4)]


def test_crlf_line_ends(tmp_path: Path, scratch: Path) -> None:
    path = write(
        tmp_path / "p.csv",
        [HEADER, "A;L;1;SEK;1,5;", 'B;"x\r\ny";1;SEK;2;', "C;L;1;SEK;3;2"],
        newline="\r\n",
        end="\r\n",
    )

    parsed = read_file(path, price_contract(tmp_path, SWEDISH), scratch)
    valid = check(path, price_contract(tmp_path, SWEDISH), scratch).valid

    assert parsed.columns[-1] == "Cost"  # no stray \r on the last header name
    assert parsed.frame.select("Cost", LINE).rows() == [(None, 2), (None, 3), ("2", 5)]
    assert valid.select("part_no", "cost_purchase").rows() == [("A", None), ("C", Decimal(2))]


def test_blank_lines_are_skipped_but_counted(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "p.csv", [HEADER, "A;L;1;SEK;1;", "", "B;L;1;SEK;2;", "", ""])

    validated = check(path, price_contract(tmp_path, SWEDISH), scratch)

    assert validated.rows_read == 2
    assert validated.rejections.is_empty()
    assert validated.valid.select("part_no", LINE).rows() == [("A", 2), ("B", 4)]


def test_a_cell_of_spaces_is_empty(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "p.csv", [HEADER, "A;   ;1;SEK; ;"])

    validated = check(path, price_contract(tmp_path, SWEDISH), scratch)

    assert rejections(validated) == [
        (2, "price_list_code", "PriceList", "required"),
        (2, "price_sale", "Price", "required"),
    ]


@pytest.mark.parametrize(
    ("rows", "line", "words"),
    [
        (["A;L;1;SEK;1;", "B;L;1;SEK", "C;L;1;SEK;3;"], 3, "4 fields where the header has 6"),
        (["A;L;1;SEK;1;;extra", "B;L;1;SEK;2;"], 2, "7 fields where the header has 6"),
        (['A;"x\ny";1;SEK;1;', "B;L;1;SEK;2;", "C"], 5, "1 field where the header has 6"),
        (["A;L;1;SEK;1;", "", 'B;"x;y"'], 4, "2 fields where the header has 6"),
    ],
    ids=["short", "long", "after-a-quoted-newline", "after-a-blank-line"],
)
def test_a_ragged_row_is_a_rejected_row_at_its_line(
    tmp_path: Path, scratch: Path, rows: list[str], line: int, words: str
) -> None:
    path = write(tmp_path / "ragged.csv", [HEADER, *rows])

    validated = check(path, price_contract(tmp_path, SWEDISH), scratch)

    ragged = validated.rejections.filter(code="field_count")
    assert ragged.select("line", "field", "source_column").rows() == [(line, None, None)]
    assert words in ragged["message"][0]
    # The other rows go on.
    assert validated.rows_read == validated.valid.height + validated.rejected_rows


def test_a_stray_quote_rejects_the_file_at_its_line(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "q.csv", [HEADER, "A;L;1;SEK;1;", 'B;"L"x;1;SEK;2;'])

    with pytest.raises(ParseError) as caught:
        read_file(path, price_contract(tmp_path, SWEDISH), scratch)

    assert caught.value.line == 3


@pytest.mark.parametrize(
    ("rows", "line"),
    [
        (['A;L;1;SEK;1;5"', "B;L;1;SEK;2;"], 2),  # an inch mark alone in a cell
        (["A;L;1;SEK;1;", 'B;L x";1;SEK;2;', 'C;L";1;SEK;3;'], 3),
        (["A;L;1;SEK;1;", "", 'B;L;1;SEK;2;x"', "C;L;1;SEK;3;"], 4),
    ],
    ids=["first row", "two of them", "after a blank line"],
)
def test_a_lone_quote_inside_an_unquoted_cell_rejects_the_file_at_its_line(
    tmp_path: Path, scratch: Path, rows: list[str], line: int
) -> None:
    # polars opens a quoted section there and gives up further on, without a position.
    path = write(tmp_path / "q.csv", [HEADER, *rows])

    with pytest.raises(ParseError) as caught:
        read_file(path, price_contract(tmp_path, SWEDISH), scratch)

    assert caught.value.line == line
    assert "a quote inside a cell that is not quoted" in str(caught.value)


def test_quotes_in_pairs_inside_an_unquoted_cell_are_text(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "q.csv", [HEADER, 'A;L;1;SEK;1;5" x 3"'])

    parsed = read_file(path, price_contract(tmp_path, SWEDISH), scratch)

    assert parsed.frame["Cost"].to_list() == ['5" x 3"']


def test_a_header_that_names_a_column_twice(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "dup.csv", [HEADER + ";Price", "A;L;1;SEK;1;;2"])

    with pytest.raises(SchemaMismatch, match=r"dup\.csv: .*twice \('Price'\)"):
        read_file(path, price_contract(tmp_path, SWEDISH), scratch)


@pytest.mark.parametrize("dropped", ["Price", "Cost"], ids=["required", "optional"])
def test_a_missing_mapped_column_rejects_the_file_naming_it(
    tmp_path: Path, scratch: Path, dropped: str
) -> None:
    # An optional column missing from a full export would otherwise blank the field for
    # every row in Norce.
    columns = [c for c in HEADER.split(";") if c != dropped]
    path = write(tmp_path / "prices_1.csv", [";".join(columns), ";".join("1" * len(columns))])

    with pytest.raises(SchemaMismatch) as caught:
        check(path, price_contract(tmp_path, SWEDISH), scratch)

    assert caught.value.column == dropped
    assert str(caught.value).startswith(f"prices_1.csv: missing column(s) '{dropped}'")


def test_a_column_with_a_contract_default_may_be_absent(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "p.csv", ["ItemNo;PriceList;Currency;Price;Cost", "A;L;SEK;1;"])
    contract = price_contract(tmp_path, SWEDISH, extra='[defaults]\nquantity_break = "1"')

    valid = check(path, contract, scratch).valid

    assert valid["quantity_break"].to_list() == [1]


def test_a_header_only_file_follows_the_empty_file_rule(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "p.csv", [HEADER])

    with pytest.raises(ParseError, match=r"p\.csv: the file has no rows"):
        check(path, price_contract(tmp_path, SWEDISH), scratch)
    no_rows = price_contract(tmp_path, SWEDISH, extra='[source]\nempty_file = "no_rows"')
    validated = check(path, no_rows, scratch)
    assert (validated.rows_read, validated.valid.height, validated.rejections.height) == (0, 0, 0)


def test_an_empty_file_is_rejected_by_default(tmp_path: Path, scratch: Path) -> None:
    path = tmp_path / "prices_0.csv"
    path.write_bytes(b"")

    with pytest.raises(ParseError, match=r"prices_0\.csv: the file is empty \(0 bytes\)"):
        check(path, price_contract(tmp_path, SWEDISH), scratch)


def test_an_empty_file_can_mean_no_rows(tmp_path: Path, scratch: Path) -> None:
    path = tmp_path / "prices_0.csv"
    path.write_bytes(b"")
    contract = price_contract(tmp_path, SWEDISH, extra='[source]\nempty_file = "no_rows"')

    validated = check(path, contract, scratch)

    assert (validated.rows_read, validated.valid.height, validated.rejections.height) == (0, 0, 0)
    assert set(contract.entity.fields()) <= set(validated.valid.columns)
