"""find_problems: each source from the real ledger and folders, and each gone once resolved."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings, Settings
from etl.console.problems import Problem
from etl.console.sources import find_problems
from etl.jobs import feed_job, run_jobs
from etl.runtime import Runtime
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import open_inbound
from etl.to_norce.masterdata.approve import approve
from tests.support.masterdata import PRODUCT_ROWS, settings_for, write_cp1252_products
from tests.support.orders import minimal_order
from tests.support.paths import SAMPLES


@pytest.fixture
def erp(tmp_path: Path) -> Path:
    return tmp_path / "erp"


@pytest.fixture
def settings(home: Path, erp: Path) -> Settings:
    return settings_for(home, LocalStoreSettings(root=erp))


def _pass(settings: Settings, feed: str = "products") -> list[Problem]:
    """One `once --feed` of the feed (its job outcome recorded), then the problems."""
    contracts = load_contracts(settings)
    rt = Runtime.open(settings, sleep=lambda s: None)
    try:
        run_jobs(rt, [feed_job(contracts[feed], [contracts[feed]])])
    finally:
        rt.close()
    return _problems(settings)


def _problems(settings: Settings) -> list[Problem]:
    rt = Runtime.open(settings, sleep=lambda s: None)
    try:
        return find_problems(rt, load_contracts(settings), rt.clock())
    finally:
        rt.close()


def _gtin(twelve: str) -> str:
    odd, even = sum(map(int, twelve[::2])), sum(map(int, twelve[1::2]))
    return twelve + str((10 - (odd + 3 * even) % 10) % 10)


def _products(n: int) -> list[str]:
    return [
        f"2003{i:02d};ACME;Acme AB;SK-{i}-L;SK-{i};Sak {i};;GLOVES;{_gtin(f'735000001{i:03d}')};25;0,12"
        for i in range(n)
    ]


def test_a_feed_that_cannot_list_its_folder_fails_until_a_run_ends_ok(
    settings: Settings, erp: Path
) -> None:
    erp.mkdir()
    [problem] = _pass(settings)
    assert (problem.key, problem.kind, problem.subject) == (
        "failed:products",
        "failed",
        "feed products",
    )
    assert "does not exist" in problem.what and problem.command == "run.py once --feed products"
    assert _pass(settings)[0].since == problem.since  # the same failure goes on: same start

    (erp / "products").mkdir()  # the folder is back, with nothing in it yet
    assert _pass(settings) == []


def test_a_rejected_file_is_a_problem_until_a_later_file_commits(
    settings: Settings, erp: Path
) -> None:
    (erp / "products").mkdir(parents=True)
    (erp / "products" / "products_1.csv").write_bytes(b"not;the;columns\r\n1;2;3\r\n")
    [problem] = _pass(settings)
    assert (problem.key, problem.kind) == ("rejected:products", "rejected_file")
    assert problem.command is not None and "then run.py replay " in problem.command
    assert problem.subject == "feed products, file products_1.csv"
    assert "the whole file was rejected" in problem.what and "archive" in problem.did

    write_cp1252_products(erp / "products" / "products_2.csv", PRODUCT_ROWS)
    assert _pass(settings) == []


def test_a_file_quarantined_after_two_deaths_is_a_quarantined_problem(
    settings: Settings, erp: Path
) -> None:
    (erp / "products").mkdir(parents=True)
    path = erp / "products" / "products_1.csv"
    write_cp1252_products(path, PRODUCT_ROWS)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    rt = Runtime.open(settings)
    try:  # what two processes that died reading the file left in the ledger
        for n in (1, 2):
            run_id = f"20261101T00000{n}000-products-dead{n}"
            rt.ledger.start_run(
                run_id, "products", "file", rt.stamp(), "products/products_1.csv", sha
            )
            rt.ledger.begin_reading(run_id)
    finally:
        rt.close()
    [problem] = _pass(settings)
    assert problem.kind == "quarantined" and problem.key.startswith("quarantined:")
    assert problem.what.startswith("quarantined: the process died 2 times")


def test_rejected_rows_over_the_contracts_threshold(
    settings: Settings, erp: Path, home: Path
) -> None:
    shutil.copytree(SAMPLES / "products", erp / "products")  # 3 of its 10 rows are rejected
    assert _pass(settings) == []  # the default threshold is 10 rows

    contract = home / "schemas" / "products.toml"
    contract.write_text(
        contract.read_text(encoding="utf-8") + "\n[checks]\nalert_rejected_rows = 2\n",
        encoding="utf-8",
    )
    [problem] = _problems(settings)
    assert problem.kind == "rejected_rows" and problem.key.startswith("rejected-rows:")
    assert problem.what.startswith("3 of 10 rows were rejected") and "(2)" in problem.what


def test_held_removals_are_a_problem_until_approved(settings: Settings, erp: Path) -> None:
    (erp / "products").mkdir(parents=True)
    write_cp1252_products(erp / "products" / "products_1.csv", _products(12))
    first = _pass(settings)
    assert first == [], first[0].what
    write_cp1252_products(erp / "products" / "products_2.csv", _products(1))
    [problem] = _pass(settings)
    run_id = problem.key.removeprefix("held:")
    assert problem.kind == "held_removals" and problem.command == f"run.py approve {run_id}"
    assert problem.what.startswith("11 removals held by the deletion guard")

    rt = Runtime.open(settings, sleep=lambda s: None)
    try:
        approve(rt, load_contracts(settings), run_id)
    finally:
        rt.close()
    assert _problems(settings) == []


def test_a_held_order_and_a_refused_body_until_released(settings: Settings) -> None:
    inbound = open_inbound(settings)
    try:
        body = json.dumps(minimal_order("1002", DoHold=True)).encode()
        assert inbound.accept(body, "application/json", "push").status == 200
        assert inbound.accept(b"{not json", "application/json", "push").status == 400
    finally:
        inbound.book.close()
    held, refused = sorted(_problems(settings), key=lambda p: p.kind)
    assert (held.subject, held.kind, held.command) == (
        "order 1002",
        "order_held",
        "run.py release 1002",
    )
    assert held.key.startswith("order-held:")  # one per hold reason
    assert refused.kind == "order_refused" and refused.command is not None
    name = refused.key.removeprefix("refused-body:")
    assert refused.command == f"run.py retake {name}"
    assert (settings.home / "archive" / "orders" / "rejected" / name).is_file()

    book = OrderBook(settings.home / "state" / "ledger.sqlite")
    try:
        assert book.release("1002", "2026-12-07T00:00:00+00:00")
    finally:
        book.close()
    assert [p.kind for p in _problems(settings)] == ["order_refused"]
