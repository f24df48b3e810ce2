"""The ERP's server starts empty: only the proof's own files, no samples (other people)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def erp_root(tmp_path: Path) -> Path:
    """An empty drop folder for the SFTP server."""
    root = tmp_path / "erp"
    root.mkdir()
    return root
