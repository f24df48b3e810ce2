"""Raw lines found in the bytes, held to the whole file decoded and split the plain way.

`raw_records` counts lines in the file's bytes and decodes only the lines it returns (a
file in UTF-16 is turned into UTF-8 first). Generated files of several blocks, in each
codec a contract may name and with each kind of line end, must give for any wanted lines
exactly what decoding the whole file (invalid bytes as U+FFFD) and splitting it gives:
characters of several bytes, invalid bytes, lines longer than RAW_LIMIT, a UTF-8 BOM,
lines asked for past the end, near and far ones.
"""

from __future__ import annotations

import codecs
import random
from pathlib import Path

import pytest

from etl.read.formats.raw import CUT, RAW_LIMIT, raw_records
from tests.fixtures.feeds import price_contract

_LETTERS = "abcxyz0123456789 ,.-åäöÅÄÖé€\u2013"
_WIDE = "😀語"  # four and three bytes in UTF-8; not in cp1252
_BREAKS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}
# (contract encoding, how the file is written, whether wide characters and invalid bytes go in)
_CODECS = {
    "utf-8": ("utf-8", "utf-8", True),
    "utf-8-bom": ("auto", "utf-8-sig", True),
    "cp1252": ("cp1252", "cp1252", False),
    "utf-16": ("auto", "utf-16", True),
}


def _line(rng: random.Random, wide: bool) -> str:
    """A line of text (never a quote, CR or LF), now and then longer than RAW_LIMIT."""
    long = rng.random() < 0.01
    size = rng.choice([RAW_LIMIT, RAW_LIMIT + 1, 3 * RAW_LIMIT] if long else [0, 1, 5, 40, 90])
    return "".join(rng.choices(_LETTERS + (_WIDE if wide else ""), k=size))


def _file(rng: random.Random, writer: str, wide: bool, end: str, lines: int) -> bytes:
    """Lines joined by `end`, the last one with or without it; invalid bytes in some of UTF-8's."""
    texts = [_line(rng, wide) for _ in range(lines)]
    data = end.join(texts) + rng.choice(["", end])
    if writer != "utf-8":
        return data.encode(writer)
    raw = bytearray(data.encode("utf-8"))
    for _ in range(lines // 50):  # a lone continuation byte, a cut sequence, a byte never valid
        at = rng.randrange(len(raw))
        if raw[at] not in b"\r\n":
            raw[at : at + 1] = rng.choice([b"\x80", b"\xe2\x82", b"\xff", b"\xf0\x9f"])
    return bytes(raw)


def _expected(data: bytes, writer: str, end: str, wanted: list[int]) -> dict[int, str]:
    """Each wanted line of the whole file decoded, as a report shows it."""
    # Decoded as a stream is: a file that is only the start of a BOM reads as nothing.
    text = codecs.getincrementaldecoder(writer)("replace").decode(data, final=True)
    if end == "\r":
        text = text.replace("\r", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the file ended with a line break: no line after it
    shown = {}
    for number in wanted:
        if number <= len(lines):
            line = lines[number - 1].removesuffix("\r")
            shown[number] = line if len(line) <= RAW_LIMIT else line[:RAW_LIMIT] + CUT
    return shown


def _wanted(rng: random.Random, lines: int) -> list[int]:
    """Far and near lines, a run of neighbours, the first, the last and past the end."""
    far = rng.sample(range(1, lines + 1), 40)
    start = rng.randrange(1, lines - 30)
    return sorted({1, 2, lines, lines + 1, lines + 50, *far, *range(start, start + 30)})


@pytest.mark.parametrize("name", sorted(_CODECS))
@pytest.mark.parametrize("break_name", sorted(_BREAKS))
def test_every_wanted_line_is_the_whole_files_line(
    tmp_path: Path, name: str, break_name: str
) -> None:
    encoding, writer, wide = _CODECS[name]
    end = _BREAKS[break_name]
    contract = price_contract(tmp_path / "c", f'encoding = "{encoding}"\ndelimiter = ";"')
    for seed in range(2):
        rng = random.Random(f"{name}-{break_name}-{seed}")
        lines = 18_000  # 1.2 to 2.6 MB: the lines cross the reader's 1 MiB blocks
        data = _file(rng, writer, wide, end, lines)
        path = tmp_path / f"{seed}.csv"
        path.write_bytes(data)
        wanted = _wanted(rng, lines)

        found = raw_records(path, contract, wanted, tmp_path / "scratch")

        assert found == _expected(data, writer, end, wanted)


@pytest.mark.parametrize("data", [b"", b"\xef", b"\xef\xbb", b"\xef\xbb\xbf", b"\xef\xbbA\n"])
def test_a_file_that_starts_like_a_bom_reads_as_utf_8_sig_reads_it(
    tmp_path: Path, data: bytes
) -> None:
    contract = price_contract(tmp_path / "c", 'encoding = "utf-8-sig"\ndelimiter = ";"')
    path = tmp_path / "short.csv"
    path.write_bytes(data)

    found = raw_records(path, contract, [1, 2], tmp_path / "scratch")

    assert found == _expected(data, "utf-8-sig", "\n", [1, 2])
