"""PEPPOL endpoint identifiers: which EAS scheme a number belongs to, and its checksum.

PEPPOL addresses a party by an identifier and an EAS scheme (the Electronic Address Scheme
code list). The order gives us a GLN (`Address.Gln`) and a VAT number (`Company.VatNo`);
the scheme follows the buyer's country. `Company.Code` is the ERP's own customer number
(reference section 11), never read as a registration number. National registration numbers
are preferred over VAT numbers: Sweden's VAT scheme (9955) was withdrawn from the EAS list,
and several Nordic ones never existed. A number that fails its checksum is never written:
the official schematron refuses the whole document for it, and a wrong party is worse.
The checks mirror the published PEPPOL rules (PEPPOL-COMMON-R040..R049), and are stricter
where those only check the format (the Danish CVR and the Finnish business id).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    """An identifier and its EAS scheme, e.g. 0007 5560000001."""

    scheme: str
    value: str


# VAT-number schemes still in the EAS list (2026), by the VAT number's country prefix.
# The endpoint is the whole VAT number, prefix included. EL is Greece's VAT prefix.
VAT_SCHEMES = {
    "HU": "9910", "AT": "9914", "ES": "9920", "AD": "9922", "AL": "9923", "BA": "9924",
    "BE": "9925", "BG": "9926", "CH": "9927", "CY": "9928", "CZ": "9929", "DE": "9930",
    "EE": "9931", "GB": "9932", "EL": "9933", "GR": "9933", "HR": "9934", "IE": "9935",
    "LI": "9936", "LT": "9937", "LU": "9938", "LV": "9939", "MC": "9940", "ME": "9941",
    "MK": "9942", "MT": "9943", "NL": "9944", "PL": "9945", "PT": "9946", "RO": "9947",
    "RS": "9948", "SI": "9949", "SK": "9950", "SM": "9951", "TR": "9952", "VA": "9953",
    "FR": "9957",
}  # fmt: skip


# A national number (digits after the VAT prefix, or as given) -> its scheme and its id.
_NATIONAL: dict[str, tuple[str, str, Callable[[str], bool], Callable[[str], str]]] = {
    "SE": ("0007", r"\d{10}(01)?", lambda n: se_orgnr_ok(n[:10]), lambda n: n[:10]),
    "NO": ("0192", r"\d{9}(MVA)?", lambda n: mod11_ok(n[:9]), lambda n: n[:9]),
    "DK": ("0184", r"\d{8}", lambda n: dk_cvr_ok(n), lambda n: n),
    "BE": ("0208", r"\d{10}", lambda n: mod97_0208_ok(n), lambda n: n),
    "FI": ("0216", r"\d{8}", lambda n: fi_business_id_ok(n), lambda n: f"0037{n}"),  # OVT
}


def national_endpoint(country: str, number: str) -> Endpoint | None:
    """The national registration number inside a VAT number (or given as is), checked."""
    scheme, pattern, check, value = _NATIONAL[country]
    if re.fullmatch(pattern, number) and check(number):
        return Endpoint(scheme, value(number))
    return None


def has_national_scheme(country: str) -> bool:
    """Whether the country's registration numbers have a PEPPOL scheme we can check."""
    return country in _NATIONAL


def compact(text: str | None) -> str:
    """`SE 5560-00000 101` -> `SE556000000101`: ERPs and people write numbers with spaces."""
    return re.sub(r"[\s.\-]", "", text or "").upper()


def gln_ok(value: str) -> bool:
    """A GS1 GLN: 13 digits, the last a mod-10 check digit (PEPPOL-COMMON-R040)."""
    if not re.fullmatch(r"\d{13}", value):
        return False
    digits = [int(c) for c in value]
    weighted = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits[:-1]))
    return (10 - weighted % 10) % 10 == digits[-1]


def se_orgnr_ok(value: str) -> bool:
    """A Swedish organisation number: 10 digits, Luhn check digit (PEPPOL-COMMON-R049)."""
    if not re.fullmatch(r"\d{10}", value):
        return False
    total = 0
    for i, c in enumerate(reversed(value[:9])):
        d = int(c) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return (10 - total % 10) % 10 == int(value[9])


def mod11_ok(value: str) -> bool:
    """A Norwegian organisation number: 9 digits, mod-11 check digit (PEPPOL-COMMON-R041)."""
    if not re.fullmatch(r"\d{9}", value):
        return False
    weights = (3, 2, 7, 6, 5, 4, 3, 2)
    rest = sum(int(c) * w for c, w in zip(value[:8], weights, strict=True)) % 11
    check = 0 if rest == 0 else 11 - rest
    # R041 also wants the number above 0: 000000000 passes the sum but is no company.
    return check != 10 and check == int(value[8]) and int(value) > 0


def dk_cvr_ok(value: str) -> bool:
    """A Danish CVR number: 8 digits whose weighted sum (2765432 1) is a multiple of 11."""
    if not re.fullmatch(r"\d{8}", value) or value[0] == "0":
        return False
    weights = (2, 7, 6, 5, 4, 3, 2, 1)
    return sum(int(c) * w for c, w in zip(value, weights, strict=True)) % 11 == 0


def fi_business_id_ok(value: str) -> bool:
    """A Finnish business id (Y-tunnus) without its dash: 7 digits and a mod-11 check digit."""
    if not re.fullmatch(r"\d{8}", value):
        return False
    rest = sum(int(c) * w for c, w in zip(value[:7], (7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    if rest == 1:  # no id is issued with this remainder
        return False
    return (0 if rest == 0 else 11 - rest) == int(value[7])


def mod97_0208_ok(value: str) -> bool:
    """A Belgian enterprise number: 10 digits, the last two 97 - (first eight mod 97)."""
    return bool(re.fullmatch(r"\d{10}", value)) and 97 - int(value[:8]) % 97 == int(value[8:])


# The schemes whose ids we can check, as the schematron does: scheme -> check.
_CHECKS: dict[str, Callable[[str], bool]] = {
    "0088": gln_ok,
    "0007": se_orgnr_ok,
    "0192": mod11_ok,
    "0184": dk_cvr_ok,
    "0208": mod97_0208_ok,
    "0216": lambda v: v.startswith("0037") and fi_business_id_ok(v[4:]),
}


def endpoint_problem(scheme: str, value: str) -> str | None:
    """Why `value` cannot be an endpoint under `scheme` (for the shop's own settings)."""
    if not value.strip():
        return "is empty"
    check = _CHECKS.get(scheme)
    if check is not None and not check(value):
        return f"{value!r} fails the format or checksum of EAS scheme {scheme}"
    prefixes = tuple(p for p, s in VAT_SCHEMES.items() if s == scheme)
    if prefixes and not value.upper().startswith(prefixes):
        return f"{value!r} is no {'/'.join(prefixes)} VAT number (EAS scheme {scheme})"
    return None
