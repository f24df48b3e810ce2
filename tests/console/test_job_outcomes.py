"""The job_outcomes table: a failing streak keeps its start, an ok ending clears it."""

from __future__ import annotations

from pathlib import Path

from etl.state.ledger.job_outcomes import JobOutcome, JobOutcomes


def test_a_streak_of_failures_keeps_its_start_and_an_ok_ends_it(tmp_path: Path) -> None:
    outcomes = JobOutcomes(tmp_path / "ledger.sqlite")
    try:
        outcomes.record("orders<-norce", "ok", "ignored when ok", "2026-12-01T00:00:00+00:00")
        outcomes.record("orders<-norce", "failed", "token refused", "2026-12-01T00:05:00+00:00")
        outcomes.record("orders<-norce", "failed", "timeout", "2026-12-01T00:10:00+00:00")
        assert outcomes.latest() == [
            JobOutcome(
                "orders<-norce",
                "failed",
                "timeout",
                "2026-12-01T00:10:00+00:00",
                "2026-12-01T00:05:00+00:00",
                "2026-12-01T00:00:00+00:00",
            )
        ]
        outcomes.record("orders<-norce", "ok", "", "2026-12-01T00:15:00+00:00")
        [back] = outcomes.latest()
        assert (back.outcome, back.message, back.failing_since, back.last_ok) == (
            "ok",
            "",
            None,
            "2026-12-01T00:15:00+00:00",
        )
    finally:
        outcomes.close()
