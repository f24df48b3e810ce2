"""Customer and company checks: e-mail, country and organisation numbers, vectorised and plain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandera.errors
import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from etl.entities.party_checks import (
    COUNTRIES,
    COUNTRY,
    EMAIL,
    is_email,
    normalized_org_number,
    org_number,
    org_number_ok,
)
from etl.entities.price import PRICE
from etl.read.messages import CODES, describe

SCHEMA = pa.DataFrameSchema(
    {
        "organization_no": pa.Column(pl.String, [org_number("country")], nullable=True),
        "country": pa.Column(pl.String, [COUNTRY], nullable=True),
        "email": pa.Column(pl.String, [EMAIL], nullable=True),
    },
    name="party",
)
ISO3166_TAB = Path("/usr/share/zoneinfo/iso3166.tab")


def failed_rows(rows: Sequence[Mapping[str, str | None]]) -> dict[str, list[int]]:
    """Check name -> the indexes of the rows it failed, through the pandera schema."""
    frame = pl.DataFrame(rows, schema=dict.fromkeys(SCHEMA.columns, pl.String))
    try:
        SCHEMA.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = pl.DataFrame(exc.failure_cases)
        return {
            str(check): sorted(group["index"].to_list())
            for (check,), group in cases.group_by("check")
        }
    return {}


def passes(check: str, rows: Sequence[Mapping[str, str | None]]) -> list[bool]:
    """For each row, whether the check named `check` lets it through (the check run alone)."""
    column = {"org_no": "organization_no", "email": "email", "country": "country"}[check]
    frame = pl.LazyFrame(rows, schema=dict.fromkeys(SCHEMA.columns, pl.String))
    (run,) = (c for c in SCHEMA.columns[column].checks if c.name == check)
    result = run(frame, column).check_output.collect().to_series()
    return [bool(ok) for ok in result]


# ---- organisation numbers ------------------------------------------------------------------


VALID = [
    ("SE", "556012-5790", "556012-5790"),  # AB Volvo
    ("SE", "5560125790", "556012-5790"),
    ("SE", "16556012-5790", "556012-5790"),
    ("SE", "165560125790", "556012-5790"),
    ("SE", " 556012 5790 ", "556012-5790"),
    ("SE", "556016-0680", "556016-0680"),  # Telefonaktiebolaget LM Ericsson
    ("SE", "556036-0793", "556036-0793"),
    ("SE", "800101-0019", "800101-0019"),  # a sole trader's number is a personnummer
    ("NO", "923609016", "923609016"),  # Equinor ASA
    ("NO", "923 609 016", "923609016"),
    ("NO", "974760673", "974760673"),  # Brønnøysundregistrene
    ("DK", "10150817", "10150817"),
    ("DK", "24256790", "24256790"),  # Novo Nordisk A/S
    ("DK", "10 15 08 17", "10150817"),
    ("FI", "0112038-9", "0112038-9"),  # Nokia Oyj
    ("FI", "112038-9", "0112038-9"),  # legacy form without the leading zero
    ("FI", "1927400-1", "1927400-1"),  # Kone Oyj
]

INVALID = [
    ("SE", "556012-5791"),  # one digit changed
    ("SE", "556036-0794"),
    ("SE", "556012/5790"),
    ("SE", "SE556012-5790"),
    ("SE", "55601-25790"),
    ("SE", "195501011234"),  # 12 digits need the "16" of a legal entity
    ("NO", "923609017"),
    ("NO", "92360901"),
    ("NO", "923609016MVA"),
    ("NO", "923\u00a0609\u00a0016"),  # only plain spaces are spacing
    ("NO", "923609130"),  # remainder 1: no check digit 0-9 fits, so none is valid
    ("DK", "10150818"),
    ("DK", "DK10150817"),
    ("DK", "101508170"),
    ("FI", "0112038-8"),
    ("FI", "01120389"),  # the hyphen belongs to a Y-tunnus
    ("FI", "1000008-0"),  # remainder 1 again
    ("FI", ""),
]


@pytest.mark.parametrize(("country", "text", "written"), VALID)
def test_real_numbers_pass_and_normalise_to_norces_form(
    country: str, text: str, written: str
) -> None:
    assert org_number_ok(country, text)
    assert passes("org_no", [{"country": country, "organization_no": text}]) == [True]
    assert normalized_org_number(country, text) == written


@pytest.mark.parametrize(("country", "text"), INVALID)
def test_wrong_digits_and_forms_fail(country: str, text: str) -> None:
    assert not org_number_ok(country, text)
    assert passes("org_no", [{"country": country, "organization_no": text}]) == [False]
    with pytest.raises(ValueError, match="organisation number"):
        normalized_org_number(country, text)


@pytest.mark.parametrize("country", ["DE", "GB", "XX", "se", None])
def test_a_country_without_a_known_checksum_passes_anything(country: str | None) -> None:
    assert org_number_ok(country, "HRB 12345 / x")
    assert normalized_org_number(country, " HRB 12345 ") == " HRB 12345 "


def test_the_schema_rejects_exactly_the_rows_whose_number_fails_their_country() -> None:
    rows: list[dict[str, str | None]] = [
        {"country": "SE", "organization_no": "556012-5790"},
        {"country": "SE", "organization_no": "556012-5791"},  # check digit
        {"country": "NO", "organization_no": "923609016"},
        {"country": "NO", "organization_no": "556012-5790"},  # a Swedish number, Norway's row
        {"country": "DK", "organization_no": "10150817"},
        {"country": "FI", "organization_no": "0112038-9"},
        {"country": "FI", "organization_no": "0112038-8"},  # check digit
        {"country": "DE", "organization_no": "12345"},
        {"country": None, "organization_no": "556012-5791"},
        {"country": "SE", "organization_no": None},
        {"country": "se", "organization_no": "556012-5791"},  # not a country: code "country"
    ]
    assert failed_rows(rows) == {"org_no": [1, 3, 6], "country": [10]}


WEIGHTS = {
    "NO": (3, 2, 7, 6, 5, 4, 3, 2),
    "DK": (2, 7, 6, 5, 4, 3, 2),
    "FI": (7, 9, 10, 5, 8, 4, 2),
}


def check_digit(country: str, body: str) -> int | None:
    """The check digit by each country's published rule, None where the body has none."""
    if country == "SE":
        products = [int(c) * (2 - i % 2) for i, c in enumerate(body)]
        return (10 - sum(p // 10 + p % 10 for p in products) % 10) % 10
    total = sum(w * int(c) for w, c in zip(WEIGHTS[country], body, strict=True))
    if country == "DK":  # the weighted sum including the check digit at weight 1 is 0 mod 11
        digit = -total % 11
    elif country == "FI":
        rest = total % 11
        digit = 10 if rest == 1 else (11 - rest) % 11
    else:
        digit = (11 - total % 11) % 11
    return None if digit == 10 else digit


BODY = {"SE": 9, "NO": 8, "DK": 7, "FI": 7}


@st.composite
def numbers(draw: st.DrawFn, country: str) -> str:
    """A valid number of `country` in one of the written forms the check accepts."""
    body = draw(st.text("0123456789", min_size=BODY[country], max_size=BODY[country]))
    digit = check_digit(country, body)
    assume(digit is not None)
    full = f"{body}{digit}"
    if country == "SE":
        hyphen = draw(st.sampled_from(["-", ""]))
        text = draw(st.sampled_from(["", "16"])) + full[:6] + hyphen + full[6:]
    elif country == "FI":
        legacy = full.startswith("0") and draw(st.booleans())
        text = f"{full[1 if legacy else 0 : 7]}-{full[7]}"
    else:
        text = full
    spaces = draw(st.lists(st.booleans(), min_size=len(text) + 1, max_size=len(text) + 1))
    return "".join(" " * s + c for s, c in zip(spaces, [*text, ""], strict=True))


@st.composite
def one_digit_changed(draw: st.DrawFn, text: str) -> str:
    """`text` with one of its digits replaced by another digit."""
    at = draw(st.sampled_from([i for i, c in enumerate(text) if c.isdigit()]))
    new = draw(st.sampled_from([d for d in "0123456789" if d != text[at]]))
    return text[:at] + new + text[at + 1 :]


@pytest.mark.parametrize("country", sorted(BODY))
@given(data=st.data())
def test_a_right_check_digit_passes_and_any_one_digit_change_fails(
    country: str, data: st.DataObject
) -> None:
    good = data.draw(st.lists(numbers(country), min_size=1, max_size=10))
    bad = [data.draw(one_digit_changed(text)) for text in good]
    rows = [{"country": country, "organization_no": t} for t in good + bad]
    expected = [True] * len(good) + [False] * len(bad)

    assert [org_number_ok(country, t) for t in good + bad] == expected
    assert passes("org_no", rows) == expected
    for text in good:
        assert org_number_ok(country, normalized_org_number(country, text))


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["SE", "NO", "DK", "FI", "DE", None]),
            st.one_of(
                st.sampled_from(sorted(BODY)).flatmap(numbers),
                st.text("0123456789- 16x", max_size=15),
            ),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_the_vectorised_check_and_the_plain_rule_agree(pairs: list[tuple[str | None, str]]) -> None:
    rows = [{"country": c, "organization_no": t} for c, t in pairs]
    assert passes("org_no", rows) == [org_number_ok(c, t) for c, t in pairs]


# ---- e-mail --------------------------------------------------------------------------------


def address(length: int) -> str:
    """An address of `length` characters with the longest local part and labels allowed."""
    return "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * (length - 196) + ".se"


LONGEST = address(254)
GOOD_EMAILS = [
    "a.b+c@example.co.uk",
    "x@y.se",
    "first_last@sub-domain.example.com",
    "o'brien!#$%&*/=?^`{|}~-@example.ie",
    "UPPER.Case@EXAMPLE.COM",
    "1@2.example.museum",
    LONGEST,
]
BAD_EMAILS = [
    "a@b",
    "a..b@example.com",
    "a@-x.com",
    "a@x-.com",
    "@x.com",
    "a@",
    "a b@example.com",
    " a@example.com",
    "a@example.com ",
    "a@example.com\n",
    "a@@example.com",
    "a@b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@example..com",
    "a@.example.com",
    "a@example.c",
    "a@example.123",
    "kalle@företag.se",
    "åsa@example.se",
    "a(b)@example.com",
    "",
    "a" * 65 + "@example.com",  # local part over 64
    address(255),
    "a@" + "b" * 64 + ".se",  # a label over 63
]


def test_the_boundary_addresses_are_as_long_as_they_claim() -> None:
    assert (len(address(254)), len(address(255))) == (254, 255)


@pytest.mark.parametrize(
    ("text", "ok"), [(t, True) for t in GOOD_EMAILS] + [(t, False) for t in BAD_EMAILS]
)
def test_email_addresses(text: str, ok: bool) -> None:
    assert is_email(text) is ok
    assert passes("email", [{"email": text}]) == [ok]


def test_an_empty_email_cell_passes_the_check() -> None:
    assert passes("email", [{"email": None}]) == [True]


@given(
    st.lists(
        st.one_of(st.emails(), st.text("ab.-@+_ 1Zé\n'", max_size=20)), min_size=1, max_size=30
    )
)
def test_the_vectorised_email_check_and_is_email_agree(texts: list[str]) -> None:
    assert passes("email", [{"email": t} for t in texts]) == [is_email(t) for t in texts]


# ---- country -------------------------------------------------------------------------------


def test_countries_are_the_249_assigned_iso_codes() -> None:
    assert len(COUNTRIES) == 249
    assert all(len(c) == 2 and c.isascii() and c.isupper() for c in COUNTRIES)
    assert {"SE", "NO", "DK", "FI", "GB", "US", "AX", "SS", "CW"} <= COUNTRIES
    assert not {"XK", "UK", "EU", "AN", "YU"} & COUNTRIES


@pytest.mark.skipif(not ISO3166_TAB.exists(), reason="no tzdata on this machine")
def test_countries_match_the_tzdata_table() -> None:
    lines = ISO3166_TAB.read_text(encoding="utf-8").splitlines()
    assert {ln.split("\t")[0] for ln in lines if ln and not ln.startswith("#")} == COUNTRIES


def test_country_check() -> None:
    rows = [{"country": c} for c in ["SE", "se", "XX", "SWE", " SE", None, "FI"]]
    assert passes("country", rows) == [True, False, False, False, False, True, True]


# ---- messages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "556036-0794",
            "'556036-0794' is not a valid Swedish organisation number (NNNNNN-NNNN): "
            "the check digit is wrong",
        ),
        (
            "0112038-8",
            "'0112038-8' is not a valid Finnish business ID (Y-tunnus) (NNNNNNN-N): "
            "the check digit is wrong",
        ),
        (
            "923609016",
            "'923609016' is a Norwegian organisation number, but the row's country is not NO: "
            "check the country",
        ),
        (
            "12-34",
            "'12-34' is not an organisation number in the form of the row's country: "
            "SE NNNNNN-NNNN, NO 9 digits, DK 8 digits, FI NNNNNNN-N (spaces allowed)",
        ),
    ],
)
def test_an_org_number_message_names_the_number_type_and_form(value: str, message: str) -> None:
    assert describe("org_no", "organization_no", value, PRICE, "") == ("org_no", message)


def test_email_and_country_messages() -> None:
    code, message = describe("email", "email", "a@b", PRICE, "")
    assert code == "email"
    assert message.startswith("'a@b' is not a well-formed e-mail address")
    code, message = describe("country", "country", "XX", PRICE, "")
    assert code == "country"
    assert "'XX' is not an ISO 3166 two-letter country code" in message


def test_the_new_codes_are_in_the_taxonomy() -> None:
    assert {"email", "country", "org_no"} <= set(CODES)
