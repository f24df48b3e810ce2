"""The buyer's PEPPOL endpoint: which identifier the order carries, and under which scheme.

PEPPOL addresses a party by an identifier and an EAS scheme (the Electronic Address Scheme
code list). The order gives us a GLN (`Address.Gln`), a VAT number (`Company.VatNo`) and
maybe an organisation number in `Company.Code`; the scheme follows the buyer's country.
National registration numbers are preferred over VAT numbers: Sweden's VAT scheme (9955)
was withdrawn from the EAS list, and several Nordic ones never existed. A number that fails
its checksum is never written: the official schematron refuses the whole document for it.
The checks mirror the published PEPPOL rules (PEPPOL-COMMON-R040..R049).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from etl.orders.model import OrderRequest


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


def buyer_endpoint(order: OrderRequest) -> Endpoint | None:
    """The buyer's endpoint: a GLN, else a national number, else a VAT number; None for
    a buyer with none of them (a consumer)."""
    for gln in _glns(order):
        if gln_ok(gln):
            return Endpoint("0088", gln)
    company = order.sell_to.company if order.sell_to is not None else None
    vat = _compact(company.vat_no if company is not None else None)
    code = _compact(company.code if company is not None else None)
    country = (vat[:2] if vat[:2].isalpha() else "") or _country(order)
    for number in (vat[2:] if vat[:2].isalpha() else vat, code):
        national = _national(country, number)
        if national is not None:
            return national
    scheme = VAT_SCHEMES.get(vat[:2])
    return Endpoint(scheme, vat) if scheme and len(vat) > 4 else None


def _national(country: str, number: str) -> Endpoint | None:
    """The national registration number inside a VAT number (or given as is)."""
    if country == "SE" and re.fullmatch(r"\d{10}(01)?", number) and se_orgnr_ok(number[:10]):
        return Endpoint("0007", number[:10])
    if country == "NO" and re.fullmatch(r"\d{9}(MVA)?", number) and mod11_ok(number[:9]):
        return Endpoint("0192", number[:9])
    if country == "DK" and re.fullmatch(r"\d{8}", number):
        return Endpoint("0184", number)
    if country == "BE" and re.fullmatch(r"\d{10}", number) and mod97_0208_ok(number):
        return Endpoint("0208", number)
    if country == "FI" and re.fullmatch(r"\d{8}", number):
        return Endpoint("0216", f"0037{number}")  # OVT: 0037 + the business id
    return None


def _glns(order: OrderRequest) -> Iterable[str]:
    for customer in (order.sell_to, order.bill_to):
        person = customer.person if customer is not None else None
        if person is not None and person.address is not None and person.address.gln:
            yield _compact(person.address.gln)


def _country(order: OrderRequest) -> str:
    for customer in (order.bill_to, order.sell_to, order.ship_to):
        person = customer.person if customer is not None else None
        if person is not None and person.address is not None and person.address.country:
            return person.address.country.strip().upper()
    return ""


def _compact(text: str | None) -> str:
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
    return check != 10 and check == int(value[8])


def mod97_0208_ok(value: str) -> bool:
    """A Belgian enterprise number: 10 digits, the last two 97 - (first eight mod 97)."""
    return bool(re.fullmatch(r"\d{10}", value)) and 97 - int(value[:8]) % 97 == int(value[8:])
