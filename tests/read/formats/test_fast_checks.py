"""The native-call fast paths of the text checks agree with the general paths they skip.

`as_utf8` checks a UTF-8 file with one native validation per block and no per-line work
(text._valid_utf8); only a file that fails is read again by `_check`, which words the
message. `clean_cells` looks for white space with one substring search before it trims to
compare. Each is compared here with the general path on hostile and generated inputs.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.errors import EncodingError, ParseError
from etl.read.formats.cells import WHITESPACE, clean_cells
from etl.read.formats.text import CHUNK, _check, as_utf8

BOM = b"\xef\xbb\xbf"
ROW = "S1;Räksmörgås;25\r\n".encode()
HEADER = b"sku;name;vat\r\n"


def _filled(size: int) -> bytes:
    """Valid UTF-8 rows (two-byte letters on every row) of about `size` bytes."""
    return HEADER + ROW * (size // len(ROW))


def _at(data: bytes, offset: int, inserted: bytes) -> bytes:
    return data[:offset] + inserted + data[offset:]


BIG = _filled(CHUNK + 4096)
HOSTILE = {
    "clean": BIG,
    "bom": BOM + BIG,
    # the letter's first byte is the last of the first block read
    "letter across the boundary": HEADER + b"x" * (CHUNK - len(HEADER) - 1) + "å;\r\n".encode(),
    "bad at the start": b"\xff" + BIG,
    "bad in the middle": _at(BIG, len(BIG) // 3, b"\xc3\x28"),
    "bad last byte of a block": _at(BIG, CHUNK - 1, b"\x80"),
    "bad first byte of the second block": _at(BIG, CHUNK, b"\xfe"),
    "bad at the end": BIG + b"\xe2\x82",
    "lone continuation byte at the end": BIG + b"\x80",
    "nul in the middle": _at(BIG, len(BIG) // 2, b"\x00"),
    "nul in the second block": _at(BIG, CHUNK + 100, b"\x00"),
    "cp1252 bytes": HEADER + "S1;Räksmörgås €;25\r\n".encode("cp1252"),
    "ascii": HEADER + b"S1;plain;25\r\n" * 10,
    "ascii first block, bad second": _at(b"a" * (CHUNK + 10), CHUNK + 5, b"\xc0"),
}


def _outcome(action: object) -> tuple[str, str, int | None]:
    """What a check did: accepted, or refused with which exception, message and line."""
    try:
        action()  # type: ignore[operator]
    except ParseError as exc:
        return type(exc).__name__, str(exc), exc.line
    return "accepted", "", None


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_as_utf8_refuses_and_words_exactly_as_the_full_check(tmp_path: Path, name: str) -> None:
    path = tmp_path / "products.csv"
    path.write_bytes(HOSTILE[name])
    codec = "utf-8-sig" if HOSTILE[name].startswith(BOM) else "utf-8"

    fast = _outcome(lambda: as_utf8(path, "utf-8", tmp_path / "scratch"))
    full = _outcome(lambda: _check(path, codec, None))

    assert fast == full
    if name in {"clean", "bom", "ascii", "letter across the boundary"}:
        assert fast[0] == "accepted"
    else:
        assert fast[0] in {"EncodingError", "ParseError"}, name


def test_a_bad_byte_still_names_its_offset_and_line(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    at = CHUNK + 3 * len(ROW)
    path.write_bytes(_at(BIG, at, b"\xff"))

    with pytest.raises(EncodingError) as caught:
        as_utf8(path, "utf-8", tmp_path)

    assert f"not valid utf-8 at byte {at} (bytes ff" in str(caught.value)
    assert caught.value.line == 1 + BIG[:at].count(b"\n")


def test_whitespace_is_what_the_regex_calls_white_space() -> None:
    every = "".join(chr(i) for i in range(1, 0x110000) if not 0xD800 <= i < 0xE000)
    found = pl.select(pl.lit(every).str.extract_all(r"\s")).item().to_list()

    assert "".join(found) == WHITESPACE


def _every_column_cleaned(frame: pl.DataFrame, nulls: tuple[str, ...]) -> pl.DataFrame:
    """The general path: every column trimmed and matched, none skipped."""
    trimmed = [pl.col(c).str.strip_chars() for c in frame.columns]
    if nulls:
        trimmed = [pl.when(t.is_in(list(nulls))).then(None).otherwise(t) for t in trimmed]
    return frame.select(t.alias(c) for t, c in zip(trimmed, frame.columns, strict=True))


# Drawn apart from WHITESPACE, so a character it lacks is caught: Python's `\s` (which also
# takes \x1c-\x1f) and two invisible characters that are no white space at all.
_SPACES = [chr(i) for i in range(0x3001) if re.fullmatch(r"\s", chr(i))] + ["\u200b", "\ufeff"]
_SPACE = st.sampled_from(_SPACES)
_CELL = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.builds(lambda a, b, c: a + b + c, _SPACE, st.text(max_size=4), st.just("")),
    st.builds(lambda a, b: a + b, st.text(max_size=4), _SPACE),
    st.builds(lambda a, b, c: a + b + c, st.text(min_size=1, max_size=3), _SPACE, st.text("x")),
)


@settings(max_examples=60, deadline=None)
@given(
    cells=st.lists(st.tuples(_CELL, _CELL, _CELL), min_size=1, max_size=12),
    nulls=st.sampled_from([(), ("",), ("", "NULL"), ("-",)]),
)
def test_clean_cells_equals_cleaning_every_column(
    cells: list[tuple[str | None, str | None, str | None]], nulls: tuple[str, ...]
) -> None:
    # Every cell as text, as the readers give them.
    frame = pl.DataFrame(cells, schema=dict.fromkeys("abc", pl.String), orient="row")

    cleaned = clean_cells(frame, ("a", "b", "c"), nulls)

    assert cleaned.equals(_every_column_cleaned(frame, nulls))


def _legacy(encoding: str) -> bytes:
    """Rows in `encoding` past the first block read, the Swedish letters and € in each."""
    row = "S1;Räksmörgås €;25\r\n".encode(encoding)
    return "sku;name;vat\r\n".encode(encoding) + row * ((CHUNK + 4096) // len(row))


@pytest.mark.parametrize(
    ("encoding", "bad", "where"),
    [
        ("cp1252", b"\x81", 0),
        ("cp1252", b"\x81", CHUNK // 3),
        ("cp1252", b"\x81", CHUNK),  # the first byte of the second block
        ("cp1252", b"\x00", CHUNK + 99),  # NUL: binary, its own message
        ("utf-16-le", b"\x00\xdc", CHUNK - 2),  # a lone low surrogate ending the first block
        ("utf-16-le", b"\x00\xdc", CHUNK + 40),
    ],
)
def test_a_legacy_file_error_names_the_line_counted_from_its_text(
    tmp_path: Path, encoding: str, bad: bytes, where: int
) -> None:
    # Lines are counted only once a byte fails (text._lines_before): the truth here is the
    # text before the bad byte, decoded at once.
    data = _legacy(encoding)
    path = tmp_path / "products.csv"
    path.write_bytes(_at(data, where, bad))

    with pytest.raises(ParseError) as caught:
        as_utf8(path, encoding, tmp_path / "scratch")

    assert f"at byte {where}" in str(caught.value)
    assert caught.value.line == 1 + data[:where].decode(encoding).count("\n")


def test_a_legacy_file_cut_inside_a_character_names_its_last_line(tmp_path: Path) -> None:
    data = _legacy("utf-16-le") + "x".encode("utf-16-le")[:1]
    path = tmp_path / "products.csv"
    path.write_bytes(data)

    with pytest.raises(EncodingError) as caught:
        as_utf8(path, "utf-16-le", tmp_path / "scratch")

    assert "file ends inside a utf-16-le character" in str(caught.value)
    assert caught.value.line == 1 + data[:-1].decode("utf-16-le").count("\n")


@pytest.mark.parametrize("space", _SPACES, ids=lambda c: f"U+{ord(c):04X}")
def test_each_space_alone_at_either_end_is_trimmed_as_by_the_general_path(space: str) -> None:
    # Each column holds this one space character and nothing else of the kind.
    frame = pl.DataFrame(
        {"a": [space + "x", "y"], "b": ["x" + space, None], "c": ["x" + space + "y", "z"]},
        schema=dict.fromkeys("abc", pl.String),
    )

    cleaned = clean_cells(frame, ("a", "b", "c"), ())

    assert cleaned.equals(_every_column_cleaned(frame, ()))
