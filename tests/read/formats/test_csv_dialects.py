"""CSV dialects a contract declares: sniffed delimiters, escaped quotes, title lines and
units rows, trailers with record counts and control sums, null tokens.

Every file is written here (or shipped in tests/fixtures/dialects/) and read through
`read_file` (what the reader hands on) or `check` (what a feed makes of it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from etl.config.contract_files import load_contract
from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.errors import ConfigError, ParseError, SchemaMismatch, Truncated
from etl.models import LINE
from etl.read.formats import read_file
from etl.read.formats.trailer import WINDOW
from etl.read.messages import CODES
from tests.fixtures.feeds import (
    FIXTURES,
    PRICE_COLUMNS,
    check,
    contract_from,
    price_contract,
    rejections,
)
from tests.support.paths import REPO

HEADER = ["ItemNo", "PriceList", "Qty", "Currency", "Price", "Cost"]
DIALECTS = FIXTURES / "dialects"


def write(path: Path, lines: Sequence[str], *, encoding: str = "utf-8", end: str = "\n") -> Path:
    """`lines` joined by newlines, encoded as the ERP would."""
    path.write_bytes(("\n".join(lines) + end).encode(encoding))
    return path


def semicolons(*rows: str) -> list[str]:
    """The price header and `rows`, semicolon-delimited."""
    return [";".join(HEADER), *rows]


def rows(
    path: Path, contract: FeedContract, scratch: Path, *names: str
) -> list[tuple[object, ...]]:
    """The named columns and the line number of every row the reader hands on."""
    return read_file(path, contract, scratch).frame.select(*names, LINE).rows()


# ---- delimiter = "auto" ----


@pytest.mark.parametrize(
    "delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"]
)
def test_the_delimiter_is_sniffed_from_the_header(
    tmp_path: Path, scratch: Path, delimiter: str, caplog: pytest.LogCaptureFixture
) -> None:
    d = delimiter
    others = "".join(c for c in ",;\t|" if c != d)  # every other candidate inside a cell
    path = write(
        tmp_path / "p.csv",
        [
            d.join(HEADER),
            d.join(["A", f'"a{others}\nb"', "1", "SEK", "1", ""]),  # lines 2-3
            d.join(["B", "L", "2", "SEK", "2", ""]),
        ],
    )
    contract = price_contract(tmp_path, 'delimiter = "auto"')

    with caplog.at_level(logging.INFO, logger="etl.read.formats.csv_dialect"):
        got = rows(path, contract, scratch, "ItemNo", "PriceList", "Qty")

    assert got == [("A", f"a{others}\nb", "1", 2), ("B", "L", "2", 4)]
    assert f"p.csv: delimiter {d!r} chosen" in caplog.text


def test_a_candidate_that_splits_the_data_unlike_the_header_loses(
    tmp_path: Path, scratch: Path
) -> None:
    # The commas split the header into three too, but the decimal commas in the data do not.
    path = write(tmp_path / "p.csv", ["Artikel, nr;Pris, kr;Antal", "A1;1,50;2", "A2;12,25;3"])

    frame = read_file(path, price_contract(tmp_path, 'delimiter = "auto"'), scratch).frame

    assert frame.columns == ["Artikel, nr", "Pris, kr", "Antal", LINE]


def test_a_header_no_candidate_splits_must_declare_its_delimiter(
    tmp_path: Path, scratch: Path
) -> None:
    path = write(tmp_path / "single.csv", ["ItemNo", "A", "B"])

    with pytest.raises(ParseError) as caught:
        read_file(path, price_contract(tmp_path, 'delimiter = "auto"'), scratch)

    assert str(caught.value).startswith("single.csv: cannot tell the delimiter from the header")
    assert "declare it in the contract" in str(caught.value)
    assert caught.value.line == 1


def test_a_tie_is_refused_not_broken_by_order(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "tie.csv", ["A,B;C", "1,2;3", "4,5;6"])

    with pytest.raises(ParseError, match=r"tie\.csv: .*',' and ';' split it alike \(2 columns\)"):
        read_file(path, price_contract(tmp_path, 'delimiter = "auto"'), scratch)


def test_sniffing_starts_at_the_header_row(tmp_path: Path, scratch: Path) -> None:
    title = "Prislista, export, 2026-11-20, vecka 47, sida 1"  # five commas, one line
    path = write(tmp_path / "p.tsv", [title, "\t".join(HEADER), "A\tL\t1\tSEK\t1\t"])
    contract = price_contract(tmp_path, 'delimiter = "auto"\nheader_row = 2')

    assert rows(path, contract, scratch, "ItemNo", "Price") == [("A", "1", 3)]


# ---- quoted cells with delimiters and newlines, declared or sniffed ----


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "sniffed"])
@pytest.mark.parametrize("delimiter", [";", "\t"], ids=["semicolon", "tab"])
def test_quoted_delimiters_and_newlines(
    tmp_path: Path, scratch: Path, delimiter: str, declared: bool
) -> None:
    d = delimiter
    path = write(
        tmp_path / "p.csv",
        [
            d.join(HEADER),
            d.join(['"A;\t1"', '"two\nlines"', "1", "SEK", '"1,5"', ""]),  # lines 2-3
            d.join(["B", f'"say ""hi""{d} ok"', "1", "SEK", "2", ""]),  # line 4
            d.join(["C", '"three\r\nlines\nhere"', "1", "SEK", "3", ""]),  # lines 5-7
            d.join(["D", "L", "1", "SEK", "4", ""]),  # line 8
        ],
    )
    declared_as = "\\t" if d == "\t" else d
    fmt = f'delimiter = "{declared_as if declared else "auto"}"\ndecimal = ","'

    got = rows(path, price_contract(tmp_path, fmt), scratch, "ItemNo", "PriceList")

    assert got == [
        ("A;\t1", "two\nlines", 2),
        ("B", f'say "hi"{d} ok', 4),
        ("C", "three\r\nlines\nhere", 5),
        ("D", "L", 8),
    ]


# ---- escape ----

ESCAPED = 'delimiter = ";"\nescape = "\\\\"\ndecimal = ","'


def test_escaped_quotes_and_delimiters_keep_physical_line_numbers(
    tmp_path: Path, scratch: Path
) -> None:
    path = write(
        tmp_path / "p.csv",
        semicolons(
            'A;"say \\"hi\\"";1;SEK;1;',  # line 2: escaped quotes in a quoted cell
            "B;x\\;y;1;SEK;2;",  # line 3: an escaped delimiter, no quotes
            'C;"multi\nline \\" and\n\\\\ more";1;SEK;3;',  # lines 4-6 after escaped ones
            "",  # line 7: blank, still counted
            'D;"q""doubled";1;SEK;4;',  # line 8: a doubled quote is read too
            "E;L;1;sek;5;",  # line 9: rejected by validation, at its own line
        ),
    )
    contract = price_contract(tmp_path, ESCAPED)

    assert rows(path, contract, scratch, "ItemNo", "PriceList") == [
        ("A", 'say "hi"', 2),
        ("B", "x;y", 3),
        ("C", 'multi\nline " and\n\\ more', 4),
        ("D", 'q"doubled', 8),
        ("E", "L", 9),
    ]
    currency = [r for r in rejections(check(path, contract, scratch)) if r[1] == "currency"]
    assert currency == [(9, "currency", "Currency", "pattern")]


def test_an_escaped_file_in_another_encoding_leaves_no_scratch_copies(
    tmp_path: Path, scratch: Path
) -> None:
    path = write(
        tmp_path / "p.csv",
        semicolons('Å;"Märke \\"Ö\\"";1;SEK;1;'),
        encoding="cp1252",
    )
    contract = price_contract(tmp_path, f'encoding = "cp1252"\n{ESCAPED}')

    assert rows(path, contract, scratch, "ItemNo", "PriceList") == [("Å", 'Märke "Ö"', 2)]
    assert list(scratch.iterdir()) == []


def test_an_escaped_file_left_open_names_its_line(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "open.csv", semicolons("A;L;1;SEK;1;", 'B;"open \\";1;SEK;2;'))

    with pytest.raises(ParseError) as caught:
        read_file(path, price_contract(tmp_path, ESCAPED), scratch)

    assert str(caught.value).startswith("open.csv: not readable as CSV with escape '\\\\'")
    assert caught.value.line == 3


# ---- header_row and skip_after_header ----

TITLED = 'delimiter = ";"\nheader_row = 3\nskip_after_header = 1'


def test_title_lines_and_a_units_row_are_not_data(tmp_path: Path, scratch: Path) -> None:
    path = write(
        tmp_path / "p.csv",
        [
            'Prislista "export" 2026-11-20',  # an odd quote in a title line is no quote
            "Källa;ERP;vecka;47",
            ";".join(HEADER),
            ";;st;;kr;kr",  # line 4: units
            "A;L;1;SEK;1;",  # line 5: the first data line
            "B;L;1;sek;2;",  # line 6
        ],
    )
    contract = price_contract(tmp_path, TITLED)

    assert rows(path, contract, scratch, "ItemNo", "Qty") == [("A", "1", 5), ("B", "1", 6)]
    assert rejections(check(path, contract, scratch)) == [(6, "currency", "Currency", "pattern")]


def test_a_units_row_over_several_lines_pushes_the_data_down(tmp_path: Path, scratch: Path) -> None:
    path = write(
        tmp_path / "p.csv",
        ["Titel", "", ";".join(HEADER), ';;"antal\n(st)";;kr;kr', "A;L;1;SEK;1;"],
    )

    assert rows(path, price_contract(tmp_path, TITLED), scratch, "ItemNo") == [("A", 6)]


def test_a_ragged_row_below_title_lines_is_named_by_its_physical_line(
    tmp_path: Path, scratch: Path
) -> None:
    path = write(
        tmp_path / "ragged.csv",
        ["Titel;med;fält", "x", ";".join(HEADER), ";;st;;kr;kr", "A;L;1;SEK;1;", "B;L;1"],
    )

    parsed = read_file(path, price_contract(tmp_path, TITLED), scratch)

    assert parsed.frame[LINE].to_list() == [5]
    assert parsed.ragged.rows() == [(6, 3, 6)]  # line, fields, the header's fields


def test_a_header_row_past_the_end_of_the_file(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "short.csv", ["Titel", "Undertitel"])

    with pytest.raises(ParseError, match=r"short\.csv: the file has 2 lines, but format\.header"):
        read_file(path, price_contract(tmp_path, 'delimiter = ";"\nheader_row = 4'), scratch)


def test_a_header_left_open_is_refused_before_it_reads_the_whole_file(
    tmp_path: Path, scratch: Path
) -> None:
    path = write(tmp_path / "open.csv", ['ItemNo;"PriceList;Qty', *["A;L;1"] * 500])
    fmt = 'delimiter = ";"\nmax_line_bytes = 1024'

    with pytest.raises(ParseError, match=r"open\.csv: the header .* do not end within 1,026 bytes"):
        read_file(path, price_contract(tmp_path, fmt), scratch)


def test_xlsx_skips_the_rows_under_its_header(tmp_path: Path, scratch: Path) -> None:
    path = workbook(
        tmp_path / "p.xlsx",
        [["Prislista"], HEADER, [None, None, "st", None, "kr", "kr"], ["A", "L", 1, "SEK", 1.5]],
    )
    contract = xlsx_contract(tmp_path, 'decimal = ","\nheader_row = 2\nskip_after_header = 1')

    assert rows(path, contract, scratch, "ItemNo", "Qty", "Price") == [("A", "1", "1,5", 4)]


# ---- trailers ----

COUNTED = 'delimiter = ";"\n[format.trailer]\nlines = 1\ncount_field = 2'
SUMMED = (
    'delimiter = ";"\ndecimal = ","\nthousands = "."\nnull_values = ["", "NULL"]\n'
    '[format.trailer]\npattern = "TOTAL;"\ncount_field = 2\nsum_field = 3\nsum_of = "Price"'
)


def test_a_trailer_is_not_data_and_its_count_is_checked(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "p.csv", semicolons("A;L;1;SEK;1;", 'B;"x\ny";1;SEK;2;', "T;2", ""))
    original = path.read_bytes()

    assert rows(path, price_contract(tmp_path, COUNTED), scratch, "ItemNo") == [("A", 2), ("B", 3)]
    assert path.read_bytes() == original  # cut in a scratch copy, never in the file itself
    assert list(scratch.iterdir()) == []


def test_a_count_that_disagrees_rejects_the_file_as_truncated(
    tmp_path: Path, scratch: Path
) -> None:
    path = write(tmp_path / "prices.csv", semicolons("A;L;1;SEK;1;", 'B;"x\ny";1;SEK;2;', "T;3"))

    with pytest.raises(Truncated) as caught:
        read_file(path, price_contract(tmp_path, COUNTED), scratch)

    assert str(caught.value) == (
        "prices.csv: trailer on line 5 says 3 records, the file has 2: "
        "truncated or cut short; not applied"
    )
    assert (caught.value.code, caught.value.line) == ("truncated", 5)


def test_a_file_cut_inside_a_record_is_truncated_not_ragged(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "cut.csv", semicolons("A;L;1;SEK;1;", "B;L;1;SE"), end="")
    contract = price_contract(tmp_path, SUMMED)

    with pytest.raises(Truncated) as caught:
        read_file(path, contract, scratch)

    assert str(caught.value) == (
        "cut.csv: no trailer (a line matching 'TOTAL;' among the last 1,000 lines, "
        "format.trailer); the file ends on line 3: truncated or cut short; not applied"
    )
    assert caught.value.line == 3


def test_a_trailer_that_is_not_required_may_be_absent(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "p.csv", semicolons("A;L;1;SEK;1;", "TOTAL;1;1"))
    fmt = SUMMED.replace("[format.trailer]", "[format.trailer]\nrequired = false")
    contract = price_contract(tmp_path, fmt)
    without = write(tmp_path / "q.csv", semicolons("A;L;1;SEK;1;", "B;L;1;SEK;2;"))

    assert rows(path, contract, scratch, "ItemNo") == [("A", 2)]
    assert rows(without, contract, scratch, "ItemNo") == [("A", 2), ("B", 3)]


def test_everything_from_the_first_match_on_is_trailer(tmp_path: Path, scratch: Path) -> None:
    path = write(
        tmp_path / "p.csv",
        semicolons("A;L;1;SEK;1;", "", "TOTAL;1;1", "Skapad av Affärssystem 9.1", "TOTAL;9;9"),
    )

    assert rows(path, price_contract(tmp_path, SUMMED), scratch, "ItemNo") == [("A", 2)]


def test_several_trailer_lines_by_count(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "p.csv", semicolons("A;L;1;SEK;1;", "B;L;1;SEK;2;", "EOF", "2"))
    fmt = 'delimiter = ";"\n[format.trailer]\nlines = 2'

    assert rows(path, price_contract(tmp_path, fmt), scratch, "ItemNo") == [("A", 2), ("B", 3)]


def test_a_trailer_needs_data_lines_before_it(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "empty.csv", semicolons())

    with pytest.raises(Truncated, match=r"no trailer \(1 closing line after the data"):
        read_file(path, price_contract(tmp_path, COUNTED), scratch)


def test_the_control_sum_is_exact_in_the_files_dialect(tmp_path: Path, scratch: Path) -> None:
    prices = ["1.234,50", "0,1", "0,2", "NULL", "2"]  # 0.1 + 0.2 is 0.3 here, not in floats
    data = [f"{n};L;1;SEK;{p};" for n, p in enumerate(prices)]
    good = write(tmp_path / "good.csv", semicolons(*data, "TOTAL;5;1.236,8"))
    bad = write(tmp_path / "bad.csv", semicolons(*data, "TOTAL;5;1.236,80000001"))
    contract = price_contract(tmp_path, SUMMED)

    assert len(read_file(good, contract, scratch).frame) == 5
    with pytest.raises(Truncated) as caught:
        read_file(bad, contract, scratch)
    assert str(caught.value) == (
        "bad.csv: trailer on line 7 says 'Price' sums to 1236,80000001, the rows sum to "
        "1236,80: truncated or cut short; not applied"
    )


def test_rows_validation_rejects_still_count_for_the_trailer(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "p.csv", semicolons("A;L;1;SEK;1,5;", "B;L;1;sek;2;", "TOTAL;2;3,5"))
    contract = price_contract(tmp_path, SUMMED)

    validated = check(path, contract, scratch)

    assert validated.rows_read == 2
    assert rejections(validated) == [(3, "currency", "Currency", "pattern")]


def test_a_cell_that_is_no_number_makes_the_sum_uncheckable(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "p.csv", semicolons("A;L;1;SEK;1;", "B;L;1;SEK;ca 2;", "TOTAL;2;3"))

    with pytest.raises(Truncated) as caught:
        read_file(path, price_contract(tmp_path, SUMMED), scratch)

    assert str(caught.value) == (
        "p.csv: the control sum of 'Price' cannot be checked: 'ca 2' on line 3 is not a "
        "number; not applied"
    )
    assert caught.value.line == 3


@pytest.mark.parametrize(
    ("trailer", "words"),
    [
        ("TOTAL;två;3", "field 2 ('två') is not a record count"),
        ("TOTAL;1,5;3", "field 2 ('1,5') is not a record count"),
        ("TOTAL;2", "has 2 fields, no field 3 (format.trailer.sum_field)"),
        ("TOTAL;2;tre", "field 3 ('tre') is not a number"),
    ],
)
def test_a_trailer_unlike_the_contract_is_refused(
    tmp_path: Path, scratch: Path, trailer: str, words: str
) -> None:
    path = write(tmp_path / "p.csv", semicolons("A;L;1;SEK;1;", "B;L;1;SEK;2;", trailer))

    with pytest.raises(Truncated) as caught:
        read_file(path, price_contract(tmp_path, SUMMED), scratch)

    assert str(caught.value).startswith("p.csv: trailer on line 4")
    assert words in str(caught.value)
    assert caught.value.line == 4


def test_a_sum_of_a_column_the_file_lacks_is_a_schema_mismatch(
    tmp_path: Path, scratch: Path
) -> None:
    path = write(tmp_path / "p.csv", semicolons("A;L;1;SEK;1;", "TOTAL;1;1"))
    contract = price_contract(tmp_path, SUMMED.replace('sum_of = "Price"', 'sum_of = "Pris"'))

    with pytest.raises(SchemaMismatch, match="sum_of names column 'Pris'"):
        read_file(path, contract, scratch)


def test_a_trailer_in_a_recoded_file_is_cut_from_the_scratch_copy(
    tmp_path: Path, scratch: Path
) -> None:
    path = write(tmp_path / "p.csv", semicolons("Å;L;1;SEK;1;", "TOTAL;1;1"), encoding="cp1252")
    contract = price_contract(tmp_path, f'encoding = "cp1252"\n{SUMMED}')

    assert rows(path, contract, scratch, "ItemNo") == [("Å", 2)]
    assert list(scratch.iterdir()) == []


def test_a_trailer_far_from_the_start_is_found_reading_backwards(
    tmp_path: Path, scratch: Path
) -> None:
    data = [f"A{n:05};L;1;SEK;1;{'x' * 100}" for n in range(5000)]  # 600 KB, 125 B a line
    path = write(tmp_path / "p.csv", semicolons(*data, "TOTAL;5000;5000"))

    assert len(read_file(path, price_contract(tmp_path, SUMMED), scratch).frame) == 5000


def test_a_pattern_trailer_must_start_within_the_last_lines(tmp_path: Path, scratch: Path) -> None:
    after = ["Skapad av Affärssystem"] * WINDOW  # the match lies one line beyond the window
    path = write(tmp_path / "p.csv", semicolons("A;L;1;SEK;1;", "TOTAL;1;1", *after))

    with pytest.raises(Truncated, match="no trailer"):
        read_file(path, price_contract(tmp_path, SUMMED), scratch)


def test_escape_title_lines_and_a_trailer_together(tmp_path: Path, scratch: Path) -> None:
    path = write(
        tmp_path / "p.csv",
        [
            "Prislista",
            ";".join(HEADER),
            'A;"a \\"b\\"\nc";1;SEK;1;',  # lines 3-4
            "B;x\\;y;1;SEK;2;",  # line 5
            'T;2;"odd \\" quote',  # the trailer is never read as data
        ],
    )
    fmt = f"{ESCAPED}\nheader_row = 2\n[format.trailer]\nlines = 1\ncount_field = 2"

    assert rows(path, price_contract(tmp_path, fmt), scratch, "ItemNo", "PriceList") == [
        ("A", 'a "b"\nc', 3),
        ("B", "x;y", 5),
    ]
    bad = write(tmp_path / "bad.csv", [*path.read_text().splitlines()[:-1], "T;3"])
    with pytest.raises(Truncated, match="trailer on line 6 says 3 records"):
        read_file(bad, price_contract(tmp_path, fmt), scratch)


def test_an_xlsx_trailer_row_with_a_decimal_comma(tmp_path: Path, scratch: Path) -> None:
    data = [["A", "L", 1, "SEK", 1.25], ["B", "L", 1, "SEK", 2]]
    trailer = ["Summa", None, None, None, None, None, None, 2, 3.25]  # beyond the header
    fmt = (
        'decimal = ","\n[format.trailer]\npattern = "Summa"\ncount_field = 8\n'
        'sum_field = 9\nsum_of = "Price"'
    )
    good = workbook(tmp_path / "good.xlsx", [HEADER, *data, [], trailer])
    bad = workbook(tmp_path / "bad.xlsx", [HEADER, *data, [*trailer[:-1], 3.5]])

    assert rows(good, xlsx_contract(tmp_path, fmt), scratch, "ItemNo", "Price") == [
        ("A", "1,25", 2),
        ("B", "2", 3),
    ]
    with pytest.raises(Truncated) as caught:
        read_file(bad, xlsx_contract(tmp_path, fmt), scratch)
    assert str(caught.value) == (
        "bad.xlsx: trailer on line 4 says 'Price' sums to 3,5, the rows sum to 3,25: "
        "truncated or cut short; not applied"
    )


def test_an_xlsx_sheet_without_its_trailer_is_truncated(tmp_path: Path, scratch: Path) -> None:
    path = workbook(tmp_path / "cut.xlsx", [HEADER, ["A", "L", 1, "SEK", 1]])
    fmt = '[format.trailer]\npattern = "Summa"\ncount_field = 2'

    with pytest.raises(Truncated) as caught:
        read_file(path, xlsx_contract(tmp_path, fmt), scratch)

    assert str(caught.value).startswith("cut.xlsx: no trailer (a line matching 'Summa'")
    assert caught.value.line == 2


# ---- null tokens ----


def test_null_tokens_match_after_trimming(tmp_path: Path, scratch: Path) -> None:
    path = write(
        tmp_path / "p.csv",
        semicolons("A; NULL ;1;SEK;1;-", "B;  -  ;1;SEK;2; --", "C;NULLS;1;SEK;3;"),
    )
    contract = price_contract(tmp_path, 'delimiter = ";"\nnull_values = ["", "NULL", "-"]')

    assert rows(path, contract, scratch, "PriceList", "Cost") == [
        (None, None, 2),
        (None, "--", 3),
        ("NULLS", None, 4),
    ]


# ---- the contract ----


@pytest.mark.parametrize(
    ("fmt", "key", "words"),
    [
        ('type = "xml"\nrecord = "R/I"\nheader_row = 2', "format.header_row", "not xml"),
        ('type = "xml"\nrecord = "R/I"\nskip_after_header = 1', "format.skip_after_header", ""),
        ('type = "xml"\nrecord = "R/I"\n[format.trailer]\nlines = 1', "format.trailer", "not xml"),
        ('type = "xlsx"\nescape = "\\\\"', "format.escape", "csv feeds only"),
        ('type = "xlsx"\ndelimiter = "auto"', "format.delimiter", "csv feeds only"),
        ('type = "csv"\ndelimiter = ";;"', "format.delimiter", "one character"),
        ('type = "csv"\ndelimiter = ";"\nescape = ";"', "format.escape", "must differ"),
        ('type = "csv"\n[format.trailer]\ncount_field = 2', "format.trailer", "exactly one"),
        ('type = "csv"\n[format.trailer]\nlines = 1\npattern = "T"', "format.trailer", "exactly"),
        ('type = "csv"\n[format.trailer]\npattern = "("', "format.trailer.pattern", "regular"),
        (
            'type = "csv"\n[format.trailer]\nlines = 1\nsum_field = 3',
            "format.trailer",
            "go together",
        ),
        ('type = "csv"\nskip_after_header = -1', "format.skip_after_header", ""),
    ],
)
def test_dialect_mistakes_name_their_key(tmp_path: Path, fmt: str, key: str, words: str) -> None:
    text = f'[feed]\nentity = "price"\n[format]\n{fmt}\n{PRICE_COLUMNS}'

    with pytest.raises(ConfigError) as caught:
        contract_from(text, tmp_path)

    assert caught.value.key.startswith(key)
    assert words in caught.value.problem


def test_the_docs_explain_auto_and_the_truncated_code() -> None:
    # tests/docs/test_docs.py checks every key is there; these are values and a code.
    page = (REPO / "docs" / "feed-contracts.md").read_text(encoding="utf-8")
    section = page[page.index("## The contract file") : page.index("## Canonical entities")]

    assert 'delimiter = "auto"' in section
    assert "**Trailers**" in section
    assert "| `truncated` |" in page
    assert "truncated" in CODES


# ---- the shipped dialect samples ----


def fixture(name: str) -> FeedContract:
    return load_contract(DIALECTS / f"{name}.toml", Settings())


def test_semicolon_escape_sample(scratch: Path) -> None:
    path = DIALECTS / "semicolon_escape.csv"

    validated = check(path, fixture("semicolon_escape"), scratch)

    assert validated.rejections.is_empty()
    assert validated.valid.select("part_no", "name", "description", LINE).rows() == [
        ("100123", 'Skruv 5" rostfri', "Förpackning; 100 st", 2),
        ("100124", "Bult M8", 'Varmförzinkad,\n"HDG"; 50 st', 3),
        ("100125", "Mutter M8", None, 5),
    ]


def test_title_lines_trailer_sample(scratch: Path) -> None:
    path = DIALECTS / "title_lines_trailer.csv"

    validated = check(path, fixture("title_lines_trailer"), scratch)

    assert validated.rejections.is_empty()
    assert validated.valid.select("part_no", "price_sale", "cost_purchase", LINE).rows() == [
        ("100123", Decimal("1299.00"), Decimal("820.50"), 5),
        ("100124", Decimal("49.90"), None, 6),
        ("100125", Decimal("45.00"), Decimal("30.00"), 7),
        ("100126", Decimal("12.50"), None, 9),
    ]


def test_the_title_lines_trailer_sample_cut_short_is_truncated(
    tmp_path: Path, scratch: Path
) -> None:
    lines = (DIALECTS / "title_lines_trailer.csv").read_bytes().split(b"\r\n")
    cut = tmp_path / "prislista.csv"
    cut.write_bytes(b"\r\n".join(lines[:5] + lines[6:]))  # line 6 (100124) lost

    with pytest.raises(Truncated) as caught:
        check(cut, fixture("title_lines_trailer"), scratch)

    assert str(caught.value) == (
        "prislista.csv: trailer on line 9 says 4 records, the file has 3: "
        "truncated or cut short; not applied"
    )


def test_tab_sniffed_sample(scratch: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = DIALECTS / "tab_sniffed.tsv"

    with caplog.at_level(logging.INFO, logger="etl.read.formats.csv_dialect"):
        validated = check(path, fixture("tab_sniffed"), scratch)

    assert "delimiter '\\t' chosen" in caplog.text
    assert validated.rejections.is_empty()
    assert validated.valid.select("part_no", "description", LINE).rows() == [
        ("200001", 'Tålig\thandske;\n"nitril", storlek M', 2),
        ("200002", "Skyddsglasögon", 4),
    ]


# ---- XLSX helpers ----


def workbook(path: Path, sheet_rows: Sequence[Sequence[object]]) -> Path:
    """An .xlsx whose first sheet has `sheet_rows` from row 1 (None: an empty cell)."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row, values in enumerate(sheet_rows, start=1):
        for column, value in enumerate(values, start=1):
            if value is not None:
                sheet.cell(row=row, column=column, value=value)
    book.save(path)
    return path


def xlsx_contract(folder: Path, fmt: str) -> FeedContract:
    text = f'[feed]\nentity = "price"\n[format]\ntype = "xlsx"\n{fmt}\n{PRICE_COLUMNS}'
    return contract_from(text, folder, "xlsx_prices")
