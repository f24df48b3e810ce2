"""The trail's old values are the base snapshot's, read by a filter on the changed keys.

Seeded generated snapshots (one- and three-part keys, text and numeric parts, null parts,
unicode, fields the snapshot lacks) and deltas of changes, reactivations and dormant rows
back: each `old:<field>` and `new:<field>` is held to a plain Python statement of the rule
(the base row with the same key; set only where the row changed the field; none for a
key with a null part, which the trail cannot name).
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from etl.models import CHANGED, LINE, Delta
from etl.to_norce.masterdata.trace import NEW, OLD, delta_rows, with_changed_values

WORDS = ["Å", "ö", "x", "€", "漢", "a b", "0", "/", "a longer text than twelve bytes"]
FIELDS = ["name", "weight", "gone"]  # "gone": a field the base snapshot does not hold


def _key_rows(rng: random.Random, count: int, many_parts: bool) -> list[tuple[object, ...]]:
    keys: set[tuple[object, ...]] = set()
    while len(keys) < count:
        part = rng.choice([None, *WORDS]) if many_parts else rng.choice(WORDS)
        first = f"{part}{rng.randrange(10 * count)}" if part is not None else None
        keys.add(
            (first, rng.choice([None, *WORDS]), rng.choice([None, 0, 1, 2]))
            if many_parts
            else (first,)
        )
    return sorted(keys, key=repr)


def _frame(keys: list[tuple[object, ...]], key: list[str], rng: random.Random) -> pl.DataFrame:
    data: dict[str, object] = {k: [row[i] for row in keys] for i, k in enumerate(key)}
    data["name"] = [rng.choice([None, *WORDS]) for _ in keys]
    data["weight"] = [rng.choice([None, 1, 25, -3]) for _ in keys]
    schema = {"quantity_break": pl.Int64, "weight": pl.Int64, "name": pl.String}
    return pl.DataFrame(data, schema_overrides={k: v for k, v in schema.items() if k in data})


def _changed(frame: pl.DataFrame, rng: random.Random) -> pl.DataFrame:
    named = [rng.sample(FIELDS, rng.randint(0, 2)) for _ in range(frame.height)]
    return frame.with_columns(
        pl.Series(CHANGED, named, dtype=pl.List(pl.String)),
        pl.Series("gone", [rng.choice(WORDS) for _ in range(frame.height)]),
        pl.Series(LINE, range(2, frame.height + 2), dtype=pl.Int64),
    )


def _expected(
    trail: pl.DataFrame, parts: dict[str, pl.DataFrame], base: pl.DataFrame, key: list[str]
) -> list[dict[str, object]]:
    """Per trail row its values, as the rule says them (a field nobody changed has no column)."""
    old = {tuple(r[k] for k in key): r for r in base.iter_rows(named=True)}
    rows = {
        (" / ".join(str(r[k]) for k in key) if all(r[k] is not None for k in key) else None, a): r
        for a, part in parts.items()
        for r in part.iter_rows(named=True)
    }
    fields = [f for f in FIELDS if any(f in (r[CHANGED] or []) for r in rows.values())]
    out = []
    for row in trail.iter_rows(named=True):
        # A key with a null part has no text: the trail's row keeps no values (as before).
        new = rows.get((row["key"], row["action"])) if row["key"] is not None else None
        for f in fields:
            changed = new is not None and f in (new[CHANGED] or [])
            was = old.get(tuple(new[k] for k in key)) if new is not None else None
            before = None if was is None or f not in was else was[f]
            row[OLD + f] = str(before) if changed and before is not None else None
            row[NEW + f] = str(new[f]) if changed and new[f] is not None else None
        out.append(row)
    return out


@pytest.mark.parametrize("seed", range(10))
def test_old_values_are_the_base_rows_of_the_changed_keys(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    many_parts = bool(seed % 2)
    key = ["part_no", "price_list_code", "quantity_break"] if many_parts else ["part_no"]
    keys = _key_rows(rng, rng.randint(5, 120), many_parts)
    base = _frame(keys, key, rng)
    path = tmp_path / "base.parquet"
    base.write_parquet(path)
    kept = rng.sample(keys, rng.randint(1, len(keys)))
    fresh = [k for k in _key_rows(rng, 8, many_parts) if k not in set(keys)]
    split = len(kept) // 2
    parts = {
        "change": _changed(_frame(kept[:split], key, rng), rng),
        "reactivate": _changed(_frame(kept[split:], key, rng), rng),
        "add": _changed(_frame(fresh, key, rng), rng),  # dormant rows back: not in this base
    }
    empty = pl.DataFrame()
    delta = Delta(parts["add"], parts["change"], parts["reactivate"], empty, empty)
    trail = delta_rows(delta, key)
    got = with_changed_values(trail, delta, key, path)
    assert got.select("key").to_series().to_list() == trail.select("key").to_series().to_list()
    assert got.to_dicts() == _expected(trail, parts, base, key)


def test_old_values_found_when_an_int_key_part_is_wider_in_the_base(tmp_path: Path) -> None:
    # Found by review: `is_in` on a struct refused an Int32 part against the base's Int64
    # (InvalidOperationError) where the semi join before it found their common type.
    key = ["part_no", "quantity_break"]
    base = tmp_path / "base.parquet"
    pl.DataFrame(
        {"part_no": ["A"], "quantity_break": pl.Series([1], dtype=pl.Int64), "price_sale": ["1.0"]}
    ).write_parquet(base)
    changes = pl.DataFrame(
        {
            "part_no": ["A"],
            "quantity_break": pl.Series([1], dtype=pl.Int32),
            "price_sale": ["2.0"],
            CHANGED: pl.Series([["price_sale"]], dtype=pl.List(pl.String)),
        }
    )
    empty = pl.DataFrame()
    delta = Delta(empty, changes, empty, empty, empty)
    got = with_changed_values(delta_rows(delta, key), delta, key, base)
    assert got.select(OLD + "price_sale", NEW + "price_sale").row(0) == ("1.0", "2.0")
