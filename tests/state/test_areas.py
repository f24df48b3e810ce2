"""The areas under home: every one declared once, none shared, and feed names that would collide refused."""

from __future__ import annotations

import ast
import inspect
import os
import stat
from pathlib import Path

import polars as pl
import pytest

from etl.config.contract_files import load_contracts
from etl.config.settings import NorceSettings, Settings
from etl.errors import ConfigError
from etl.models import STATE
from etl.norce.file_delivery import FileDelivery, NorceOutbox
from etl.norce.order_calls import FileOrderService
from etl.state import areas as areas_module
from etl.state.archive import LocalArchive
from etl.state.areas import (
    FILE_AREAS,
    JOB_NAMES,
    RESERVED_FEED_NAMES,
    ROOTS,
    SPOOL_LOCK,
    Areas,
)
from etl.state.private_files import keep_private
from etl.state.snapshots import SnapshotStore
from tests.support.paths import REPO

FEED = "products"
LAYOUT = "erp_csv"

CONTRACT = """\
[feed]
name = "{name}"
entity = "product"
export = "full"

[source]
store = "erp"
folder = "products"
pattern = "products_*.csv"

[format]
type = "csv"

[columns]
"Artikelnr" = "part_no"
"Varumärke" = "manufacturer_code"
"Tillverkare" = "manufacturer_name"
"Tillv. artnr" = "manufacturer_part_no"
"Produktgrupp" = "product_code"
"Benämning" = "name"
"Beskrivning" = "description"
"Kategori" = "category_code"
"EAN" = "ean"
"Moms %" = "vat_rate"
"Vikt kg" = "weight"
"""


def every_area(areas: Areas) -> dict[str, Path]:
    """Each area the module declares, by name: properties as they are, methods asked for one."""
    arguments = {"feed": FEED, "layout": LAYOUT, "area": "orders"}
    found: dict[str, Path] = {}
    for name, member in inspect.getmembers(Areas):
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            found[name] = getattr(areas, name)
        elif inspect.isfunction(member):
            parameters = list(inspect.signature(member).parameters)[1:]
            found[name] = getattr(areas, name)(*(arguments[p] for p in parameters))
    return found


def test_every_area_is_under_home(tmp_path: Path) -> None:
    found = every_area(Areas(tmp_path))

    assert len(found) >= 20, sorted(found)  # a method missed by `every_area` would hide here
    for name, path in found.items():
        assert path.is_relative_to(tmp_path) and path != tmp_path, name
        assert path.relative_to(tmp_path).parts[0] in ROOTS, name


def test_no_two_areas_are_the_same_folder(tmp_path: Path) -> None:
    found = every_area(Areas(tmp_path))

    by_path: dict[Path, list[str]] = {}
    for name, path in found.items():
        by_path.setdefault(path, []).append(name)
    assert [names for names in by_path.values() if len(names) > 1] == []


def test_the_two_sides_of_the_archive_do_not_meet(tmp_path: Path) -> None:
    areas = Areas(tmp_path)

    for area in FILE_AREAS:
        assert areas.refused(area).parent == areas.archive / area
        assert areas.exported(area, LAYOUT).parents[1] == areas.archive / area
        assert areas.spool(area).name == area
    assert areas.feed_runs(FEED) == areas.archive / FEED
    assert areas.feed_rejected(FEED).parent == areas.feed_runs(FEED)


def test_the_owners_of_each_area_write_where_the_areas_module_says(tmp_path: Path) -> None:
    areas = Areas(tmp_path)
    outbox = NorceOutbox(areas.outbox)

    assert FileDelivery(areas.outbox, NorceSettings()).folder == areas.norce_outbox
    assert FileOrderService(areas.outbox, NorceSettings()).folder == areas.norce_outbox
    assert (outbox.root, outbox.staging) == (areas.norce_outbox, areas.norce_staging)
    staged = LocalArchive(areas.archive).stage(FEED, "2026-11-20", "r1")
    assert staged.parent == areas.feed_runs(FEED) / "2026-11-20"
    staged = LocalArchive(areas.archive).stage(FEED, "2026-11-20", "r2", rejected=True)
    assert staged.parent == areas.feed_rejected(FEED) / "2026-11-20"
    written = SnapshotStore(areas.snapshots).write(FEED, "r1", pl.DataFrame({STATE: ["x"]}))
    assert (areas.snapshots / written).parent == areas.feed_snapshots(FEED)


def test_every_area_is_closed_by_the_start_up_that_makes_home_private(tmp_path: Path) -> None:
    found = every_area(Areas(tmp_path))
    for path in found.values():
        (path.parent if path.suffix else path).mkdir(parents=True, exist_ok=True, mode=0o755)
    for root in ROOTS:
        (tmp_path / root).chmod(0o755)  # as an earlier run under umask 022 left them
    previous = os.umask(0o022)
    try:
        keep_private(tmp_path)
    finally:
        os.umask(previous)

    for name, path in found.items():
        root = tmp_path / path.relative_to(tmp_path).parts[0]
        assert stat.S_IMODE(root.stat().st_mode) == 0o700, name


def test_reserved_names_come_from_the_areas_module() -> None:
    assert set(RESERVED_FEED_NAMES) == {*FILE_AREAS, SPOOL_LOCK, *JOB_NAMES}
    # The one list: no other module spells the file areas out, or the spool purge's lock.
    declared = Path(areas_module.__file__)
    copies = [
        f"{path.relative_to(REPO)}:{node.lineno}"
        for path in sorted((REPO / "etl").rglob("*.py"))
        if path != declared
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _spells_out_an_area(node)
    ]
    assert copies == []


def _spells_out_an_area(node: ast.AST) -> bool:
    """A tuple, list or set naming both file areas, or the spool lock's name as a string."""
    if isinstance(node, ast.Constant):
        return node.value == SPOOL_LOCK
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        names = {e.value for e in node.elts if isinstance(e, ast.Constant)}
        return set(FILE_AREAS) <= names
    return False


def _schemas(tmp_path: Path, name: str) -> Settings:
    folder = tmp_path / "schemas"
    folder.mkdir()
    (folder / "feed.toml").write_text(CONTRACT.format(name=name), encoding="utf-8")
    return Settings(schemas_dir=folder)


def test_an_ordinary_feed_name_loads(tmp_path: Path) -> None:
    assert list(load_contracts(_schemas(tmp_path, FEED))) == [FEED]


@pytest.mark.parametrize("name", sorted(RESERVED_FEED_NAMES))
def test_a_feed_named_as_an_area_is_refused_at_start(tmp_path: Path, name: str) -> None:
    settings = _schemas(tmp_path, name)

    with pytest.raises(ConfigError) as caught:
        load_contracts(settings)

    assert caught.value.source == str(settings.schemas_dir / "feed.toml")
    assert caught.value.key == "feed.name"
    assert f"{name!r} is reserved" in caught.value.problem
    assert RESERVED_FEED_NAMES[name] in caught.value.problem


@pytest.mark.parametrize("name", ["../x", "a/b", "Orders", ".hidden", "x" * 41, ""])
def test_a_feed_name_unsafe_as_a_folder_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_contracts(_schemas(tmp_path, name))

    assert caught.value.key == "feed.name"
