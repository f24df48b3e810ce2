"""`run.py norce-check`: look at the configured tenant before go-live, without writing anything.

It fetches a token, then reads one product, one order and one customer through Query (GET
only: nothing is imported, no Order service is called) and says, step by step, what it found
and what is missing in the settings. For each record read it prints the property names Norce
returned (never their values: a customer is personal data), so the names the integration
reads can be compared with the tenant's own; see the go-live checklist in docs/settings.md.

A step is `ok`, `warn` (something to look at, such as an empty catalogue) or `FAIL`; the
command exits 1 when any step failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.errors import NorceError
from etl.norce.client import NorceClient
from etl.norce.query import CUSTOMERS, ORDERS, QueryClient

if TYPE_CHECKING:
    import httpx  # annotations only: see etl.norce.client

PRODUCTS = "Products/Products"  # [I] Query's Products namespace (docs show it for 3.0)
ORDER_EXPAND = "Items,Buyer,Payer,ShipTo,Infos"  # as etl.to_erp.orders.poll reads orders
DEFAULT_ACCOUNT_ID = 1
_TOKEN_CALL = "token request"  # noqa: S105 (how NorceClient names the token call in errors)

Level = Literal["ok", "warn", "FAIL"]


@dataclass(frozen=True)
class Finding:
    """One step of the check and what it came to."""

    step: str
    level: Level
    text: str

    def line(self) -> str:
        """The finding as one printed line."""
        return f"{self.level:<4} {self.step}: {self.text}"


@dataclass(frozen=True)
class CheckReport:
    """Every finding, in the order the steps ran."""

    findings: tuple[Finding, ...]

    @property
    def failed(self) -> bool:
        """Whether any step failed."""
        return any(f.level == "FAIL" for f in self.findings)

    def lines(self) -> list[str]:
        """The report as printed lines."""
        return [f.line() for f in self.findings]


def settings_findings(settings: Settings, contracts: Mapping[str, FeedContract]) -> list[Finding]:
    """What the settings and the party contracts still lack for a live tenant."""
    norce = settings.norce
    missing = [
        key
        for key, value in (
            ("norce.base_url", norce.base_url),
            ("norce.client_id", norce.client_id),
            ("norce.client_secret (client_secret_env or client_secret_file)", norce.client_secret),
            ("norce.application_id", norce.application_id),
        )
        if not value
    ]
    found = [Finding("settings", "FAIL", f"missing {key}") for key in missing]
    if norce.mode != "http":
        text = f"norce.mode is {norce.mode!r}: runs write requests to outbox/, nothing is sent"
        found.append(Finding("settings", "warn", text))
    if norce.account_id == DEFAULT_ACCOUNT_ID:
        text = "norce.account_id is the default 1: set the integration's system account"
        found.append(Finding("settings", "warn", text))
    for contract in contracts.values():
        if contract.entity.name in ("customer", "company") and not contract.options.get(
            "application_key"
        ):
            text = (
                f"feed {contract.name}: no options.application_key; right only if "
                "customers and companies are client-unique (see the go-live checklist)"
            )
            found.append(Finding("settings", "warn", text))
    if not found:
        found.append(Finding("settings", "ok", f"tenant {norce.base_url}, scope {norce.scope}"))
    return found


def check_tenant(
    settings: Settings,
    contracts: Mapping[str, FeedContract],
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> CheckReport:
    """Run every step against the configured tenant; reads only."""
    found = settings_findings(settings, contracts)
    if any(f.level == "FAIL" for f in found):
        return CheckReport((*found, Finding("token", "FAIL", "not tried: settings missing")))
    with NorceClient(settings.norce, transport=transport, sleep=sleep) as client:
        query = QueryClient(settings.norce, settings.orders.query_path, connect=client)
        found += _reads(query)
    return CheckReport(tuple(found))


def _reads(query: QueryClient) -> list[Finding]:
    app = query.application_id
    steps: list[tuple[str, str, str | None, str | None]] = [
        ("product", PRODUCTS, None, None),
        ("order", ORDERS, f"ApplicationId eq {app}", ORDER_EXPAND),
        ("customer", CUSTOMERS, None, None),
    ]
    found: list[Finding] = []
    for n, (step, entity_set, filter_, expand) in enumerate(steps):
        try:
            rows = next(query.pages(entity_set, filter=filter_, expand=expand, top=1), [])
        except NorceError as exc:
            if _TOKEN_CALL in str(exc):
                untried = [Finding(s, "FAIL", "not tried: no token") for s, *_ in steps[n:]]
                return [*found, Finding("token", "FAIL", str(exc)), *untried]
            found.append(Finding(step, "FAIL", f"cannot read {entity_set}: {exc}"))
            continue
        found.append(_described(step, entity_set, rows))
    # Every answer but a refused token request means the token was fetched.
    return [Finding("token", "ok", "fetched"), *found]


def _described(step: str, entity_set: str, rows: list[dict[str, Any]]) -> Finding:
    if not rows:
        return Finding(step, "warn", f"{entity_set} answered, but holds none")
    row = rows[0]
    parts = [f"{entity_set} Id {row.get('Id')!r}; names: {_names(row)}"]
    for name, value in sorted(row.items()):
        inner = value[0] if isinstance(value, list) and value else value
        if isinstance(inner, Mapping):
            parts.append(f"{name}: {_names(inner)}")
    return Finding(step, "ok", "; ".join(parts))


def _names(row: Mapping[str, Any]) -> str:
    return ", ".join(sorted(str(k) for k in _scalars(row))) or "(none)"


def _scalars(row: Mapping[str, Any]) -> Iterable[str]:
    return (k for k, v in row.items() if not isinstance(v, Mapping | list))
