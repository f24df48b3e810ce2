"""Problems that last however many runs or orders there are (review of issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings, Settings
from etl.console.problems import Problem
from etl.console.sources import find_problems
from etl.jobs import feed_job, run_jobs
from etl.runtime import Runtime
from etl.to_erp.orders.inbound import open_inbound
from tests.support.masterdata import PRODUCT_ROWS, settings_for, write_cp1252_products
from tests.support.orders import minimal_order

_WRONG_COLUMNS = b"not;the;columns\r\n1;2;3\r\n"


@pytest.fixture
def erp(tmp_path: Path) -> Path:
    return tmp_path / "erp"


@pytest.fixture
def settings(home: Path, erp: Path) -> Settings:
    return settings_for(home, LocalStoreSettings(root=erp))


def _pass(settings: Settings) -> list[Problem]:
    contracts = load_contracts(settings)
    rt = Runtime.open(settings, sleep=lambda s: None)
    try:
        run_jobs(rt, [feed_job(contracts["products"], [contracts["products"]])])
    finally:
        rt.close()
    return _problems(settings)


def _problems(settings: Settings) -> list[Problem]:
    rt = Runtime.open(settings, sleep=lambda s: None)
    try:
        return find_problems(rt, load_contracts(settings), rt.clock())
    finally:
        rt.close()


def test_a_rejected_file_stays_a_problem_after_many_failed_runs(
    settings: Settings, erp: Path
) -> None:
    (erp / "products").mkdir(parents=True)
    (erp / "products" / "products_1.csv").write_bytes(_WRONG_COLUMNS)
    [rejected] = _pass(settings)
    rt = Runtime.open(settings)
    try:  # sixty listings that failed since (the folder was gone), as the ledger keeps them
        for n in range(60):
            run_id = f"29991231T0000{n:02d}000-products-gone{n}"
            rt.ledger.start_run(run_id, "products", "list", rt.stamp(), None, None)
            rt.ledger.fail_run(run_id, rt.stamp(), "failed", "the folder does not exist")
    finally:
        rt.close()
    rt = Runtime.open(settings)
    try:
        assert len(rt.ledger.runs("products", 100)) == 61
    finally:
        rt.close()
    assert [p.key for p in _problems(settings) if p.kind == "rejected_file"] == [rejected.key]


def test_a_rejected_file_rejected_again_by_a_newer_file_is_one_problem(
    settings: Settings, erp: Path
) -> None:
    (erp / "products").mkdir(parents=True)
    (erp / "products" / "products_1.csv").write_bytes(_WRONG_COLUMNS)
    [first] = _pass(settings)
    (erp / "products" / "products_2.csv").write_bytes(_WRONG_COLUMNS + b"4;5;6\r\n")
    [second] = _pass(settings)
    assert second.key == first.key == "rejected:products"  # the same problem goes on
    assert second.subject == "feed products, file products_2.csv"  # it names the latest file
    assert second.command is not None and second.command != first.command

    write_cp1252_products(erp / "products" / "products_3.csv", PRODUCT_ROWS)
    assert _pass(settings) == []


def _hold(settings: Settings, refs: list[str]) -> None:
    inbound = open_inbound(settings)
    try:
        for ref in refs:
            body = json.dumps(minimal_order(ref, DoHold=True)).encode()
            assert inbound.accept(body, "application/json", "push").status == 200
    finally:
        inbound.book.close()


def test_held_orders_are_one_problem_per_reason(settings: Settings) -> None:
    _hold(settings, ["3001"])
    [one] = _problems(settings)
    assert (one.kind, one.subject, one.command) == (
        "order_held",
        "order 3001",
        "run.py release 3001",
    )
    _hold(settings, ["3002"])  # held for the same reason (DoHold): it joins the problem
    [two] = _problems(settings)
    assert two.key == one.key and two.subject == "2 orders"


def test_many_held_orders_for_one_reason_are_one_problem_with_the_same_key(
    settings: Settings,
) -> None:
    _hold(settings, ["2999"])
    [first] = _problems(settings)
    _hold(settings, [str(3000 + n) for n in range(12)])
    [problem] = _problems(settings)
    assert (problem.key, problem.kind) == (first.key, "order_held")
    assert problem.key.startswith("order-held:") and len(problem.key) == len("order-held:") + 16
    assert problem.subject == "13 orders" and "DoHold" in problem.what
    assert "2999, 3000" in problem.what and problem.what.endswith("and 3 more")
    assert problem.since == first.since  # the oldest
    assert problem.command is not None and "release" in problem.command
