"""Fixtures: the seeded home (tests.support.retention_seeding), built once, copied for each test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.config.settings import Settings
from tests.support.retention_people import VALUES, where_she_rests
from tests.support.retention_seeding import configure, seed


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("seeded")
    seed(root)
    assert set(where_she_rests(root / "home")) == set(VALUES)  # everywhere to begin with
    return root


@pytest.fixture
def seeded(template: Path, tmp_path: Path) -> Settings:
    """A copy of the seeded home (file times kept: outbox files are aged by them)."""
    root = tmp_path / "copy"
    shutil.copytree(template, root, symlinks=True)
    return configure(root)
