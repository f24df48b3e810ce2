"""The charset checks (one regular expression a text) against the rules written per character.

`xml_legal` and `encodable_in` once tested every character in Python; they now search each text
once. Every code point where a rule changes, and all of the first planes' control and Latin
ranges, must be judged as the rules say.
"""

from __future__ import annotations

import pytest

from etl.to_erp.files.charset import encodable_in, xml_legal

POINTS = [
    *range(0x0, 0x3000),
    *range(0xD7F0, 0xE010),
    *range(0xFFF0, 0x10010),
    0x10FFFF,
]


def control(code: int) -> bool:
    """C0 but tab, line feed and carriage return; DEL; C1."""
    return (code < 0x20 and code not in (0x9, 0xA, 0xD)) or 0x7F <= code <= 0x9F


def xml_char(code: int) -> bool:
    """XML 1.0's Char production."""
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def test_xml_legal_follows_the_rules_character_by_character() -> None:
    wrong = [hex(c) for c in POINTS if xml_legal(chr(c)) != (xml_char(c) and not control(c))]
    assert wrong == []


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "UTF-8"])
def test_encodable_in_follows_the_rules_character_by_character(encoding: str) -> None:
    holds = encodable_in(encoding)

    def encodes(code: int) -> bool:
        try:
            chr(code).encode(encoding)
        except UnicodeEncodeError:
            return False
        return True

    wrong = [hex(c) for c in POINTS if holds(chr(c)) != (encodes(c) and not control(c))]
    assert wrong == []


def test_a_text_is_judged_by_its_worst_character() -> None:
    assert xml_legal("Åsa Öberg \t\n ok")
    assert not xml_legal("Åsa \x07 Öberg")
    assert not xml_legal("half \ud800 a pair")
    assert not encodable_in("cp1252")("Łukasz")
    assert not encodable_in("UTF-8")("a \x85 next line")
