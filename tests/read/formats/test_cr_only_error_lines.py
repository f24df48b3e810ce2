"""A byte the codec refuses in a file whose lines end in CR alone names the line it is on.

The readers take such a file (classic Mac) with every CR as a line end; the encoding check
counted only LF, so every refusal said "line 1" (found by a review, 2026-12-07). Each file
holds the header and two rows, the bad byte on line 4, as test_encodings.py's LF/CRLF cases.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.errors import EncodingError, ParseError
from etl.read.formats import read_file
from tests.fixtures.encodings import SWEDISH, contract, price_text, write

# The same export with CR-only line ends, then a fourth line holding the byte.
HEAD = price_text(SWEDISH).replace("\r\n", "\r")


@pytest.mark.parametrize(
    ("encoding", "bad", "error"),
    [
        ("utf-8", b"\xff", EncodingError),
        ("cp1252", b"\x81", EncodingError),
        ("cp1252", b"\x00\x01\x02", ParseError),  # a NUL: binary, not text
    ],
)
def test_the_refused_byte_is_on_the_fourth_line(
    tmp_path: Path, scratch: Path, encoding: str, bad: bytes, error: type[ParseError]
) -> None:
    data = HEAD.encode(encoding) + b"C-3;L;1;SEK;1,00;;" + bad + b"\r"
    path = write(tmp_path / "prices.csv", data)

    with pytest.raises(error) as caught:
        read_file(path, contract(tmp_path, f'encoding = "{encoding}"'), scratch)

    assert f"at byte {data.index(bad)}" in str(caught.value)
    assert caught.value.line == 4


def test_a_file_ending_inside_a_character_names_its_last_line(
    tmp_path: Path, scratch: Path
) -> None:
    data = HEAD.encode("utf-8") + b"C-3;L;1;SEK;1,00;;\xe2\x82"
    path = write(tmp_path / "prices.csv", data)

    with pytest.raises(EncodingError) as caught:
        read_file(path, contract(tmp_path, 'encoding = "utf-8"'), scratch)

    assert caught.value.line == 4
