"""A generated export with known truth, read by products, prices and stock from one file.

For every feed the adds and changes equal the generator's truth exactly; the removals are
held (the file has rows with an empty SKU) and equal the truly removed SKUs; after
`approve` exactly those are deactivated in Norce, once; no rejected key is a change or a
removal. bench/truth.py runs the same check at 200,000 rows.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from bench.truth_exports import DIALECTS, FEEDS, Exports, Truth, contracts, generate, write
from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings, Settings
from etl.errors import EtlError
from etl.runtime import Runtime
from etl.to_norce.masterdata.approve import approve
from tests.support.masterdata import run_once, settings_for
from tests.support.norce.app import NorceStandin

ROWS = 1500


def decisions(home: Path, feed: str, run_id: str) -> dict[str, set[str]]:
    """SKUs per action in a run's delta.parquet."""
    [path] = list((home / "archive" / feed).glob(f"*/{run_id}/delta.parquet"))
    trail = pl.read_parquet(path).with_columns(pl.col("key").str.split(" / ").list.first())
    return {
        action: set(trail.filter(pl.col("action") == action)["key"])
        for action in ("add", "change", "reactivate", "remove", "held", "spared")
    }


def rejected_skus(home: Path, feed: str, run_id: str) -> set[str]:
    """SKUs named by the run's rejected-row report (CSV), empty SKUs left out."""
    [report] = list((home / "archive" / feed).glob(f"*/{run_id}/*.rejected.csv"))
    rows = pl.read_csv(report, infer_schema=False)
    column = next(c for c in rows.columns if c.startswith("Key"))  # "Key (part_no, ...)"
    keys = rows.filter(pl.col(column).is_not_null())[column].str.split(" / ").list.first()
    return {k for k in keys.to_list() if k}


def check_against_truth(home: Path, feed: str, run_id: str, truth: Truth) -> None:
    """The run did exactly what the truth says, and the removals wait for approval."""
    got = decisions(home, feed, run_id)
    assert got["add"] == truth.adds
    assert got["change"] == truth.changes
    assert got["held"] == truth.removed and not got["remove"]
    assert not got["reactivate"]
    assert rejected_skus(home, feed, run_id) == truth.rejected
    assert not truth.rejected & (got["change"] | got["remove"] | got["held"])


@pytest.fixture
def exports() -> Exports:
    return generate(ROWS)


def home_for(home: Path, dialect: str) -> None:
    for contract in (home / "schemas").glob("*.toml"):
        contract.unlink()
    for name, text in contracts(DIALECTS[dialect]).items():
        (home / "schemas" / f"{name}.toml").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_every_feed_does_exactly_what_the_truth_says(
    home: Path, tmp_path: Path, norce: NorceStandin, exports: Exports, dialect: str
) -> None:
    home_for(home, dialect)
    drop = tmp_path / "drop"
    (drop / "flat").mkdir(parents=True)
    settings = settings_for(home, LocalStoreSettings(root=drop), norce.settings())
    write(drop / "flat" / "flat_1.csv", exports.first, DIALECTS[dialect])
    first = run_once(settings, "products")
    assert [o.outcome for o in first] == ["committed"] * 3

    write(drop / "flat" / "flat_2.csv", exports.second, DIALECTS[dialect])
    second = {o.feed: o for o in run_once(settings, "products")}

    assert [second[f].outcome for f in FEEDS] == ["committed"] * 3
    for feed in FEEDS:
        check_against_truth(home, feed, second[feed].run_id or "", exports.truth[feed])
        assert "no readable key" in second[feed].message or "several" in second[feed].message

    calls_before = len(norce.calls)
    approvals = approve_all(settings, [second[f].run_id or "" for f in FEEDS])
    for feed, run_id in zip(FEEDS, approvals, strict=True):
        got = decisions(home, feed, run_id)
        assert got["remove"] == exports.truth[feed].removed
    deactivated = _deactivations(norce, calls_before)
    assert deactivated == {f: sorted(exports.truth[f].removed) for f in FEEDS}
    with pytest.raises(EtlError, match="approved"):
        approve_all(settings, [second["products"].run_id or ""])


def approve_all(settings: Settings, runs: list[str]) -> list[str]:
    rt = Runtime.open(settings)
    try:
        contracts_ = load_contracts(settings)
        return [approve(rt, contracts_, run) for run in runs]
    finally:
        rt.close()


def _deactivations(norce: NorceStandin, since: int) -> dict[str, list[str]]:
    """SKUs switched off per feed by the calls after `since`, one entry per time sent."""
    out: dict[str, list[str]] = {f: [] for f in FEEDS}
    for call in norce.calls[since:]:
        for item in call.items:
            if call.method == "Product/ImportProducts":
                skus = [s for v in item["Variants"] for s in v["Skus"] if s.get("Status") == 5]
                out["products"] += [s["PartNo"] for s in skus]
            elif item.get("IsActive") is False:
                feed = "prices" if call.method == "Product/ImportSkuPriceLists" else "stock"
                out[feed].append(item["PartNo"])
    return {f: sorted(v) for f, v in out.items()}


def test_the_truth_is_what_the_generator_says_it_is(exports: Exports) -> None:
    """The generator's own bookkeeping: the check above is only as good as this."""
    first = {r["sku"] for r in exports.first}
    second = {r["sku"] for r in exports.second}
    for feed in FEEDS:
        truth = exports.truth[feed]
        assert truth.adds == second - first - {""}
        assert truth.removed == first - second
        assert not truth.changes & truth.rejected
    assert exports.unkeyed == sum(1 for r in exports.second if not r["sku"]) >= 1
    assert exports.truth["prices"].rejected and exports.truth["products"].rejected
    before = {r["sku"]: r for r in exports.first}
    after = {r["sku"]: r for r in exports.second if r["sku"]}
    fields = {"products": "name", "prices": "price", "stock": "onhand"}
    for feed, field in fields.items():
        moved = {s for s in first & second if before[s][field] != after[s][field]}
        assert moved == exports.truth[feed].changes | (
            exports.truth[feed].rejected if feed == "prices" else set()
        )
