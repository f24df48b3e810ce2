"""`run.py orders`, `release`, `resend` and the orders part of `status`, on a real ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl.cli import main
from etl.config.settings import load_settings
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import open_inbound
from tests.support.orders import minimal_order


@pytest.fixture
def config(home: Path) -> Path:
    path = home / "etl.toml"
    path.write_text('home = "."\nschemas_dir = "schemas"\n', encoding="utf-8")
    settings = load_settings(path, {})
    inbound = open_inbound(settings)
    try:
        for body in (minimal_order("1001"), minimal_order("1002", DoHold=True)):
            answer = inbound.accept(json.dumps(body).encode(), "application/json", "push")
            assert answer.status == 200
    finally:
        inbound.book.close()
    return path


def test_orders_lists_each_order_with_its_state_and_reason(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "orders"]) == 0
    out = capsys.readouterr().out
    assert "1001" in out and "spooled" in out
    assert "1002" in out and "held" in out and "DoHold" in out
    assert main(["--config", str(config), "orders", "--state", "held"]) == 0
    assert "1001" not in capsys.readouterr().out


def test_status_counts_orders_and_names_the_held_ones(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "status"]) == 1  # the held order needs a person
    out = capsys.readouterr().out
    assert out.startswith("1 problem needs a person\n- order held: order 1002 (since ")
    assert "Orders: held 1, spooled 1" in out
    assert "run.py release ORDER" in out and "1002" in out


def test_release_and_resend_change_the_book(
    config: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "release", "1002"]) == 0
    assert main(["--config", str(config), "release", "1002"]) == 1  # not held any more
    assert main(["--config", str(config), "resend", "1001"]) == 0
    assert main(["--config", str(config), "resend", "nope"]) == 1
    book = OrderBook(home / "state" / "ledger.sqlite")
    try:
        first, second = book.orders()
        assert (first.ref, first.generation) == ("1001", 2)
        assert (second.ref, second.state) == ("1002", "spooled")
    finally:
        book.close()
