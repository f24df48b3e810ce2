"""A home for the hostile-input runs: feeds on a local `erp` folder, and the etl.toml for it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def home_with_feeds(root: Path, contracts: Mapping[str, str]) -> Path:
    """`root` with `schemas/<feed>.toml` for each contract text and `erp/<feed>/` to drop into."""
    (root / "schemas").mkdir()
    erp = root / "erp"
    for name, text in contracts.items():
        (erp / name).mkdir(parents=True)
        (root / "schemas" / f"{name}.toml").write_text(text, encoding="utf-8")
    (root / "etl.toml").write_text(
        f'home = "."\nschemas_dir = "schemas"\n[stores.erp]\nkind = "local"\nroot = "{erp}"\n',
        encoding="utf-8",
    )
    return root
