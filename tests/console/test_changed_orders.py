"""An order received again with other content is kept for review: that needs a person until
a resend of it is exported (review of issue 17)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings
from etl.console.problems import Problem
from etl.console.sources import find_problems
from etl.runtime import Runtime
from etl.state.spool import Spool
from etl.to_erp.files.export import export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.transport.local import LocalStore
from tests.fixtures.orders import settings_at
from tests.support.desk import T0, Desk
from tests.support.orders import minimal_order


@pytest.fixture
def desk(home: Path) -> Desk:
    return Desk(home)


def _problems(desk: Desk) -> list[Problem]:
    rt = Runtime.open(desk.settings, sleep=lambda s: None)
    try:
        return find_problems(rt, load_contracts(desk.settings), rt.clock())
    finally:
        rt.close()


def _changed(ref: str) -> dict[str, Any]:
    body = minimal_order(ref)
    body["Items"][0]["Quantity"] = 5
    return body


def _export(desk: Desk, at: dt.datetime) -> None:
    settings = settings_at(desk.settings.home)
    layout = load_layouts(settings)["erp_csv"]
    book = desk.book()
    try:
        store = LocalStore("erp", LocalStoreSettings(root=settings.home / "erp"))
        spool = Spool(settings.folder("state") / "spool" / "orders")
        export_orders(settings, book, spool, store, layout, lambda: at)
    finally:
        book.close()


def test_an_order_changed_in_norce_needs_a_person_until_a_resend_is_exported(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    desk.take(minimal_order("2001"))
    _export(desk, T0 + dt.timedelta(minutes=5))
    assert _problems(desk) == []
    desk.take(_changed("2001"))

    [problem] = _problems(desk)
    assert (problem.kind, problem.subject) == ("order_changed", "order 2001")
    assert problem.key.startswith("order-changed:2001:")
    assert problem.what.startswith("received again with different content")
    assert problem.command is not None and "run.py resend 2001 --variant " in problem.command
    variant = problem.command.split("--variant ")[1].split()[0]
    code, shown = desk.run(capsys, "status")
    assert code == 1 and shown.startswith("1 problem needs a person\n- order changed: order 2001")
    _export(desk, T0 + dt.timedelta(minutes=10))
    assert _problems(desk) == [problem]  # an export with no resend settles nothing

    assert desk.run(capsys, "resend", "2001", "--variant", variant)[0] == 0
    assert _problems(desk) == [problem]  # resent, not yet exported
    _export(desk, T0 + dt.timedelta(minutes=20))
    assert _problems(desk) == []


def test_many_changed_orders_are_one_problem_each(desk: Desk) -> None:
    refs = [str(2100 + n) for n in range(12)]
    desk.take(*(minimal_order(r) for r in refs), *(_changed(r) for r in refs))
    problems = _problems(desk)
    assert sorted(p.subject for p in problems) == [f"order {r}" for r in refs]
    assert {p.kind for p in problems} == {"order_changed"}
    assert all(p.key.startswith("order-changed:") for p in problems)  # no count in a key
