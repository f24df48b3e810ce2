"""`approve RUN` releases exactly what that hold still holds, once, under the file family's lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings, Settings
from etl.errors import EtlError
from etl.runtime import Runtime
from etl.state.ledger.feed_runs import Commit
from etl.state.locks import feed_lock
from etl.to_norce.masterdata.approve import approve
from tests.support.masterdata import run_once, settings_for, write_cp1252_products
from tests.support.norce.app import NorceStandin

SKUS = [f"4000{i:02d}" for i in range(20)]


def row(sku: str, ean: str = "") -> str:
    return f"{sku};ACME;Acme AB;M-{sku};;Artikel {sku};;GLOVES;{ean};25;1,0"


@pytest.fixture
def erp(tmp_path: Path) -> Path:
    root = tmp_path / "erp-drop"
    (root / "products").mkdir(parents=True)
    return root


@pytest.fixture
def settings(home: Path, erp: Path, norce: NorceStandin) -> Settings:
    # Any two removals are held: the tests are about what approval then releases.
    path = home / "schemas" / "products.toml"
    text = path.read_text(encoding="utf-8").replace("max_removals = 10", "max_removals = 1")
    path.write_text(text.replace("max_removal_ratio = 0.10", "max_removal_ratio = 0.05"))
    return settings_for(home, LocalStoreSettings(root=erp), norce.settings())


def deactivated(norce: NorceStandin) -> list[str]:
    """SKUs sent with the removed status, one entry per time."""
    return sorted(
        sku["PartNo"]
        for call in norce.calls
        if call.method == "Product/ImportProducts"
        for item in call.items
        for variant in item["Variants"]
        for sku in variant["Skus"]
        if sku.get("Status") == 5
    )


def export(erp: Path, n: int, rows: list[str]) -> None:
    write_cp1252_products(erp / "products" / f"products_{n}.csv", rows)


def approve_run(settings: Settings, run_id: str) -> str:
    rt = Runtime.open(settings)
    try:
        return approve(rt, load_contracts(settings), run_id)
    finally:
        rt.close()


def test_approve_leaves_rows_rejected_in_the_latest_file_alone(
    settings: Settings, erp: Path, norce: NorceStandin
) -> None:
    export(erp, 1, [row(s) for s in SKUS])
    run_once(settings, "products")
    # Four SKUs leave the file: held.
    export(erp, 2, [row(s) for s in SKUS[:16]])
    [first_hold] = run_once(settings, "products")
    assert first_hold.counts["held"] == 4
    # Next night: 400016 is back but with a bad EAN (rejected), 400017 is back and valid,
    # 400018 and 400019 are still gone.
    back = [row(SKUS[16], ean="7350000000017"), row(SKUS[17])]
    export(erp, 3, [row(s) for s in SKUS[:16]] + back)
    [second_hold] = run_once(settings, "products")
    assert second_hold.counts["held"] == 2

    with pytest.raises(EtlError, match="superseded"):
        approve_run(settings, first_hold.run_id or "")
    approve_run(settings, second_hold.run_id or "")

    assert deactivated(norce) == ["400018", "400019"]
    assert second_hold.counts["spared"] == 1  # 400016, by its rejected row


def test_a_hold_whose_rows_all_came_back_closes_itself(
    settings: Settings, erp: Path, norce: NorceStandin
) -> None:
    export(erp, 1, [row(s) for s in SKUS])
    run_once(settings, "products")
    export(erp, 2, [row(s) for s in SKUS[:16]])
    [hold] = run_once(settings, "products")
    # All back (one EAN added, so this is not the first night's content again).
    export(erp, 3, [row(s) for s in SKUS[:19]] + [row(SKUS[19], ean="7350000000016")])
    [back] = run_once(settings, "products")
    assert back.outcome == "committed" and back.counts["reactivations"] == 0

    rt = Runtime.open(settings)
    try:
        assert rt.ledger.pending_holds() == []
        assert (rt.ledger.hold(hold.run_id or "") or {})["state"] == "superseded"
    finally:
        rt.close()
    with pytest.raises(EtlError, match="superseded"):
        approve_run(settings, hold.run_id or "")
    assert deactivated(norce) == []


def fake_hold(rt: Runtime, feed: str, state: str = "pending") -> str:
    """A hold of `feed` recorded through the ledger's own commit, as a guarded run leaves it."""
    run_id = rt.new_run_id(feed, "hold")
    rt.ledger.start_run(run_id, feed, "file", rt.stamp(), None, None)
    rt.ledger.commit(
        Commit(run_id, feed, "committed", rt.stamp(), {}, [], "", "held", hold=(1, "held"))
    )
    if state != "pending":
        rt.ledger.set_hold_state(run_id, state, rt.stamp())
    return run_id


def test_approve_of_a_derived_feed_takes_its_file_family_lock(settings: Settings) -> None:
    """companies reads the customers file: approving it while customers runs must wait."""
    rt = Runtime.open(settings)
    try:
        contracts = load_contracts(settings)
        assert contracts["companies"].source.from_feed == "customers"
        hold = fake_hold(rt, "companies")
        with feed_lock(rt.locks, "customers") as taken:
            assert taken
            with pytest.raises(EtlError, match="running right now"):
                approve(rt, contracts, hold)
        assert (rt.ledger.hold(hold) or {})["state"] == "pending"
    finally:
        rt.close()


def test_an_interrupted_approval_of_a_derived_feed_is_finished_by_the_next_run(
    settings: Settings, erp: Path
) -> None:
    (erp / "customers").mkdir()
    rt = Runtime.open(settings)
    try:
        hold = fake_hold(rt, "companies", state="approving")
    finally:
        rt.close()
    run_once(settings, "customers")
    rt = Runtime.open(settings)
    try:
        assert (rt.ledger.hold(hold) or {})["state"] == "approved"
    finally:
        rt.close()
