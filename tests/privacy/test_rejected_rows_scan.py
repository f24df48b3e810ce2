"""`may_hold`: the scan that spares parsing an archived input never passes over a match.

A customer's row matches a request when its cell, trimmed and in lower case, is the value
asked for (`Request.rows`). Whatever the encoding, the case, the padding or where the
file's blocks are cut, a file with such a cell is never skipped; one without the value is.
A value the text may hold otherwise than the cell (the dialect's delimiter, quote or escape in
it; a letter beyond ASCII, which polars and Python may lower-case differently) is always read.
"""

from __future__ import annotations

import codecs
import itertools
from pathlib import Path

import polars as pl
import pytest

from etl.config.contract_files import load_contract
from etl.config.contract_format import FormatSpec
from etl.config.contracts import FeedContract
from etl.privacy.person import Request
from etl.privacy.rejected_rows import may_hold
from etl.read.formats import read_file
from tests.support.paths import SCHEMAS
from tests.support.privacy_seed import ANNA_ROW, HEADER, settings

# (how the contract names the encoding, how the file is written, with a BOM first or not)
ENCODINGS = [
    ("cp1252", "cp1252", b""),
    ("utf-8", "utf-8", b""),
    ("auto", "utf-8", codecs.BOM_UTF8),
    ("auto", "utf-16-le", codecs.BOM_UTF16_LE),
    ("latin-1", "latin-1", b""),
]
# The value asked for, and cells of a file that are it (another case, padded, the Kelvin sign).
CELLS = {
    "K-1001": ["K-1001", "k-1001", " K-1001 ", "\u212a-1001"],
    "anna.andersson@example.se": ["Anna.Andersson@EXAMPLE.se", "\xa0anna.andersson@example.se"],
    "örjan@exämple.se": ["ÖRJAN@EXÄMPLE.SE", "Örjan@exämple.se "],
}
OTHERS = ["K-1002;Björn;bjorn@example.se", "K-10011;Annabel;anna.andersson@example.se.org"]


def _write(path: Path, written: str, bom: bytes, lines: list[str]) -> bool:
    """The file, if the encoding can write its lines; whether it could."""
    try:
        body = bom + "\r\n".join(["Kundnr;Förnamn;E-post", *lines, ""]).encode(written)
    except UnicodeEncodeError:
        return False
    path.write_bytes(body)
    return True


@pytest.mark.parametrize(("named", "written", "bom"), ENCODINGS)
def test_a_file_with_a_matching_cell_is_never_skipped(
    tmp_path: Path, named: str, written: str, bom: bytes
) -> None:
    fmt = FormatSpec(type="csv", encoding=named, fallback_encoding="cp1252", delimiter=";")
    path = tmp_path / "kunder.csv"
    for asked, cells in CELLS.items():
        wanted = asked.strip().lower()
        for cell, chunk in itertools.product(cells, (1, 2, 3, 7, 64, 2**20)):
            if not _write(path, written, bom, [*OTHERS, f"{cell};Anna;{cell}", *OTHERS]):
                continue
            # The premise: the cell is a match as Request.rows matches a snapshot's.
            assert Request("customer", asked).rows(pl.DataFrame({"code": [cell]})).height == 1
            assert may_hold(path, fmt, wanted, chunk), (named, cell, chunk)


@pytest.mark.parametrize(("named", "written", "bom"), ENCODINGS)
def test_a_file_without_the_value_is_skipped(
    tmp_path: Path, named: str, written: str, bom: bytes
) -> None:
    fmt = FormatSpec(type="csv", encoding=named, fallback_encoding="cp1252", delimiter=";")
    path = tmp_path / "kunder.csv"
    assert _write(path, written, bom, OTHERS)
    for chunk in (1, 5, 2**20):
        assert not may_hold(path, fmt, "k-1003", chunk)
        assert not may_hold(path, fmt, "eva@example.se", chunk)


def test_a_value_the_dialect_may_write_otherwise_is_always_read(tmp_path: Path) -> None:
    """A quote in the value is doubled in the file: the text does not hold it as asked."""
    path = tmp_path / "kunder.csv"
    path.write_bytes(b'Kundnr;E-post\r\n"K-""1";x@example.se\r\n')
    assert may_hold(path, FormatSpec(type="csv", delimiter=";"), 'k-"1')
    escaped = FormatSpec(type="csv", delimiter=";", escape="\\")
    assert may_hold(path, escaped, "k\\;1")


def _contract(tmp_path: Path, fmt: str) -> FeedContract:
    """The shipped customers contract with another format: `fmt` for its encoding lines."""
    text = (SCHEMAS / "customers.toml").read_text(encoding="utf-8")
    assert 'encoding = "cp1252"\ndelimiter = ";"' in text
    text = text.replace('encoding = "cp1252"\ndelimiter = ";"', fmt)
    path = tmp_path / "schemas" / "customers.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return load_contract(path, settings(tmp_path / "home", tmp_path / "erp"))


@pytest.mark.parametrize(
    ("fmt", "old", "cell", "column", "wanted"),
    [
        # An escaped delimiter in a code: the file holds "K\;7", the reader's cell is "K;7".
        ('encoding = "utf-8"\ndelimiter = ";"\nescape = "\\\\"', "K-1001", "K\\;7", "Kundnr", "k;7"),
        # A letter polars lower-cases (Unicode 16) and Python 3.11's tables do not: a request
        # beyond ASCII is read whatever the text.
        ('encoding = "utf-8"\ndelimiter = ";"', "anna.andersson@example.se", "\ua7cbVA@X.SE",
         "E-post", "\u0264va@x.se"),
    ],
)  # fmt: skip
def test_a_value_the_text_may_not_hold_as_matched_is_always_read(
    tmp_path: Path, fmt: str, old: str, cell: str, column: str, wanted: str
) -> None:
    contract = _contract(tmp_path, fmt)
    path = tmp_path / "kunder_1.csv"
    path.write_bytes(f"{HEADER}\n{ANNA_ROW.replace(old, cell)}\n".encode())
    # The premise: the reader's cell, lower-cased as `Request.rows` does, is the value asked.
    frame = read_file(path, contract, tmp_path).frame
    assert frame.filter(pl.col(column).str.to_lowercase() == wanted).height == 1

    assert may_hold(path, contract.format, wanted)
