"""Fixtures for the reader tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """Where readers may put their temporary UTF-8 copies."""
    return tmp_path / "scratch"
