"""A batch of exports is recorded in one statement run each, as file-by-file calls record it.

`begin_exports`/`finish_exports` run each statement once for the batch (executemany) and
`file_names_taken` asks for many names in one query: pinned here against the file-at-a-time
calls (`begin_export`, `finish_export`, `file_name_taken`) on real SQLite, over seeded runs
with several layouts (what one owes another), resends and held orders.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from etl.to_erp.orders.book import OrderBook, OrderRow

AT = "2026-11-22T03:00:00+00:00"
LAYOUTS = ("csv", "ubl", "flat")
TABLES = {
    "orders": "ref",
    "order_exports": "export_id",
    "order_export_items": "layout, ref, generation",
    "order_owed": "layout, ref, generation",
    "order_layouts": "layout",
}


def _filled(path: Path, refs: list[str]) -> OrderBook:
    book = OrderBook(path)
    for ref in refs:
        assert book.receive(ref, f"sha-{ref}", f"{ref}.json", "json", "push", AT) == "new"
    return book


def _files(
    rng: random.Random, layout: str, due: list[OrderRow], step: int
) -> list[tuple[str, str, list[OrderRow], str, int]]:
    """The due orders cut into files of 1 to 3 orders, named as an export would."""
    files, start = [], 0
    while start < len(due):
        size = rng.randint(1, 3)
        orders = due[start : start + size]
        name = f"{layout}-{step}-{start}.x"
        files.append((f"{layout}/{name}", name, orders, f"sha-{step}-{start}", 10 * len(orders)))
        start += size
    return files


def _dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(path)
    try:
        return {
            t: db.execute(f"SELECT * FROM {t} ORDER BY {k}").fetchall() for t, k in TABLES.items()
        }
    finally:
        db.close()


@pytest.mark.parametrize("seed", range(6))
def test_batched_begin_and_finish_record_what_file_by_file_calls_record(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    refs = [f"R{i:03d}-é" if i % 7 == 0 else f"R{i:03d}" for i in range(rng.randint(8, 30))]
    batched = _filled(tmp_path / "batched.sqlite", refs)
    single = _filled(tmp_path / "single.sqlite", refs)
    try:
        for step in range(12):
            action = rng.random()
            if action < 0.15:  # a resend: due again everywhere under a new generation
                ref = rng.choice(refs)
                assert batched.resend(ref, AT) == single.resend(ref, AT)
                continue
            if action < 0.25:  # a hold, which the export must not touch
                ref = rng.choice(refs)
                batched.hold(ref, "why", AT)
                single.hold(ref, "why", AT)
                continue
            layout = rng.choice(LAYOUTS)
            limit = rng.randint(1, 12)
            due = batched.due(layout, limit)
            assert [o.ref for o in due] == [o.ref for o in single.due(layout, limit)]
            files = _files(rng, layout, due, step)
            batched.begin_exports(layout, files, AT)
            for export_id, name, orders, sha, size in files:
                single.begin_export(export_id, layout, name, orders, sha, size, AT)
            finished = [f[0] for f in files if rng.random() < 0.8]  # the rest: a dead run's
            batched.finish_exports(finished, AT)
            for export_id in finished:
                single.finish_export(export_id, AT)
    finally:
        batched.close()
        single.close()
    assert _dump(tmp_path / "batched.sqlite") == _dump(tmp_path / "single.sqlite")


@pytest.mark.parametrize("seed", range(4))
def test_names_taken_at_once_are_those_taken_one_by_one(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    refs = [f"R{i}" for i in range(rng.randint(5, 40))]
    book = _filled(tmp_path / "ledger.sqlite", refs)
    try:
        used: list[str] = []
        for layout in LAYOUTS:
            due = book.due(layout, len(refs))
            files = _files(rng, layout, due, 0)
            book.begin_exports(layout, files, AT)
            used += [name for _, name, _, _, _ in files]
        asked = rng.sample(used, len(used) // 2) + [f"free-{i}.x" for i in range(5)]
        asked += [f"x{i}" for i in range(600)]  # more than one query's worth of names
        rng.shuffle(asked)
        for layout in LAYOUTS:
            one_by_one = {n for n in asked if book.file_name_taken(layout, n)}
            assert book.file_names_taken(layout, asked) == one_by_one
        assert book.file_names_taken("csv", []) == set()
    finally:
        book.close()
