"""Norce Commerce Query (OData v4, read-only): orders, invoices, customers, companies, codes.

Every request goes through `NorceClient.request_json`, so Query shares Connect's cached token
(one token fetch for both: the token endpoint allows 3 a minute) and its retry rules: 429
honouring Retry-After, 5xx and timeouts with backoff, one token refresh on 401, secrets
redacted from every message. Errors name the entity set and the page ("Query Orders/Orders
page 3"), so an operator knows how far a run got.

Paging follows `@odata.nextLink`. The link is the server's, but the bearer token goes with
it, so it must stay on the tenant's host; a link that loops is refused too. OData v4 lets a
server treat `$top` as a cap on the whole result and send no nextLink; a third-party client
run against a live tenant (reference S21) saw both behaviours, so a full page without a
nextLink is followed by `$skip` over everything read so far.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from etl.config.settings import NorceSettings
from etl.errors import ConfigError, NorceRejected
from etl.norce.client import NorceClient
from etl.state.ledger.norce_tokens import SharedTokens

if TYPE_CHECKING:
    import httpx  # annotations only: see etl.norce.client

log = logging.getLogger(__name__)

ORDERS = "Orders/Orders"
INVOICES = "Orders/Invoices"
CURRENCIES = "Core/Currencies"  # [I] tenant-wide lookups, not in reference section 16;
COUNTRIES = "Core/Countries"  # a third-party client reads them with `$select=Id,Code`
# Query 2.0 does not use Connect's names [C docs /api-reference/schemas/querycustomers,
# reference corrections 2]: a customer's ERP number is `CustomerCode` (+ `CustomerCodePrefix`),
# a company's `CompanyCode`; `EmailAddress` and `OrganizationNo` keep their names; addresses
# are entities of their own with a `CountryId` (a Core/Countries id, not an ISO code).
# [I] The set paths below, and `Addresses` / `Companies` as navigation properties to expand.
CUSTOMERS = "Customers/Customers"
COMPANIES = "Customers/Companies"
CODE_NAMES = {CUSTOMERS: "CustomerCode", COMPANIES: "CompanyCode"}  # the ERP number
MAX_PAGE_SIZE = 500  # Norce's server-side cap (reference section 16, S21)
_INT32_MAX = 2**31 - 1

Row = dict[str, Any]


def odata_datetime(moment: dt.datetime) -> str:
    """An OData v4 DateTimeOffset literal: unquoted UTC, whole seconds (`2025-05-01T00:00:00Z`).

    Seconds are truncated, never rounded up, so `gt` on the result can only read more.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone; Norce compares instants in UTC")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def odata_string(value: str) -> str:
    """An OData string literal: single-quoted, quotes doubled; control characters refused.

    URL encoding is httpx's job; this only keeps the value from ending the literal early.
    """
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError(f"{value!r} holds control characters; no Norce key does")
    return "'" + value.replace("'", "''") + "'"


class QueryClient:
    """Reads from Norce Commerce Query with the same token and retries as Connect."""

    def __init__(
        self,
        settings: NorceSettings,
        query_path: str,
        *,
        connect: NorceClient | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedTokens | None = None,  # the token of a PostgreSQL ledger's processes
    ) -> None:
        if settings.application_id is None:
            raise ConfigError(
                "settings",
                "norce.application_id",
                "required to read from Norce Query (the applicationId header and filter)",
            )
        self.application_id = settings.application_id
        self._owns_connect = connect is None
        self._connect = connect or NorceClient(
            settings, transport=transport, sleep=sleep, clock=clock, shared=shared
        )
        self._root = f"{self._connect.base_url}/{query_path.strip('/')}"
        self._origin = _origin(self._root)

    def __enter__(self) -> QueryClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool, unless it was lent by a Connect client."""
        if self._owns_connect:
            self._connect.close()

    def url(self, entity_set: str) -> str:
        """The absolute URL of an entity set such as `Orders/Orders`."""
        return f"{self._root}/{entity_set}"

    def pages(
        self,
        entity_set: str,
        *,
        filter: str | None = None,  # the OData option's own name, shadowing the builtin
        expand: str | None = None,
        orderby: str | None = None,
        select: str | None = None,
        top: int = MAX_PAGE_SIZE,
    ) -> Iterator[list[Row]]:
        """Every page of `entity_set` matching the options, in server order."""
        if not 1 <= top <= MAX_PAGE_SIZE:
            raise ValueError(f"top must be 1..{MAX_PAGE_SIZE}, got {top}")
        options = {"$filter": filter, "$expand": expand, "$orderby": orderby, "$select": select}
        first = {k: v for k, v in options.items() if v is not None} | {"$top": str(top)}
        url: str = self.url(entity_set)
        params: dict[str, str] | None = first
        followed: set[str] = set()
        read, previous, page = 0, None, 1
        while True:
            what = f"Query {entity_set} page {page}"
            rows, next_link = _page(what, self._get(what, url, params))
            if params is not None and "$skip" in params and rows and rows == previous:
                raise NorceRejected(f"{what}: the server ignored $skip and repeated a page")
            yield rows
            read, previous, page = read + len(rows), rows, page + 1
            if next_link is not None:
                url, params = self._follow(what, url, next_link, followed), None
            elif len(rows) >= top:
                url, params = self.url(entity_set), first | {"$skip": str(read)}
            else:
                return

    def find_order(self, client_order_ref: str) -> Row | None:
        """The order Norce holds for a ClientOrderRef (its QuotationId, or its OrderNo), or None.

        [I] ClientOrderRef is the basket (quotation) id; Query's OrderNo equals it unless the
        ERP's confirmation overrode it (reference sections 11 and 16). QuotationId is an
        int32, so only a canonical decimal ref is compared with it.
        """
        ref = client_order_ref.strip()
        clauses = [f"OrderNo eq {odata_string(ref)}"]
        if ref.isascii() and ref.isdigit() and str(int(ref)) == ref and int(ref) <= _INT32_MAX:
            clauses.insert(0, f"QuotationId eq {ref}")
        found = self._first_page(
            ORDERS, f"ApplicationId eq {self.application_id} and ({' or '.join(clauses)})"
        )
        by_quotation = [o for o in found if str(o.get("QuotationId")) == ref]
        best = by_quotation or found
        return best[0] if best else None

    def find_invoice(self, invoice_no: str) -> Row | None:
        """The invoice Norce holds under the ERP's invoice number, or None.

        The Invoice entity has no ApplicationId (reference S16), so none is filtered on;
        [I] invoice numbers come from the ERP and are taken to be unique per client.
        """
        found = self._first_page(INVOICES, f"InvoiceNo eq {odata_string(invoice_no.strip())}")
        return found[0] if found else None

    def find_parties(
        self, entity_set: str, name: str, value: str | int, *, expand: str | None = None
    ) -> list[Row]:
        """The customers or companies (CUSTOMERS, COMPANIES) whose `name` equals `value`.

        A list, not one row: a CustomerCode is unique, but an e-mail address or an
        organisation number may be on several records, and whoever asks must see that.
        """
        literal = str(value) if isinstance(value, int) else odata_string(value.strip())
        return next(self.pages(entity_set, filter=f"{name} eq {literal}", expand=expand,
                               top=10), [])  # fmt: skip

    def codes(self, entity_set: str) -> dict[int, str]:
        """Id -> Code for a lookup set such as `Core/Currencies` (ids on orders, codes in files)."""
        table: dict[int, str] = {}
        for rows in self.pages(entity_set, select="Id,Code"):
            for row in rows:
                if isinstance(row.get("Id"), int) and isinstance(row.get("Code"), str):
                    table[row["Id"]] = row["Code"]
        return table

    def _first_page(self, entity_set: str, filter_: str) -> list[Row]:
        # A lookup by key: a handful of rows at most, so one page says it all.
        return next(self.pages(entity_set, filter=filter_, top=10), [])

    def _get(self, what: str, url: str, params: dict[str, str] | None) -> Any:
        headers = {"applicationId": str(self.application_id), "Accept": "application/json"}
        return self._connect.request_json(what, "GET", url, headers=headers, params=params)

    def _follow(self, what: str, current: str, link: str, followed: set[str]) -> str:
        target = urljoin(current, link)
        if _origin(target) != self._origin:
            raise NorceRejected(
                f"{what}: @odata.nextLink points at {urlsplit(target).netloc or target!r}, "
                f"not {urlsplit(self._root).netloc}; not sending the token there"
            )
        if target in followed:
            raise NorceRejected(f"{what}: @odata.nextLink repeats an earlier page; stopping")
        followed.add(target)
        return target


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def _page(what: str, payload: Any) -> tuple[list[Row], str | None]:
    """The rows and the nextLink of one OData answer; NorceRejected for any other shape."""
    rows = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise NorceRejected(f"{what}: the answer has no 'value' array of objects")
    link = payload.get("@odata.nextLink")
    if link is not None and (not isinstance(link, str) or not link):
        raise NorceRejected(f"{what}: @odata.nextLink is not a URL: {link!r}")
    return rows, link
