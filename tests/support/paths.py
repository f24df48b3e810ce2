"""Where the tests find the repository, the shipped contracts and the sample exports."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
FIXTURES = TESTS / "fixtures"
# The embedded default: the contracts and the sample ERP exports `run.py once` runs on.
SCHEMAS = REPO / "schemas"
SAMPLES = REPO / "samples" / "erp"
