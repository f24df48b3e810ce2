"""Property tests for the dialects test_roundtrip.py leaves out: rows written, read back the same.

Escaped quotes, a sniffed delimiter, title lines and a units row, a trailer whose count and
sum must verify, UTF-16, XLSX text cells, XML with a repeated element in a namespace. The
text holds the dialect's delimiters, quotes, escape character and newlines, non-ASCII from
the encoding's repertoire, leading zeros and spaces at both ends. Cells are trimmed (and an
empty one is null), so what must come back is the trimmed text; every row is expected at
its physical line (Excel row, XML line), newlines inside cells counted.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.config.contracts import FeedContract
from etl.entities.checks import MAX_AMOUNT
from etl.errors import Truncated
from etl.models import LINE
from etl.to_norce.feed import parse_and_validate
from tests.fixtures.feeds import PRICE_COLUMNS, contract_from

# Characters each dialect treats specially, mixed into every text.
SPECIALS = " ;,\t|\"'\\\n"
HEADER = ["Artikelnr", "Varumärke", "Benämning", "Beskrivning"]
PRODUCT_COLUMNS = """
[columns]
"Artikelnr" = "part_no"
"Varumärke" = "manufacturer_code"
"Benämning" = "name"
"Beskrivning" = "description"
"""


def texts(codec: str | None, *, required: bool = False) -> st.SearchStrategy[str]:
    """Text in `codec`'s repertoire (None: all of Unicode), about half of it special characters.

    Drawn as a list of characters: `st.text(chars | specials)` merges both into one
    alphabet of thousands, and a special character then turns up in about 3% of places.
    """
    chars = st.sampled_from(SPECIALS) | st.characters(categories=["L", "N", "P", "S"], codec=codec)
    text = st.lists(chars, min_size=int(required), max_size=24).map("".join)
    return text.filter(lambda t: bool(t.strip())) if required else text


def trimmed(text: str) -> str | None:
    """What a cell holding `text` reads as: trimmed, and null when nothing is left."""
    return text.strip() or None


# Article numbers: Norce codes, often with leading zeros that must survive.
part_numbers = st.builds(
    lambda zeros, first, rest: "0" * zeros + first + rest,
    st.integers(0, 3),
    st.sampled_from("0123456789ABZabz"),
    st.text("0123456789AZaz._/-", max_size=8),
)


@dataclass(frozen=True)
class Product:
    part_no: str
    name: str
    description: str

    def cells(self) -> list[str]:
        return [self.part_no, "ACME", self.name, self.description]

    def newlines(self) -> int:
        return sum(cell.count("\n") for cell in self.cells())


def products(codec: str | None) -> st.SearchStrategy[list[Product]]:
    return st.lists(
        st.builds(Product, part_numbers, texts(codec, required=True), texts(codec)),
        min_size=1,  # a file without rows is refused by source.empty_file, not read
        max_size=8,
        unique_by=lambda p: p.part_no,
    )


def starts(first_line: int, rows: Sequence[Product]) -> list[int]:
    """The line each record starts on: the newlines in a record's cells push the next down."""
    lines, line = [], first_line
    for row in rows:
        lines.append(line)
        line += 1 + row.newlines()
    return lines


def read_valid(path: Path, contract: FeedContract, scratch: Path) -> pl.DataFrame:
    """The valid rows of `path` as the flows see them; nothing may be rejected."""
    validated = parse_and_validate(path, contract, scratch)
    assert validated.rejections.is_empty(), validated.rejections.to_dicts()
    return validated.valid


def product_rows(valid: pl.DataFrame) -> list[tuple[object, ...]]:
    return valid.select(LINE, "part_no", "manufacturer_code", "name", "description").rows()


def expected_products(rows: Sequence[Product], lines: Sequence[int]) -> list[tuple[object, ...]]:
    return [
        (line, p.part_no, "ACME", trimmed(p.name), trimmed(p.description))
        for line, p in zip(lines, rows, strict=True)
    ]


def written(records: Sequence[Sequence[str]], delimiter: str, newline: str) -> str:
    """Standard CSV: a cell with a delimiter, quote or newline quoted, quotes doubled."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(records)
    return buffer.getvalue()


def in_folder(run: Callable[[Path], None]) -> None:
    """Run `run` in a fresh temporary folder (hypothesis examples share no pytest tmp_path)."""
    with tempfile.TemporaryDirectory() as folder:
        run(Path(folder))


def product_contract(folder: Path, fmt: str) -> FeedContract:
    text = f'[feed]\nentity = "product"\n[format]\ntype = "csv"\n{fmt}\n{PRODUCT_COLUMNS}'
    return contract_from(text, folder, "products")


# ---- escaped quotes and delimiters ----


def escaped(cell: str, delimiter: str) -> str:
    """A cell as ERPs that escape write it: \\" \\; \\\\, quoted only around a newline."""
    text = cell.replace("\\", "\\\\").replace('"', '\\"').replace(delimiter, "\\" + delimiter)
    return f'"{text}"' if "\n" in cell else text


@settings(max_examples=40, deadline=None)
@given(
    rows=products("cp1252"),
    delimiter=st.sampled_from([";", ","]),
    newline=st.sampled_from(["\r\n", "\n"]),
)
def test_escaped_quotes_and_delimiters_round_trip(
    rows: list[Product], delimiter: str, newline: str
) -> None:
    lines = [delimiter.join(HEADER)]
    lines += [delimiter.join(escaped(c, delimiter) for c in p.cells()) for p in rows]

    def run(folder: Path) -> None:
        path = folder / "articles.csv"
        path.write_bytes(newline.join([*lines, ""]).encode("cp1252"))
        fmt = f'encoding = "cp1252"\ndelimiter = "{delimiter}"\nescape = "\\\\"'
        valid = read_valid(path, product_contract(folder, fmt), folder / "scratch")

        assert product_rows(valid) == expected_products(rows, starts(2, rows))

    in_folder(run)


# ---- a sniffed delimiter ----


@settings(max_examples=40, deadline=None)
@given(rows=products("utf-8"), delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_a_sniffed_delimiter_round_trips(rows: list[Product], delimiter: str) -> None:
    text = written([HEADER, *(p.cells() for p in rows)], delimiter, "\r\n")

    def run(folder: Path) -> None:
        path = folder / "articles.csv"
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
        contract = product_contract(folder, 'encoding = "utf-8-sig"\ndelimiter = "auto"')
        valid = read_valid(path, contract, folder / "scratch")

        assert product_rows(valid) == expected_products(rows, starts(2, rows))

    in_folder(run)


# ---- title lines above the header, a units row under it ----

title_lines = st.lists(texts("iso-8859-15").map(lambda t: t.replace("\n", " ")), max_size=3)
units_rows = st.lists(st.lists(texts("iso-8859-15"), min_size=4, max_size=4), max_size=2)


@settings(max_examples=40, deadline=None)
@given(rows=products("iso-8859-15"), titles=title_lines, units=units_rows)
def test_title_lines_and_units_rows_round_trip(
    rows: list[Product], titles: list[str], units: list[list[str]]
) -> None:
    records = written([HEADER, *units, *(p.cells() for p in rows)], ";", "\n")
    header_row = len(titles) + 1
    # The first data line: after the header and each units record with its own newlines.
    first = header_row + 1 + sum(1 + sum(c.count("\n") for c in u) for u in units)

    def run(folder: Path) -> None:
        path = folder / "articles.csv"
        path.write_bytes("".join(t + "\n" for t in titles).encode("iso-8859-15"))
        with path.open("ab") as out:
            out.write(records.encode("iso-8859-15"))
        fmt = (
            f'encoding = "iso-8859-15"\ndelimiter = ";"\n'
            f"header_row = {header_row}\nskip_after_header = {len(units)}"
        )
        valid = read_valid(path, product_contract(folder, fmt), folder / "scratch")

        assert product_rows(valid) == expected_products(rows, starts(first, rows))

    in_folder(run)


# ---- a trailer with the record count and a control sum ----

amounts = st.decimals(min_value=Decimal("0.0001"), max_value=MAX_AMOUNT, places=4)


def in_dialect(value: Decimal, thousands: str) -> str:
    """`value` written with a decimal comma and the thousands separator."""
    text = format(value, ",f" if thousands else "f")
    return text.replace(",", "\0").replace(".", ",").replace("\0", thousands)


@settings(max_examples=40, deadline=None)
@given(
    prices=st.lists(
        st.tuples(amounts, st.booleans(), st.sampled_from(["", " ", "  "])),
        min_size=1,  # a file without rows is refused before its trailer matters
        max_size=10,
    ),
    thousands=st.sampled_from(["", ".", " "]),
)
def test_a_trailer_count_and_control_sum_verify_for_any_amounts(
    prices: list[tuple[Decimal, bool, str]], thousands: str
) -> None:
    header = "ItemNo;PriceList;Qty;Currency;Price;Cost"
    lines, numbers = [header], []
    for n, (price, blank_before, pad) in enumerate(prices, start=1):
        if blank_before:
            lines.append("")
        numbers.append(len(lines) + 1)
        lines.append(f"{n:06d};STD-SEK;1;SEK;{pad}{in_dialect(price, thousands)}{pad};")
    total = sum((p for p, _, _ in prices), Decimal(0))

    def run(folder: Path) -> None:
        fmt = (
            f'delimiter = ";"\ndecimal = ","\nthousands = "{thousands}"\n'
            '[format.trailer]\npattern = "TOTAL;"\ncount_field = 2\nsum_field = 3\n'
            'sum_of = "Price"'
        )
        text = f'[feed]\nentity = "price"\n[format]\ntype = "csv"\n{fmt}\n{PRICE_COLUMNS}'
        contract = contract_from(text, folder, "prices")

        def read(count: int, amount: Decimal) -> pl.DataFrame:
            path = folder / "prices.csv"
            trailer = f"TOTAL;{count};{in_dialect(amount, thousands)}"
            path.write_text("\r\n".join([*lines, trailer, ""]), encoding="utf-8")
            return read_valid(path, contract, folder / "scratch")

        valid = read(len(prices), total)
        assert valid.select(LINE, "part_no", "price_sale").rows() == [
            (line, f"{n:06d}", price)
            for n, (line, (price, _, _)) in enumerate(zip(numbers, prices, strict=True), start=1)
        ]
        with pytest.raises(Truncated, match="records, the file has"):
            read(len(prices) + 1, total)
        with pytest.raises(Truncated, match="sums to"):
            read(len(prices), total + Decimal("0.0001"))

    in_folder(run)


# ---- UTF-16 ----

BOMS = {"le": b"\xff\xfe", "be": b"\xfe\xff"}


@settings(max_examples=40, deadline=None)
@given(
    rows=products(None),
    declared=st.sampled_from(
        [("utf-16", "le"), ("utf-16", "be"), ("utf-16-le", "le"), ("auto", "le"), ("auto", "be")]
    ),
    delimiter=st.sampled_from([";", "\t"]),
    newline=st.sampled_from(["\r\n", "\n"]),
)
def test_utf16_with_a_bom_round_trips_any_text(
    rows: list[Product], declared: tuple[str, str], delimiter: str, newline: str
) -> None:
    encoding, order = declared
    text = written([HEADER, *(p.cells() for p in rows)], delimiter, newline)

    def run(folder: Path) -> None:
        path = folder / "articles.csv"
        path.write_bytes(BOMS[order] + text.encode(f"utf-16-{order}"))
        # The fallback is what "auto" would read without a BOM: it must not be used here.
        fmt = f'encoding = "{encoding}"\nfallback_encoding = "cp1252"\ndelimiter = "{delimiter}"'
        valid = read_valid(path, product_contract(folder, fmt), folder / "scratch")

        assert product_rows(valid) == expected_products(rows, starts(2, rows))

    in_folder(run)


# ---- XLSX text cells ----


def xlsx_text(text: str) -> bool:
    # `_x0041_` is OOXML's escape for "A": Excel writes a literal one as `_x005F_x0041_`,
    # openpyxl does not, so such text would come back decoded. Not ours to test.
    return "_x" not in text


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.builds(
            Product,
            part_numbers,
            texts(None, required=True).filter(xlsx_text),
            texts(None).filter(xlsx_text),
        ),
        min_size=1,
        max_size=8,
        unique_by=lambda p: p.part_no,
    ),
    before=st.integers(0, 2),
    titles=st.lists(texts(None).filter(xlsx_text), max_size=2),
    by_name=st.booleans(),
)
def test_xlsx_text_cells_round_trip(
    rows: list[Product], before: int, titles: list[str], by_name: bool
) -> None:
    header_row = len(titles) + 1

    def run(folder: Path) -> None:
        book = openpyxl.Workbook()
        for n in range(before):
            book.create_sheet(f"Blad {n}").append(["Inte", "data"])
        sheet = book.create_sheet("Artiklar")
        book.remove(book.worksheets[0])
        grid = [[t] for t in titles] + [HEADER] + [p.cells() for p in rows]
        for number, values in enumerate(grid, start=1):
            for column, value in enumerate(values, start=1):
                cell = sheet.cell(row=number, column=column, value=value)
                cell.data_type = "s"  # text, even "=..." or "00123"
        path = folder / "articles.xlsx"
        book.save(path)
        chosen = '"Artiklar"' if by_name else str(before)
        fmt = f"sheet = {chosen}\nheader_row = {header_row}"
        text = f'[feed]\nentity = "product"\n[format]\ntype = "xlsx"\n{fmt}\n{PRODUCT_COLUMNS}'
        contract = contract_from(text, folder, "products")
        valid = read_valid(path, contract, folder / "scratch")

        lines = list(range(header_row + 1, header_row + 1 + len(rows)))
        assert product_rows(valid) == expected_products(rows, lines)

    in_folder(run)


# ---- XML: a repeated element in a namespace ----


@dataclass(frozen=True)
class Brand:
    code: str
    maker: str
    articles: list[tuple[Product, Decimal]]


articles = st.lists(
    st.tuples(
        st.builds(Product, part_numbers, texts(None, required=True), texts(None)),
        st.decimals(min_value=0, max_value=10**6, places=4),
    ),
    min_size=1,
    max_size=10,
    unique_by=lambda a: a[0].part_no,
)


@st.composite
def brands(draw: st.DrawFn) -> list[Brand]:
    """A few brands sharing out unique articles; a brand may have none."""
    found = draw(articles)
    count = draw(st.integers(1, 4))
    owners = [draw(st.integers(0, count - 1)) for _ in found]
    return [
        Brand(
            draw(part_numbers),
            draw(texts(None)),
            [a for a, o in zip(found, owners, strict=True) if o == i],
        )
        for i in range(count)
    ]


CATALOGUE = """
[feed]
entity = "product"
[format]
type = "xml"
decimal = ","
record = "c:Catalogue/c:Brand"
repeat = "c:Articles/c:Article"
repeat_empty = "skip"
[format.namespaces]
c = "urn:erp:catalogue"
[columns]
"@code" = "manufacturer_code"
"c:Maker" = "manufacturer_name"
"c:Articles/c:Article/@no" = "part_no"
"c:Articles/c:Article/c:Name" = "name"
"c:Articles/c:Article/c:Description" = "description"
"c:Articles/c:Article/c:Weight" = "weight"
"""


def catalogue(brands: list[Brand]) -> tuple[str, list[tuple[object, ...]]]:
    """The XML of `brands` and the rows it must give, each at its <Article>'s line."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<Catalogue xmlns="urn:erp:catalogue">\n']
    rows: list[tuple[object, ...]] = []

    def line() -> int:
        return "".join(parts).count("\n") + 1

    for brand in brands:
        parts.append(f"<Brand code={quoteattr(brand.code)}>\n  <Articles>\n")
        for product, weight in brand.articles:
            maker, name = trimmed(brand.maker), trimmed(product.name)
            own = (product.part_no, brand.code, maker, name, trimmed(product.description))
            rows.append((line(), *own, weight))
            weight_text = format(weight, "f").replace(".", ",")
            parts.append(
                f"    <Article no={quoteattr(product.part_no)}>\n"
                f"      <Name>{escape(product.name)}</Name>\n"
                f"      <Description>{escape(product.description)}</Description>\n"
                f"      <Weight> {weight_text} </Weight>\n    </Article>\n"
            )
        # The brand's own field after its articles: copied onto each of their rows.
        parts.append(f"  </Articles>\n  <Maker>{escape(brand.maker)}</Maker>\n</Brand>\n")
    parts.append("</Catalogue>\n")
    return "".join(parts), rows


@settings(max_examples=40, deadline=None)
@given(catalogue_brands=brands())
def test_xml_repeated_elements_round_trip(catalogue_brands: list[Brand]) -> None:
    document, expected = catalogue(catalogue_brands)

    def run(folder: Path) -> None:
        path = folder / "catalogue.xml"
        path.write_text(document, encoding="utf-8")
        valid = read_valid(path, contract_from(CATALOGUE, folder), folder / "scratch")

        fields = ["part_no", "manufacturer_code", "manufacturer_name", "name", "description"]
        assert valid.select(LINE, *fields, "weight").rows() == expected

    in_folder(run)
