"""`--json` on status, orders and parties: one document, read back with json.loads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from etl.cli import main
from etl.config.settings import load_settings
from etl.to_erp.orders.inbound import open_inbound
from etl.to_erp.parties.book import PartyBook
from tests.support.orders import minimal_order
from tests.support.paths import SCHEMAS


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The shipped contracts and layouts; the ERP's folder has no products folder (it fails)."""
    home = tmp_path / "home"
    shutil.copytree(SCHEMAS, home / "schemas")
    (tmp_path / "erp").mkdir()
    (home / "etl.toml").write_text(
        f'home = "."\nschemas_dir = "schemas"\n[stores.erp]\nkind = "local"\n'
        f'root = "{tmp_path / "erp"}"\n',
        encoding="utf-8",
    )
    inbound = open_inbound(load_settings(home / "etl.toml", {}))
    try:
        for body in (minimal_order("1001"), minimal_order("1002", DoHold=True)):
            assert (
                inbound.accept(json.dumps(body).encode(), "application/json", "push").status == 200
            )
        assert inbound.accept(b"<Order", "application/xml", "push").status == 400
    finally:
        inbound.book.close()
    return home


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(list(argv))
    document = json.loads(capsys.readouterr().out)
    assert document["version"] == 1
    return code, document


def test_status_json_has_the_problems_and_every_table(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--home", str(home), "once", "--feed", "products"]) == 1
    code, status = _json(capsys, "--home", str(home), "status", "--json")

    assert code == 1 and status["needs_a_person"] is True
    kinds = sorted(p["kind"] for p in status["problems"])
    assert kinds == ["failed", "order_held", "order_refused"]
    failed = next(p for p in status["problems"] if p["kind"] == "failed")
    assert failed["key"] == "failed:products" and failed["command"] == "run.py once --feed products"
    assert set(failed) == {"key", "kind", "subject", "what", "did", "command", "since"}
    [run] = [r for r in status["runs"] if r["feed"] == "products"]
    assert (run["outcome"], run["kind"]) == ("failed", "fetch") and "products" in run["message"]
    [job] = status["jobs"]
    assert (job["job"], job["outcome"], job["last_ok"]) == ("products", "failed", None)
    assert status["orders"]["counts"] == {"held": 1, "spooled": 1}
    [held] = status["orders"]["held"]
    assert (held["ref"], held["state"], held["exported_to"]) == ("1002", "held", [])
    [refused] = status["refused_bodies"]
    assert refused["name"].endswith(".xml") and refused["reason"]
    assert status["holds"] == [] and status["documents"]["counts"] == {}


def test_status_json_of_a_quiet_home_says_nothing_needs_a_person(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, status = _json(capsys, "--home", str(tmp_path), "status", "--json")
    assert (code, status["needs_a_person"], status["problems"]) == (0, False, [])
    assert status["orders"] == {"counts": {}, "held": []}


def test_orders_json_lists_orders_and_refused_bodies(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, orders = _json(capsys, "--home", str(home), "orders", "--json")
    assert code == 0
    assert [(o["ref"], o["state"]) for o in orders["orders"]] == [
        ("1002", "held"),
        ("1001", "spooled"),
    ]
    assert "DoHold" in orders["orders"][0]["reason"]
    assert (orders["state"], orders["matching"], orders["total"], orders["refused_count"]) == (
        None,
        2,
        2,
        1,
    )

    _, held = _json(capsys, "--home", str(home), "orders", "--state", "held", "--json")
    assert [o["ref"] for o in held["orders"]] == ["1002"] and held["matching"] == 1

    _, refused = _json(capsys, "--home", str(home), "orders", "--state", "refused", "--json")
    assert refused["matching"] == 1 and refused["refused_bodies"][0]["reason"]


def test_parties_json_says_what_each_layout_made_of_an_event(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = PartyBook(home / "state" / "ledger.sqlite")
    try:
        book.receive(
            "customer", 42, "CustomerUpdated", "a" * 64, "s.json", "push", "2026-12-01T00:00:00Z"
        )
    finally:
        book.close()
    code, parties = _json(capsys, "--home", str(home), "parties", "--json")
    assert code == 0
    [event] = parties["events"]
    assert (event["norce_id"], event["event"], event["kind"]) == (42, "CustomerUpdated", "customer")
    assert event["outcomes"] == [
        {"layout": "erp_customers_csv", "outcome": "pending", "note": None}
    ]


def test_status_of_a_feed_that_does_not_exist_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Found by review: `status --feed nosuch` printed "no runs yet", as if the feed were quiet.
    assert main(["--home", str(tmp_path), "status", "--feed", "nosuch"]) == 2
    assert "no runs yet" not in capsys.readouterr().out
    assert "no feed 'nosuch'; known feeds: buyer_numbers" in caplog.text
