"""Where rows of the wrong width meet other rules: ignored extra fields, an odd header,
blank records, a trailer's control sum, and the words of the messages.

A row of another width than the header's is a rejected row (tests/read/formats/test_ragged_rows.py);
these are the cases where that rule must not hide data, reject good rows, or refuse a file
for the wrong reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings
from etl.errors import ParseError, Truncated
from etl.models import LINE
from etl.read.formats import read_file
from tests.fixtures.feeds import check, price_contract, rejections
from tests.support.masterdata import PRODUCTS_HEADER, run_once, settings_for, write_cp1252_products

HEADER = "ItemNo;PriceList;Qty;Currency;Price;Cost"
IGNORE = 'delimiter = ";"\nextra_empty_fields = "ignore"'


def write(path: Path, lines: list[str], end: str = "\n", tail: str = "") -> Path:
    """`lines`, each ended by `end`, then `tail` (bytes an ERP adds after the last line)."""
    path.write_bytes(("".join(line + end for line in lines) + tail).encode("utf-8"))
    return path


# ---- extra_empty_fields = "ignore": every row's width is counted ----


def test_under_ignore_a_long_and_a_short_row_do_not_cancel_out(
    tmp_path: Path, scratch: Path
) -> None:
    # One field too many (not empty) and one too few: the file's delimiter total is right.
    lines = [HEADER, "A;L;1;SEK;10;", "B;L;1;SEK;11;;9", "C;L;1;SEK;12", "D;L;1;SEK;13;"]
    path = write(tmp_path / "prices.csv", lines)

    validated = check(path, price_contract(tmp_path, IGNORE), scratch)

    assert validated.valid["part_no"].to_list() == ["A", "D"]
    assert rejections(validated) == [(3, None, None, "field_count"), (4, None, None, "field_count")]


def test_under_ignore_a_clean_file_and_trailing_delimiters_still_read(
    tmp_path: Path, scratch: Path
) -> None:
    clean = write(tmp_path / "clean.csv", [HEADER, "A;L;1;SEK;10;", "B;L;1;SEK;11;"])
    trailing = write(tmp_path / "trailing.csv", [HEADER, "A;L;1;SEK;10;;", "B;L;1;SEK;11;; "])
    contract = price_contract(tmp_path, IGNORE)

    for path in (clean, trailing):
        parsed = read_file(path, contract, scratch)
        assert parsed.frame.select("ItemNo", LINE).rows() == [("A", 2), ("B", 3)]
        assert parsed.ragged.height == 0


# ---- a header no row agrees with ----


def test_a_header_with_a_trailing_delimiter_refuses_the_file(tmp_path: Path, scratch: Path) -> None:
    lines = [HEADER + ";", "A;L;1;SEK;10;", "B;L;1;SEK;11;", "C;L;1;SEK;12;"]
    path = write(tmp_path / "prices.csv", lines)

    with pytest.raises(ParseError) as caught:
        read_file(path, price_contract(tmp_path, 'delimiter = ";"'), scratch)

    assert str(caught.value) == (
        "prices.csv: the header on line 1 has 7 fields, but most rows have 6 (3 of 3): the "
        "header is off, not the rows (its last field is empty: a trailing delimiter on the "
        "header line); no row was read, fix the export, line 1"
    )
    assert caught.value.line == 1


def test_a_header_shorter_than_most_rows_refuses_the_file(tmp_path: Path, scratch: Path) -> None:
    lines = ["ItemNo;PriceList;Qty;Currency;Price", "A;L;1;SEK;10;1", "B;L;1;SEK;11;2", "C;L"]
    path = write(tmp_path / "prices.csv", lines)

    with pytest.raises(ParseError, match=r"header on line 1 has 5 fields, but most rows have 6 "):
        read_file(path, price_contract(tmp_path, 'delimiter = ";"'), scratch)


def test_a_header_most_rows_agree_with_keeps_the_broken_rows_as_rows(
    tmp_path: Path, scratch: Path
) -> None:
    # As many rows of one other width as of the header's: the header is not outvoted.
    lines = [HEADER, "A;L;1;SEK;10;", "B;L;1", "C;L;1;SEK;12;", "D;L;1"]
    path = write(tmp_path / "prices.csv", lines)

    validated = check(path, price_contract(tmp_path, 'delimiter = ";"'), scratch)

    assert validated.valid["part_no"].to_list() == ["A", "C"]
    assert [r[0] for r in rejections(validated)] == [3, 5]


# ---- blank records: whitespace only, the DOS end-of-file byte ----


def test_a_line_of_blanks_and_a_dos_end_of_file_byte_are_blank_lines(
    tmp_path: Path, scratch: Path
) -> None:
    lines = [HEADER, "A;L;1;SEK;10;", "   ", "B;L;1;SEK;11;", " \t "]
    path = write(tmp_path / "prices.csv", lines, end="\r\n", tail="\x1a")

    validated = check(path, price_contract(tmp_path, 'delimiter = ";"'), scratch)

    assert validated.valid.select("part_no", LINE).rows() == [("A", 2), ("B", 4)]
    assert validated.rows_read == 2 and validated.rejections.height == 0


def test_blank_records_count_toward_max_blank_lines(tmp_path: Path, scratch: Path) -> None:
    lines = [HEADER, "A;L;1;SEK;10;", "  ", "", " ", "B;L;1;SEK;11;"]
    path = write(tmp_path / "prices.csv", lines)
    contract = price_contract(tmp_path, 'delimiter = ";"\nmax_blank_lines = 2')

    with pytest.raises(ParseError, match="more than 2 blank lines") as caught:
        read_file(path, contract, scratch)

    assert caught.value.line == 5


def test_the_end_of_file_byte_inside_the_data_is_no_blank_line(
    tmp_path: Path, scratch: Path
) -> None:
    path = write(tmp_path / "prices.csv", [HEADER, "A;L;1;SEK;10;", "\x1a", "B;L;1;SEK;11;"])

    validated = check(path, price_contract(tmp_path, 'delimiter = ";"'), scratch)

    assert rejections(validated) == [(3, None, None, "field_count")]


# ---- a trailer's control sum over a file with a broken row ----

SUMMED = (
    'delimiter = ","\n[format.trailer]\npattern = "TOTAL,"\ncount_field = 2\nsum_field = 3\n'
    'sum_of = "Price"'
)
COMMAS = "ItemNo,PriceList,Qty,Currency,Price,Cost"


def test_a_broken_row_makes_the_control_sum_uncheckable_and_is_named(
    tmp_path: Path, scratch: Path
) -> None:
    # An unquoted decimal comma: the ERP summed 2.50, the row cannot be read.
    lines = [COMMAS, "A,L,1,SEK,10,7", "B,L,1,SEK,2,50,7", "C,L,1,SEK,30,7", "TOTAL,3,42.50"]
    path = write(tmp_path / "p.csv", lines)

    with pytest.raises(Truncated) as caught:
        read_file(path, price_contract(tmp_path, SUMMED), scratch)

    assert str(caught.value) == (
        "p.csv: the control sum of 'Price' cannot be checked: line 3 has 7 fields where the "
        "header has 6, so none of its cells can be read; fix the row in the ERP; not applied"
    )
    assert caught.value.line == 3


def test_a_broken_row_still_counts_as_a_record_of_the_trailer(
    tmp_path: Path, scratch: Path
) -> None:
    counted = 'delimiter = ","\n[format.trailer]\npattern = "TOTAL,"\ncount_field = 2'
    lines = [COMMAS, "A,L,1,SEK,10,7", "B,L,1,SEK,2,50,7", "C,L,1,SEK,30,7", "TOTAL,3,42.50"]
    path = write(tmp_path / "p.csv", lines)

    validated = check(path, price_contract(tmp_path, counted), scratch)

    assert validated.valid["part_no"].to_list() == ["A", "C"]
    assert rejections(validated) == [(3, None, None, "field_count")]


# ---- messages ----


def test_one_field_is_one_field(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "prices.csv", [HEADER, "A;L;1;SEK;10;", "B", "C;L;1;SEK;12;"])

    validated = check(path, price_contract(tmp_path, 'delimiter = ";"'), scratch)

    assert validated.rejections["message"][0].startswith("1 field where the header has 6:")


def test_a_quote_left_open_in_the_header_is_named(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path / "prices.csv", ['"ItemNo;PriceList;Qty;Currency;Price;Cost', "A;L"])

    with pytest.raises(ParseError) as caught:
        read_file(path, price_contract(tmp_path, 'delimiter = ";"'), scratch)

    assert "the header on line 1 opens a quote that is never closed" in str(caught.value)
    assert caught.value.line == 1


# ---- what a run makes of them ----


def product(sku: str) -> str:
    """One products line in the shipped dialect: 11 fields."""
    return f"{sku};ACME;Acme AB;M-{sku};;Artikel {sku};;GLOVES;;25;1,0"


def test_a_run_refuses_a_broken_header_and_holds_nothing_for_blank_endings(
    tmp_path: Path, home: Path
) -> None:
    erp = tmp_path / "erp-drop" / "products"
    erp.mkdir(parents=True)
    settings = settings_for(home, LocalStoreSettings(root=erp.parent))
    write_cp1252_products(erp / "products_1.csv", [product(f"3000{i}") for i in range(3)])
    run_once(settings, "products")
    # A trailing delimiter on the header only: every row would be rejected, every removal held.
    rows = [product(f"3000{i}") for i in range(3)]
    (erp / "products_2.csv").write_bytes(
        ("\r\n".join([PRODUCTS_HEADER + ";", *rows]) + "\r\n").encode("cp1252")
    )
    [refused] = run_once(settings, "products")
    # 30002 is gone; the file ends in a line of spaces and Ctrl-Z, as old DOS exports do.
    write_cp1252_products(erp / "products_3.csv", [product("30000"), product("30001"), "   "])
    with (erp / "products_3.csv").open("ab") as handle:
        handle.write(b"\x1a")

    [ended] = run_once(settings, "products")

    assert refused.outcome == "rejected"
    assert "the header on line 1 has 12 fields, but most rows have 11" in refused.message
    assert ended.outcome == "committed", ended.message
    assert (ended.counts["rows"], ended.counts["rejected"]) == (2, 0)
    assert (ended.counts["removals"], ended.counts["held"]) == (1, 0)
