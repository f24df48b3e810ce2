"""A Rust panic in Polars (pyo3's PanicException, a BaseException) ends a run or a job as
failed with its message; it never passes every `except Exception` and ends the process."""

from __future__ import annotations

import threading
from pathlib import Path

import polars as pl
import pytest

from etl.config.contract_files import load_contracts
from etl.config.contracts import FeedContract
from etl.config.schedule import ScheduleSpec
from etl.config.settings import LocalStoreSettings
from etl.errors import Panicked
from etl.jobs import Job, JobReport, run_recorded
from etl.runtime import Runtime
from etl.state.ledger.job_outcomes import FAILED, JobOutcomes
from etl.to_norce.feed import take_files
from etl.to_norce.intake import Fetched
from etl.to_norce.records import FileOutcome
from etl.to_norce.run import derived_stage
from tests.support.masterdata import settings_for, write_cp1252_products

PANIC = "lhs and rhs must have the same length"


def _panic() -> None:
    """A real panic of Polars: a boolean `or` of series of different lengths."""
    _ = pl.repeat(False, 2, eager=True) | pl.Series([True, False, True])


def _panicking_ingest(rt: Runtime, c: FeedContract, f: Fetched, run_id: str) -> FileOutcome:
    _panic()
    raise AssertionError("Polars did not panic")


def _runtime(home: Path, tmp_path: Path) -> Runtime:
    erp = tmp_path / "drop"
    (erp / "products").mkdir(parents=True)
    write_cp1252_products(
        erp / "products" / "products_1.csv",
        ["100123;ACME;Acme AB;AG-1;AG-1;Handske;;GLOVES;;25;0,12"],
    )
    return Runtime.open(settings_for(home, LocalStoreSettings(root=erp)), sleep=lambda s: None)


def test_a_panic_in_a_feed_run_is_a_failed_run_with_its_message(home: Path, tmp_path: Path) -> None:
    rt = _runtime(home, tmp_path)
    try:
        contract = load_contracts(rt.settings)["products"]
        [outcome] = take_files(rt, contract, None, _panicking_ingest, derived_stage)
        [run] = rt.ledger.runs("products")
    finally:
        rt.close()
    assert outcome.outcome == "failed"
    assert PANIC in (outcome.message or "")
    assert (run.outcome, run.run_id) == ("failed", outcome.run_id)
    assert PANIC in (run.message or "")


def test_a_panic_in_a_job_is_recorded_and_raised_as_an_exception(
    home: Path, tmp_path: Path
) -> None:
    def run(rt: Runtime, stop: threading.Event | None) -> JobReport:
        _panic()
        return JobReport(())

    rt = _runtime(home, tmp_path)
    try:
        with pytest.raises(Panicked, match=PANIC):  # an Exception: the scheduler's handler stops it
            run_recorded(rt, Job("sums", ScheduleSpec(interval_minutes=1), run), None)
        outcomes = JobOutcomes(rt.ledger.at)
        try:
            ended = outcomes.of("sums")
        finally:
            outcomes.close()
    finally:
        rt.close()
    assert ended is not None and ended.outcome == FAILED
    assert PANIC in ended.message
