"""A home whose path holds glob characters (`/srv/etl[prod]`) reads its snapshots like any other.

Polars expands `[`, `]`, `*` and `?` in a path it is given to read as a glob, so a snapshot
under such a folder was "expanded paths were empty" on the second file of every feed.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from etl.config.settings import LocalStoreSettings
from tests.support.masterdata import (
    PRODUCT_ROWS,
    run_once,
    settings_for,
    write_cp1252_products,
)
from tests.support.paths import REPO


def test_the_second_file_of_a_feed_in_a_home_with_brackets_commits(
    home: Path, tmp_path: Path
) -> None:
    bracketed = tmp_path / "etl[prod] *?" / "home"
    shutil.copytree(home, bracketed)
    erp = tmp_path / "drop"
    (erp / "products").mkdir(parents=True)
    settings = settings_for(bracketed, LocalStoreSettings(root=erp))
    write_cp1252_products(erp / "products" / "products_1.csv", PRODUCT_ROWS)
    [first] = run_once(settings, "products")
    changed = [PRODUCT_ROWS[0].replace("Handske L", "Handske L ny"), *PRODUCT_ROWS[1:]]
    write_cp1252_products(erp / "products" / "products_2.csv", changed)
    [second] = run_once(settings, "products")
    assert (first.outcome, second.outcome) == ("committed", "committed"), second.message
    assert second.counts["changes"] == 1


# The polars readers that expand a path as a glob unless told not to.
# read_ipc always globs (it takes no `glob`): scan_ipc(path, glob=False) instead.
GLOBBING_READERS = {"read_parquet", "scan_parquet", "read_csv", "scan_csv", "scan_ipc", "read_ipc"}


def test_every_polars_read_of_a_path_turns_globbing_off() -> None:
    unguarded = []
    for module in sorted((REPO / "etl").rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in GLOBBING_READERS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "pl"
                and (
                    node.func.attr == "read_ipc" or not any(k.arg == "glob" for k in node.keywords)
                )
            ):
                unguarded.append(f"{module.relative_to(REPO)}:{node.lineno} pl.{node.func.attr}")
    assert unguarded == []
