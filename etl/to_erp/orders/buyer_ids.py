"""The buyer's PEPPOL endpoint as an order gives it: a GLN, a national number or a VAT number.

Which identifier and scheme, and the checksums, are etl.peppol_ids (shared with the settings'
check of the shop's own endpoint); here is only where the order carries them.
"""

from __future__ import annotations

from collections.abc import Iterable

from etl.peppol_ids import (
    VAT_SCHEMES,
    Endpoint,
    compact,
    gln_ok,
    has_national_scheme,
    national_endpoint,
)
from etl.to_erp.orders.model import OrderRequest


def buyer_endpoint(order: OrderRequest) -> Endpoint | None:
    """The buyer's endpoint: a GLN, else a national number, else a VAT number; None for
    a buyer with none that passes its checks."""
    for gln in _glns(order):
        if gln_ok(gln):
            return Endpoint("0088", gln)
    vat = compact(_vat_no(order))
    prefix = vat[:2] if vat[:2].isalpha() else ""
    country = prefix or _country(order)
    if has_national_scheme(country):
        # A number we can check and that fails is wrong as a VAT number too: never written.
        return national_endpoint(country, vat[len(prefix) :])
    scheme = VAT_SCHEMES.get(prefix)
    return Endpoint(scheme, vat) if scheme and len(vat) > 4 else None


def is_business(order: OrderRequest) -> bool:
    """Whether the buyer is a company (a Company with a name or a number), not a consumer."""
    for customer in (order.sell_to, order.bill_to):
        company = customer.company if customer is not None else None
        if company is not None and any((company.name, company.code, company.vat_no)):
            return True
    return False


def numbers_given(order: OrderRequest) -> str:
    """The buyer's GLNs and VAT number as the order gives them, for a hold reason."""
    given = [f"GLN {g}" for g in _glns(order)]
    vat = _vat_no(order)
    given += [f"VatNo {vat}"] if vat else []
    return ", ".join(given) or "no GLN and no VatNo"


def _vat_no(order: OrderRequest) -> str | None:
    company = order.sell_to.company if order.sell_to is not None else None
    return company.vat_no if company is not None else None


def _glns(order: OrderRequest) -> Iterable[str]:
    for customer in (order.sell_to, order.bill_to):
        person = customer.person if customer is not None else None
        if person is not None and person.address is not None and person.address.gln:
            yield compact(person.address.gln)


def _country(order: OrderRequest) -> str:
    for customer in (order.bill_to, order.sell_to, order.ship_to):
        person = customer.person if customer is not None else None
        if person is not None and person.address is not None and person.address.country:
            return person.address.country.strip().upper()
    return ""
