"""What still looks like personal data in a text, masked: the last line of defence.

Norce's error texts and job logs may quote a person the call never named (an earlier record,
another customer with the same e-mail), so masking only the values we sent is not enough.
These patterns catch the shapes that identify a person on their own: e-mail addresses,
Nordic personal identity numbers and phone numbers. Identity numbers are masked only when
their check digit (or, for Danish CPR, their date) is right, so order numbers, EANs and
amounts of the same length pass; phone numbers only in a shape people write them
(+46 70 123 45 67, 070-123 45 67), never a bare run of digits, which is usually an id.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable

import polars as pl

REDACTED = "***"

# Also as a URL writes it (`anna%40example.com`, in a Query filter).
EMAIL = re.compile(r"[^\s@'\"<>(),;:\[\]%]+(?:@|%40)[^\s@'\"<>(),;:\[\]]+\.[A-Za-z]{2,}")

# Swedish personnummer/samordningsnummer: (CC)YYMMDD-NNNN, '+' past 100 years, or 10/12 digits.
_SE = re.compile(r"(?<![\w+-])(?:19|20)?(\d{6})([-+]?)(\d{4})(?![\w-])")
# Norwegian fødselsnummer/D-nummer: DDMMYY + 5 digits with two mod-11 check digits.
_NO = re.compile(r"(?<![\w+-])(\d{6}) ?(\d{5})(?![\w-])")
# Danish CPR: DDMMYY-SSSS (the hyphen is how it is written; no checksum since 2007).
_DK = re.compile(r"(?<![\w+-])(\d{6})-(\d{4})(?![\w-])")
# Finnish henkilötunnus: DDMMYY, century sign, three digits, a mod-31 check character.
_FI = re.compile(r"(?<![\w+-])(\d{6})([-+A-FU-Y])(\d{3})([0-9A-Y])(?![\w-])")
_FI_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"

# +CC then digits with spaces, hyphens or a (0); or a national number starting with 0.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}|00\d{1,3}|0\d{1,4})(?:[ \-]?(?:\(0\)[ ]?)?\d{1,4}){2,6}(?![\w-])"
)
_DATE_LIKE = re.compile(r"^\d{1,4}[-./ ]\d{1,2}[-./ ]\d{1,4}$")


def mask_personal(text: str) -> str:
    """`text` with e-mail addresses, Nordic identity numbers and phone numbers as `***`."""
    text = EMAIL.sub(REDACTED, text)
    text = _FI.sub(_masked_if(_finnish), text)
    text = _SE.sub(_masked_if(_swedish), text)
    text = _NO.sub(_masked_if(_norwegian), text)
    text = _DK.sub(_masked_if(_danish), text)
    return _PHONE.sub(_masked_if(_phone), text)


def _masked_if(test: Callable[[re.Match[str]], bool]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return REDACTED if test(match) else match.group(0)

    return replace


def _swedish(match: re.Match[str]) -> bool:
    date, digits = match.group(1), match.group(3)
    if not _valid_date(date[4:6], date[2:4], date[0:2], coordination=True):
        return False
    return _luhn(date + digits)


def _norwegian(match: re.Match[str]) -> bool:
    digits = [int(c) for c in match.group(1) + match.group(2)]
    day = digits[0] * 10 + digits[1]
    if not _valid_date(f"{day % 40:02d}", match.group(1)[2:4], match.group(1)[4:6]):
        return False  # D-numbers add 4 to the first digit of the day
    k1 = 11 - sum(w * d for w, d in zip((3, 7, 6, 1, 8, 9, 4, 5, 2), digits, strict=False)) % 11
    k2 = 11 - sum(w * d for w, d in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), digits, strict=False)) % 11
    k1, k2 = k1 % 11, k2 % 11
    return k1 != 10 and k2 != 10 and k1 == digits[9] and k2 == digits[10]


def _danish(match: re.Match[str]) -> bool:
    date = match.group(1)
    return _valid_date(date[0:2], date[2:4], date[4:6])


def _finnish(match: re.Match[str]) -> bool:
    date, _, serial, check = match.groups()
    if not _valid_date(date[0:2], date[2:4], date[4:6]):
        return False
    return _FI_CHECK[int(date + serial) % 31] == check


def _phone(match: re.Match[str]) -> bool:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    if _DATE_LIKE.match(text):
        return False
    international = text.startswith("+") or text.startswith("00")
    # A bare run of digits with no separator is an id far more often than a phone number.
    written = international or any(c in " -(" for c in text)
    return written and 8 <= digits <= 15


def _valid_date(day: str, month: str, year: str, *, coordination: bool = False) -> bool:
    """DD, MM, YY as a real day of some century (a samordningsnummer adds 60 to the day)."""
    d, m = int(day), int(month)
    if coordination and d > 60:
        d -= 60
    for century in (1900, 2000):
        try:
            dt.date(century + int(year), m, d)
        except ValueError:
            continue
        return True
    return False


def _luhn(digits: str) -> bool:
    """The Luhn check over the last ten digits, as a personnummer is checked."""
    total = 0
    for i, char in enumerate(digits[-10:]):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


_WORD = re.compile(r"\w+")


def words_of(frame: pl.DataFrame) -> frozenset[str]:
    """The words (lower case, two characters or more, not all digits) of a frame's texts."""
    found: set[str] = set()
    for name, dtype in frame.schema.items():
        if dtype != pl.Utf8:
            continue
        for text in frame.get_column(name).drop_nulls().unique():
            found.update(w for w in _WORD.findall(text.lower()) if len(w) > 1 and not w.isdigit())
    return frozenset(found)


def mask_words(text: str, words: frozenset[str]) -> str:
    """`text` with every word that is in `words` (any case) as `***`."""
    if not words:
        return text
    return _WORD.sub(lambda m: REDACTED if m.group(0).lower() in words else m.group(0), text)


def scrubber_for(values: Iterable[str]) -> Callable[[str], str]:
    """Takes these personal values out of a text (whole words, also as a JSON answer quotes
    them back: "\\u00c5str\\u00f6m", "a \\"b\\""), then whatever still looks personal."""
    found = {v for v in values if v.strip()}
    found |= {json.dumps(v, ensure_ascii=a)[1:-1] for v in found for a in (True, False)}
    longest_first = sorted(found, key=len, reverse=True)  # no half-replaced value
    words = (
        re.compile(rf"(?<!\w)(?:{'|'.join(map(re.escape, longest_first))})(?!\w)")
        if longest_first
        else None
    )

    def scrub(text: str) -> str:
        return mask_personal(words.sub(REDACTED, text) if words else text)

    return scrub
