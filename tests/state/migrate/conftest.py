"""Fixtures of the migrate-state tests: one VM home per test process.

PostgreSQL and S3 come from tests/support/scale_fixtures.py.

The VM home is made once per test process by really running the product (several seconds); each
test moves a copy of it, so no test sees another's state.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.vm_home import make_vm_home, twin_of


@pytest.fixture(scope="session")
def vm_home_made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A VM home after its life (made once per test process; never moved itself)."""
    return make_vm_home(tmp_path_factory.mktemp("vm") / "home")


@pytest.fixture
def vm_home(vm_home_made: Path, tmp_path: Path) -> Path:
    """This test's copy of the VM home."""
    return twin_of(vm_home_made, tmp_path / "home")
