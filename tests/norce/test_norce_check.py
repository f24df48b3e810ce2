"""`run.py norce-check` against the stand-in over loopback: what it reads, says and never writes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from etl.cli import main
from etl.config.contract_files import load_contracts
from etl.config.settings import NorceSettings, Settings
from etl.norce.check import ORDER_EXPAND, PRODUCTS, CheckReport, check_tenant
from etl.to_erp.orders.poll import EXPAND
from tests.support.norce.answers import Answer
from tests.support.norce.app import NorceStandin
from tests.support.norce.query import QUERY_PATH, QueryStandin, query_order
from tests.support.paths import SCHEMAS

APP = 1042


class Catalogue:
    """Query's Products/Products for the stand-in (it serves orders and parties only).

    [I] Only `Id` is read; the names a real tenant returns are what the check prints.
    """

    def __init__(self, norce: NorceStandin, rows: list[dict[str, Any]]) -> None:
        self.norce, self.rows = norce, rows
        self.requests: list[tuple[str, str]] = []  # (verb, path) of every request after a token
        norce.extensions.insert(0, self.handle)

    def handle(
        self,
        verb: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer | None:
        self.requests.append((verb, path))
        if path != f"{QUERY_PATH}/{PRODUCTS}":
            return None
        if not self.norce.authorized(headers) or "applicationid" not in headers:
            return Answer(401, {"Message": "missing or invalid bearer token"})
        return Answer(200, {"value": self.rows[: int(query.get("$top", "500"))]})


@pytest.fixture
def catalogue(norce: NorceStandin) -> Catalogue:
    """One product in Query."""
    return Catalogue(norce, [{"Id": 17}])


@pytest.fixture
def tenant(norce: NorceStandin, catalogue: Catalogue) -> Iterator[NorceStandin]:
    """A tenant with one product, one order and one customer."""
    store = QueryStandin(norce, application_id=APP)
    store.add_order(query_order(1001, updated="2026-11-20T08:00:00Z", application_id=APP))
    norce.add_customer(first_name="Eva", last_name="E", email="eva@example.com", code="C-1")
    yield norce


def _settings(norce: NorceStandin, **overrides: Any) -> Settings:
    values = {"application_id": APP, "account_id": 4711, **overrides}
    return Settings(schemas_dir=SCHEMAS, norce=norce.settings(**values))


def _check(settings: Settings) -> CheckReport:
    return check_tenant(settings, load_contracts(settings), sleep=lambda s: None)


def _levels(report: CheckReport) -> dict[str, str]:
    return {f.step: f.level for f in report.findings if f.step != "settings"}


def test_a_ready_tenant_reads_one_of_each_and_writes_nothing(
    tenant: NorceStandin, catalogue: Catalogue
) -> None:
    report = _check(_settings(tenant))

    assert _levels(report) == {"token": "ok", "product": "ok", "order": "ok", "customer": "ok"}
    assert not report.failed
    text = "\n".join(report.lines())
    assert "Products/Products Id 17" in text
    assert "Orders/Orders Id 501001" in text and "Buyer: " in text and "Items: " in text
    assert "Customers/Customers Id 10001" in text
    # Names only: no customer's values reach the report.
    assert "eva@example.com" not in text and "Eva" not in text
    assert tenant.calls == [] and tenant.token_requests == 1
    assert {verb for verb, _ in catalogue.requests} == {"GET"}


def test_the_check_reads_orders_as_the_poller_does() -> None:
    assert ORDER_EXPAND == EXPAND


def test_a_wrong_secret_fails_at_the_token_and_tries_nothing_else(tenant: NorceStandin) -> None:
    settings = _settings(tenant, client_secret=SecretStr("not-the-secret"))

    report = _check(settings)

    assert report.failed
    assert _levels(report) == {
        "token": "FAIL",
        "product": "FAIL",
        "order": "FAIL",
        "customer": "FAIL",
    }
    token = next(f for f in report.findings if f.step == "token")
    assert "HTTP 401" in token.text and "not-the-secret" not in "\n".join(report.lines())
    assert [f.text for f in report.findings if f.step == "order"] == ["not tried: no token"]
    assert tenant.hits() == tenant.token_requests == 1


def test_a_tenant_with_no_products_is_a_warning_not_a_failure(norce: NorceStandin) -> None:
    Catalogue(norce, [])
    QueryStandin(norce, application_id=APP)

    report = _check(_settings(norce))

    assert _levels(report) == {
        "token": "ok",
        "product": "warn",
        "order": "warn",
        "customer": "warn",
    }
    assert not report.failed
    assert "warn product: Products/Products answered, but holds none" in report.lines()


def test_missing_settings_are_named_and_nothing_is_contacted() -> None:
    settings = Settings(schemas_dir=SCHEMAS, norce=NorceSettings())

    report = check_tenant(settings, load_contracts(settings))

    assert report.failed
    lines = report.lines()
    assert "FAIL settings: missing norce.base_url" in lines
    assert "FAIL settings: missing norce.application_id" in lines
    assert any("norce.mode is 'file'" in line for line in lines)
    assert any("norce.account_id is the default 1" in line for line in lines)
    assert any("feed customers: no options.application_key" in line for line in lines)
    assert lines[-1] == "FAIL token: not tried: settings missing"


def test_run_py_norce_check_prints_the_report_and_exits_by_it(
    tenant: NorceStandin,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "etl.toml"
    config.write_text(
        f'schemas_dir = "{SCHEMAS}"\n\n[norce]\nmode = "http"\n'
        f'base_url = "{tenant.base_url}"\nclient_id = "{tenant.client_id}"\n'
        f'client_secret_env = "NORCE_SECRET"\nscope = "{tenant.scope}"\n'
        f"application_id = {APP}\naccount_id = 4711\nbackoff_seconds = 0\n"
        # http mode needs the ERP's own store: the shipped samples never go to a tenant.
        f'\n[stores.erp]\nkind = "local"\nroot = "{tmp_path}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("NORCE_SECRET", tenant.client_secret)

    assert main(["--config", str(config), "norce-check"]) == 0
    out = capsys.readouterr().out
    assert "ok   token: fetched" in out and "ok   customer: Customers/Customers" in out

    monkeypatch.setenv("NORCE_SECRET", "wrong")
    assert main(["--config", str(config), "norce-check"]) == 1
    assert "FAIL token:" in capsys.readouterr().out
