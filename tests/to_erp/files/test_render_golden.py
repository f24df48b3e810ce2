"""Every order of the corpus, with hard characters added, through every shipped layout and every
unencodable policy: the bytes (as SHA-256) and the reasons pinned in tests/golden/order_files.json.

Written by the code before the rendering was made faster (issue 18), so a faster `prepare`,
charset check or XML writer must give the same files and the same reasons. Regenerate after an
intended change with `ETL_UPDATE_GOLDEN=1 pytest tests/to_erp/files/test_render_golden.py`, then
read the diff.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from etl.config.settings import Settings
from etl.to_erp.files.layouts import Layout, load_layout
from etl.to_erp.files.prepared import Prepared
from etl.to_erp.files.render import prepare, render
from etl.to_erp.orders.bodies import parse_order
from etl.to_erp.orders.model import OrderRequest
from tests.fixtures.orders import SHIPPED
from tests.support.paths import REPO

CORPUS = REPO / "tests" / "fixtures" / "orders" / "corpus"
GOLDEN = REPO / "tests" / "golden" / "order_files.json"
RECEIVED = dt.datetime(2026, 11, 21, 8, 30, tzinfo=dt.UTC)
POLICIES = ("hold", "transliterate", "replace")
# Names a cp1252 file cannot hold as they are, and characters no file holds.
HARD = (
    "Łukasz Erdős",
    "ﬁlé\u2011x \u00a0ø",
    "gift 🎁 中",
    "bell\x07 del\x7f c1\x85",
    "tab\tline\nend",
)


def _orders() -> dict[str, OrderRequest]:
    """The corpus as read, and each with one hard text in its name and comment fields."""
    orders: dict[str, OrderRequest] = {}
    for path in sorted(CORPUS.iterdir()):
        if path.suffix in (".json", ".xml"):
            orders[path.name] = parse_order(path.read_bytes(), path.suffix.lstrip("."))
    for index, (name, order) in enumerate(list(orders.items())):
        hard = HARD[index % len(HARD)]
        update: dict[str, Any] = {"customer_order_comment": f"note {hard}"}
        if order.sell_to is not None and order.sell_to.person is not None:
            person = order.sell_to.person.model_copy(update={"first_name": hard})
            update["sell_to"] = order.sell_to.model_copy(update={"person": person})
        orders[f"{name}+hard"] = order.model_copy(update=update)
    return orders


def _layouts(folder: Path) -> dict[str, Layout]:
    """Each shipped layout under each policy."""
    settings = Settings(schemas_dir=SHIPPED.parent)
    layouts = {}
    for path in sorted(SHIPPED.glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        for policy in POLICIES:
            lines = [
                f'unencodable = "{policy}"' if line.startswith("unencodable =") else line
                for line in text.splitlines()
            ]
            variant = folder / f"{path.stem}.{policy}.toml"
            variant.write_text("\n".join(lines) + "\n", encoding="utf-8")
            layouts[f"{path.stem}.{policy}"] = load_layout(variant, settings)
    return layouts


def _seen(prepared: Prepared, layout: Layout) -> dict[str, Any]:
    data = None
    if not (prepared.unfit or prepared.wrong):
        data = hashlib.sha256(render(layout, [prepared])).hexdigest()
    return {
        "sha256": data,
        "cells": hashlib.sha256(repr([r.cells for r in prepared.rows]).encode()).hexdigest(),
        "unfit": list(prepared.unfit),
        "changed": list(prepared.changed),
        "wrong": list(prepared.wrong),
    }


def _render_all(folder: Path) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    orders = _orders()
    for layout_name, layout in _layouts(folder).items():
        fitting = []
        for order_name, order in orders.items():
            prepared = prepare(layout, order, received=RECEIVED)
            seen[f"{layout_name} {order_name}"] = _seen(prepared, layout)
            if not (prepared.unfit or prepared.wrong):
                fitting.append(prepared)
        # And all that fit in one file, as a batch layout writes them.
        whole = render(layout, fitting) if layout.orders_per_file > 1 else b""
        seen[f"{layout_name} batch"] = hashlib.sha256(whole).hexdigest()
    return seen


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _render_all(tmp_path_factory.mktemp("layouts"))


def test_order_files_and_reasons_match_the_golden_file(seen: dict[str, Any]) -> None:
    if os.environ.get("ETL_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(seen, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert seen.keys() == golden.keys()
    for key, value in seen.items():
        assert value == golden[key], key


@pytest.mark.parametrize("policy", POLICIES)
def test_the_golden_cases_cover_each_outcome(seen: dict[str, Any], policy: str) -> None:
    cases = [v for k, v in seen.items() if f".{policy} " in k and isinstance(v, dict)]
    assert any(v["sha256"] for v in cases), "some order fits"
    assert any(v["changed"] for v in cases) or policy == "hold", "some text was changed"
    assert any(v["unfit"] for v in cases) or policy == "replace", "some order was held"
