"""`by_values` groups rows by which fields hold a value, whatever the fields' null counts.

A field filled in every row, or in none (a Null column too), is not looked at row by row;
the groups must still be the rule's: per row the set of fields with a value, groups ordered
by their sorted names joined, rows in file order. Checked against that rule written as a
plain loop on seeded frames mixing full, empty, Null and partly filled columns.
"""

from __future__ import annotations

import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from etl.entities.payloads import by_values

KINDS = ("full", "empty", "null_dtype", "partial", "rare")


def _frame(rng: random.Random, rows: int, kinds: list[str]) -> pl.DataFrame:
    columns: dict[str, pl.Series] = {"part_no": pl.Series([f"P{i}" for i in range(rows)])}
    for n, kind in enumerate(kinds):
        name = f"f{n}"
        if kind == "null_dtype":
            columns[name] = pl.Series(name, [None] * rows, dtype=pl.Null)
            continue
        share = {"full": 1.0, "empty": 0.0, "partial": 0.5, "rare": 0.05}[kind]
        values = [f"v{i}" if rng.random() < share else None for i in range(rows)]
        columns[name] = pl.Series(name, values, dtype=pl.String)
    return pl.DataFrame(columns)


def _by_rule(rows: pl.DataFrame, fields: list[str]) -> list[tuple[tuple[str, ...], pl.DataFrame]]:
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, row in enumerate(rows.iter_rows(named=True)):
        setting = tuple(sorted(f for f in fields if row[f] is not None))
        groups.setdefault(setting, []).append(i)
    ordered = sorted(groups.items(), key=lambda kv: ",".join(kv[0]))
    return [(setting, rows[at]) for setting, at in ordered]


@pytest.mark.parametrize("seed", range(16))
def test_groups_are_the_rules_groups(seed: int) -> None:
    rng = random.Random(seed)
    kinds = [rng.choice(KINDS) for _ in range(rng.randint(0, 7))]
    rows = _frame(rng, rng.randint(1, 80), kinds)
    fields = [c for c in rows.columns if c != "part_no"]
    rng.shuffle(fields)
    got = list(by_values(rows, fields))
    expected = _by_rule(rows, fields)
    assert [setting for setting, _ in got] == [setting for setting, _ in expected]
    for (_, group), (_, want) in zip(got, expected, strict=True):
        assert_frame_equal(group, want)


def test_a_file_filling_every_field_is_one_group_of_the_same_frame() -> None:
    rows = _frame(random.Random(1), 50, ["full", "full", "empty", "null_dtype"])
    [(setting, group)] = list(by_values(rows, ["f1", "f0", "f2", "f3"]))
    assert setting == ("f0", "f1")
    assert group is rows  # not copied


def test_no_rows_no_groups() -> None:
    assert list(by_values(_frame(random.Random(2), 0, ["partial"]), ["f0"])) == []
