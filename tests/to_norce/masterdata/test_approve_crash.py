"""An approval that dies after the deactivations went out is finished by the feed's next run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest

from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings
from etl.entities.calls import CallResult, NorceCall
from etl.norce.file_delivery import FileDelivery
from etl.runtime import Runtime
from etl.to_norce.masterdata.approve import approve
from tests.support.masterdata import run_once, settings_for, write_cp1252_products


class DiesAfterDelivery(FileDelivery):
    """Delivers like file mode, then the process 'dies' before anything else happens."""

    def deliver(self, calls: Sequence[NorceCall], batch: str) -> list[CallResult]:
        super().deliver(calls, batch)
        raise KeyboardInterrupt("killed after delivery")


def test_interrupted_approval_is_finished_before_new_files(home: Path, tmp_path: Path) -> None:
    erp = tmp_path / "drop"
    (erp / "products").mkdir(parents=True)
    settings = settings_for(home, LocalStoreSettings(root=erp))
    rows = [f"2{i:05d};ACME;Acme AB;X-{i};X-{i};Artikel {i};;GLOVES;;25;1,0" for i in range(30)]
    write_cp1252_products(erp / "products" / "products_1.csv", rows)
    run_once(settings, "products")
    write_cp1252_products(erp / "products" / "products_2.csv", rows[:5])
    [held] = run_once(settings, "products")
    assert held.counts["held"] == 25 and held.run_id

    contracts = load_contracts(settings)
    rt = Runtime.open(settings)
    rt.delivery = DiesAfterDelivery(settings.folder("outbox"), settings.norce)
    with pytest.raises(KeyboardInterrupt):
        approve(rt, contracts, held.run_id)
    assert rt.ledger.hold(held.run_id)["state"] == "approving"  # type: ignore[index]
    rt.close()

    changed = [rows[0].replace("Artikel 0;", "Artikel noll;"), *rows[1:5]]
    write_cp1252_products(erp / "products" / "products_3.csv", changed)
    [third] = run_once(settings, "products")
    assert third.outcome == "committed", third
    assert (third.counts["changes"], third.counts["removals"], third.counts["held"]) == (1, 0, 0)

    rt = Runtime.open(settings)
    try:
        assert rt.ledger.hold(held.run_id)["state"] == "approved"  # type: ignore[index]
        current = rt.ledger.current_snapshot("products")
        assert current is not None
        snapshot = rt.snapshots.read(current[0], contracts["products"].entity.fields())
    finally:
        rt.close()
    assert snapshot.group_by("_state").len().sort("_state").rows() == [
        ("active", 5),
        ("inactive", 25),
    ]
    assert snapshot.filter(pl.col("_state") == "held").height == 0
