"""`text._valid_utf8` judges a file block by block in native code (polars validates each
block; a character cut at a block's end waits for the next). Its answer must be exactly
Python's strict decode of the whole file with no NUL byte, wherever the blocks are cut.
"""

from __future__ import annotations

import codecs
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from etl.read.formats.text import _valid_utf8

# Whole characters of every length, and the pieces broken files are made of: lone lead and
# continuation bytes, overlong forms, surrogates, code points past U+10FFFF, NUL.
_PIECES = st.one_of(
    st.text(min_size=1, max_size=3).map(str.encode),
    st.sampled_from(
        [
            b"\x80", b"\xbf", b"\xc2", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc0\x80", b"\xe0\x80\x80",
            b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xff", b"\x00",
        ]
    ),
)  # fmt: skip


def _strictly_utf8(data: bytes) -> bool:
    """The general rule: no NUL byte, and Python's strict codec decodes the whole of it."""
    try:
        codecs.utf_8_decode(data, "strict", True)
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=40), chunk=st.integers(1, 9))
def test_blocks_judge_a_file_as_one_strict_decode(pieces: list[bytes], chunk: int) -> None:
    data = b"".join(pieces)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        path.write_bytes(data)
        assert _valid_utf8(path, chunk) == _strictly_utf8(data)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=60), chunk=st.integers(1, 9))
def test_any_bytes_are_judged_as_one_strict_decode(data: bytes, chunk: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        path.write_bytes(data)
        assert _valid_utf8(path, chunk) == _strictly_utf8(data)
