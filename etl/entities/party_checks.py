"""Checks for customers and companies: e-mail address, country code, organisation number.

Each check is a polars expression over the whole frame (1M rows in well under a second) and has
a plain-Python twin for single values; the tests hold the two to the same answers. Nulls pass:
whether a field is required is the schema's `nullable`, not these checks.
"""

from __future__ import annotations

import re

import pandera.polars as pa
import polars as pl

# A practical address rule, not all of RFC 5322: letters, digits and !#$%&'*+/=?^_`{|}~- in
# dot-separated runs before the @; DNS labels after it; a top-level domain of letters.
# No lookarounds: the same text is a Python and a Rust (polars) regex.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}"
MAX_EMAIL = 254  # RFC 5321 path limit
MAX_LOCAL = 64  # RFC 5321 local-part limit
_EMAIL = re.compile(EMAIL_PATTERN)

# ISO 3166-1 alpha-2 codes officially assigned: 249. Source: tzdata 2025b iso3166.tab, current
# as of ISO/TC 46 N1108 (2023-04-05); the last addition was SS in 2011. Not in it:
# user-assigned XK (Kosovo) and exceptionally reserved UK, EU.
_ALPHA2 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRIES = frozenset(_ALPHA2.split())

# Organisation number forms once spaces are removed. They do not overlap, so a number's form
# alone says which country's number it is written as (the messages rely on that).
# SE: a sole trader's organisation number is the owner's personnummer, so the third digit is
# not required to be >= 2 (that would reject real sole-trader customers); "16" is the century
# prefix Skatteverket uses for legal entities in the 12-digit form.
# FI: the legacy 6-digit Y-tunnus is the same number without its leading zero.
_FORMS = {
    "SE": r"(?:16)?[0-9]{6}-?[0-9]{4}",
    "NO": r"[0-9]{9}",
    "DK": r"[0-9]{8}",
    "FI": r"[0-9]{6,7}-[0-9]",
}
_FORM_RES = {c: re.compile(form) for c, form in _FORMS.items()}
_LENGTHS = {"SE": 10, "NO": 9, "DK": 8, "FI": 8}
ORG_NUMBER_TYPES = {
    "SE": ("Swedish organisation number", "NNNNNN-NNNN"),
    "NO": ("Norwegian organisation number", "9 digits"),
    "DK": ("Danish CVR number", "8 digits"),
    "FI": ("Finnish business ID (Y-tunnus)", "NNNNNNN-N"),
}
"""Country -> (the number's name in English, how Norce usually shows it)."""


def is_email(text: str) -> bool:
    """Whether one value is a well-formed e-mail address (the rule of `EMAIL`)."""
    return (
        len(text) <= MAX_EMAIL
        and _EMAIL.fullmatch(text) is not None
        and text.index("@") <= MAX_LOCAL
    )


def _email_ok(data: pa.PolarsData) -> pl.LazyFrame:
    col = pl.col(data.key)
    # Only ASCII passes the pattern, so byte lengths and offsets are character counts.
    ok = (
        col.str.contains(f"^(?:{EMAIL_PATTERN})$")
        & (col.str.len_bytes() <= MAX_EMAIL)
        & (col.str.find("@", literal=True) <= MAX_LOCAL)
    )
    return data.lazyframe.select(col.is_null() | ok.fill_null(False))


def _country_ok(data: pa.PolarsData) -> pl.LazyFrame:
    col = pl.col(data.key)
    return data.lazyframe.select(col.is_null() | col.is_in(sorted(COUNTRIES)))


EMAIL = pa.Check(_email_ok, name="email")
COUNTRY = pa.Check(_country_ok, name="country")


def written_as(text: str) -> str | None:
    """The country whose organisation number form `text` has (spaces ignored), if any."""
    compact = text.replace(" ", "")
    return next((c for c, form in _FORM_RES.items() if form.fullmatch(compact)), None)


def _digits(country: str, text: str) -> str | None:
    """The number's digits at their full length, or None if `text` is not in the form."""
    if written_as(text) != country:
        return None
    digits = text.replace(" ", "").replace("-", "")
    return digits[-_LENGTHS[country] :].zfill(_LENGTHS[country])


def _weighted(weights: tuple[int, ...], digits: str) -> int:
    return sum(w * int(d) for w, d in zip(weights, digits, strict=False))


def _se_ok(d: str) -> bool:
    """Luhn: weights 2,1,2,1... from the left, digit sums of the products."""
    total = sum(p // 10 + p % 10 for p in (int(c) * (2 - i % 2) for i, c in enumerate(d[:9])))
    return (10 - total % 10) % 10 == int(d[9])


def _no_ok(d: str) -> bool:
    check = 11 - _weighted((3, 2, 7, 6, 5, 4, 3, 2), d) % 11
    return check != 10 and check % 11 == int(d[8])


def _dk_ok(d: str) -> bool:
    return _weighted((2, 7, 6, 5, 4, 3, 2, 1), d) % 11 == 0


def _fi_ok(d: str) -> bool:
    rest = _weighted((7, 9, 10, 5, 8, 4, 2), d) % 11
    return rest != 1 and (11 - rest) % 11 == int(d[7])


_RULES = {"SE": _se_ok, "NO": _no_ok, "DK": _dk_ok, "FI": _fi_ok}


def org_number_ok(country: str | None, text: str) -> bool:
    """Whether `text` is a valid organisation number for `country`; other countries pass."""
    rule = _RULES.get(country or "")
    if rule is None:
        return True
    digits = _digits(country or "", text)
    return digits is not None and rule(digits)


def normalized_org_number(country: str | None, text: str) -> str:
    """Norce's usual written form (SE NNNNNN-NNNN, NO 9 digits, DK 8, FI NNNNNNN-N).

    Numbers of other countries come back as given; an invalid number of SE, NO, DK or FI
    raises ValueError (normalise only rows that passed `org_number`).
    """
    country = country or ""
    if country not in _RULES:
        return text
    digits = _digits(country, text)
    if digits is None or not _RULES[country](digits):
        raise ValueError(f"not a valid {country} organisation number: {text!r}")
    if country == "SE":
        return f"{digits[:6]}-{digits[6:]}"
    return f"{digits[:7]}-{digits[7]}" if country == "FI" else digits


def org_number_problem(text: str) -> str:
    """Why a number failed `org_number`, for a report; its form tells which country it imitates."""
    country = written_as(text)
    if country is None:
        forms = ", ".join(f"{c} {form}" for c, (_, form) in ORG_NUMBER_TYPES.items())
        return (
            "is not an organisation number in the form of the row's country: "
            f"{forms} (spaces allowed)"
        )
    kind, form = ORG_NUMBER_TYPES[country]
    if org_number_ok(country, text):
        # The row's country is checked and is another one, or the number would have passed.
        return f"is a {kind}, but the row's country is not {country}: check the country"
    return f"is not a valid {kind} ({form}): the check digit is wrong"


# Weights from the right, the check digit first. For NO and FI "check = 11 - sum % 11 (11 -> 0,
# 10 -> invalid)" is the same as "the weighted sum with the check digit at weight 1 is 0 mod 11"
# (a check digit can never be 10), which is DK's rule; the tests hold this to the plain rules.
_MOD11 = {
    "NO": (1, 2, 3, 4, 5, 6, 7, 2, 3),
    "DK": (1, 2, 3, 4, 5, 6, 7, 2),
    "FI": (1, 2, 4, 8, 5, 10, 9, 7),
}


def _org_number_valid(frame: pl.LazyFrame, key: str, country_field: str) -> pl.LazyFrame:
    """Vectorised `org_number_ok`: digits by integer arithmetic, one shape regex per country."""
    # Staged columns: as one expression polars recomputed the digits for every rule (1.3 s/1M).
    number, country = pl.col(key), pl.col(country_field)
    compact = number.str.replace_all(" ", "", literal=True)
    value = compact.str.replace_all("-", "", literal=True).cast(pl.UInt64, strict=False)
    # At most 12 digits; the 10 lowest are all any rule reads ("16" and FI's zero drop out).
    d = [pl.col(f"__d{k}") for k in range(10)]
    luhn = pl.sum_horizontal(
        d[k] if k % 2 == 0 else (2 * d[k]) // 10 + (2 * d[k]) % 10 for k in range(10)
    )
    sums = {"SE": luhn % 10}
    sums |= {
        c: pl.sum_horizontal(w * d[k] for k, w in enumerate(ws)) % 11 for c, ws in _MOD11.items()
    }
    ok = pl.all_horizontal(
        pl.when(country == c)
        .then(pl.col("__compact").str.contains(f"^(?:{form})$") & (sums[c] == 0))
        .otherwise(True)
        for c, form in _FORMS.items()
    )
    return (
        frame.select(number, country, __compact=compact, __value=value)
        .with_columns(((pl.col("__value") // 10**k) % 10).alias(f"__d{k}") for k in range(10))
        .select(number.is_null() | ok.fill_null(False))
    )


def org_number(country_field: str) -> pa.Check:
    """The organisation number is valid for the row's country in `country_field`; code "org_no"."""

    def check(data: pa.PolarsData) -> pl.LazyFrame:
        return _org_number_valid(data.lazyframe, data.key, country_field)

    return pa.Check(check, name="org_no")
