"""Where the tests find the repository, the shipped contracts and the sample exports."""

from __future__ import annotations

from pathlib import Path

from etl.embedded import SAMPLES, SCHEMAS

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
FIXTURES = TESTS / "fixtures"
# The embedded default, shipped inside the package: the contracts and the sample ERP exports
# `run.py once` runs on (re-exported so that every test names them from here).
__all__ = ["FIXTURES", "REPO", "SAMPLES", "SCHEMAS", "TESTS"]
