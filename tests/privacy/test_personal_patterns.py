"""`mask_personal`: valid identity numbers, e-mails and written phone numbers go; ids stay."""

from __future__ import annotations

import datetime as dt

from hypothesis import assume, given
from hypothesis import strategies as st

from etl.personal_data import REDACTED, mask_personal

_days = st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2025, 12, 31))


def _luhn_digit(nine: str) -> str:
    total = 0
    for i, char in enumerate(nine):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


@given(day=_days, serial=st.integers(0, 999), long_form=st.booleans(), hyphen=st.booleans())
def test_every_valid_swedish_personnummer_is_masked(
    day: dt.date, serial: int, long_form: bool, hyphen: bool
) -> None:
    nine = day.strftime("%y%m%d") + f"{serial:03d}"
    number = nine[:6] + ("-" if hyphen else "") + nine[6:] + _luhn_digit(nine)
    if long_form:
        number = day.strftime("%Y")[:2] + number
    assert mask_personal(f"kund {number} finns redan") == f"kund {REDACTED} finns redan"


@given(day=_days, serial=st.integers(0, 999))
def test_every_valid_norwegian_fodselsnummer_is_masked(day: dt.date, serial: int) -> None:
    digits = [int(c) for c in day.strftime("%d%m%y") + f"{serial:03d}"]
    k1 = (
        11 - sum(w * d for w, d in zip((3, 7, 6, 1, 8, 9, 4, 5, 2), digits, strict=True)) % 11
    ) % 11
    digits.append(k1)
    k2 = (
        11 - sum(w * d for w, d in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), digits, strict=True)) % 11
    ) % 11
    digits.append(k2)
    # A check digit of 10 means no number has these first digits: appending "10" made a
    # 12-digit text, which is no fodselsnummer (what other patterns make of it is theirs).
    assume(k1 != 10 and k2 != 10)
    number = "".join(map(str, digits))
    assert mask_personal(f"kunde {number}.") == f"kunde {REDACTED}."


@given(day=_days, serial=st.integers(2, 899))
def test_every_valid_finnish_henkilotunnus_is_masked(day: dt.date, serial: int) -> None:
    base = day.strftime("%d%m%y")
    sign = "-" if day.year < 2000 else "A"
    check = "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(base + f"{serial:03d}") % 31]
    assert mask_personal(f"hetu {base}{sign}{serial:03d}{check}") == f"hetu {REDACTED}"


def test_e_mails_and_written_phone_numbers_are_masked() -> None:
    for text in [
        "anna.andersson+shop@example.co.uk",
        "+46 70 123 45 67",
        "+46701234567",
        "070-123 45 67",
        "0046 8 123 456 78",
        "+47 912 34 567",
        "+45 (0) 33 12 34 56",
    ]:
        assert mask_personal(f"<{text}>") == f"<{REDACTED}>", text


def test_ids_amounts_dates_and_timestamps_are_left_alone() -> None:
    for text in [
        "order 1001",
        "ClientOrderRef 1234567",
        "EAN 7350012345678",
        "GLN 7300009012345",
        "org 556600-0001",  # an organisation number: its month is 66
        "SO-100045",
        "INV/2026/00012",
        "job 123456789",
        "5962.05 SEK",
        "2026-12-06 19:13:24,528",
        "06-12-2026",
        "2026-12-06T19:13:24+01:00",
        "PartNo 100123-45",
        "StatusId 2 of 1000 rows",
        "0701234567",  # a bare run of digits: an id far more often than a phone number
    ]:
        assert mask_personal(text) == text, text
