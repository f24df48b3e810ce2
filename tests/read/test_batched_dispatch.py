"""parse_and_validate reads a plain CSV file of 64 MB or more in batches, a smaller one whole.

The file is real and as big as the threshold: about 110,000 products with a long
description each, written by polars in well under a second.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl
import pytest

from etl.config.settings import BATCHED_FROM_BYTES, Settings
from etl.read.formats.csv_batches import BATCH_ROWS
from etl.to_norce.feed import parse_and_validate
from tests.fixtures.feeds import PRODUCT_COLUMNS, shipped

ROWS = 110_000  # two batches of BATCH_ROWS
TEXT = "Slitstark handske i läder, tål olja och värme. " * 13  # ~610 bytes a row


@pytest.fixture(scope="module")
def big_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A products export (the shipped cp1252 `;` dialect) just over the batch threshold."""
    i = pl.int_range(0, ROWS, eager=True).alias("i")
    text = i.cast(pl.String)
    cells = {
        "Artikelnr": text.str.zfill(7),
        "Varumärke": pl.repeat("ACME", ROWS, eager=True),
        "Tillverkare": pl.repeat("Acme AB", ROWS, eager=True),
        "Tillv. artnr": "AG-" + text,
        "Produktgrupp": "PG-" + (i // 4).cast(pl.String),
        "Benämning": "Handske " + text,
        "Beskrivning": TEXT + text,
        "Kategori": "CAT-" + (i % 50).cast(pl.String),
        "EAN": pl.repeat(None, ROWS, dtype=pl.String, eager=True),
        "Moms %": pl.repeat("25", ROWS, eager=True),
        "Vikt kg": pl.repeat("1,5", ROWS, eager=True),
    }
    frame = pl.DataFrame([s.alias(n) for n, s in cells.items()]).select(PRODUCT_COLUMNS)
    path = tmp_path_factory.mktemp("big") / "products_big.csv"
    path.write_bytes(frame.write_csv(separator=";", line_terminator="\r\n").encode("cp1252"))
    return path


def _batch_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "read in" in r.getMessage()]


def test_a_file_of_the_threshold_or_more_is_read_in_batches(
    big_export: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert big_export.stat().st_size >= BATCHED_FROM_BYTES == 64 << 20
    assert Settings().batched_from_bytes == BATCHED_FROM_BYTES  # what a run passes
    with caplog.at_level(logging.INFO, logger="etl.read.batched"):
        validated = parse_and_validate(big_export, shipped("products"), tmp_path)
    assert _batch_lines(caplog) == [
        f"products: {big_export.name}: read in 2 batches of at most {BATCH_ROWS} rows"
    ]
    assert (validated.valid.height, validated.rejected_rows) == (ROWS, 0)


def test_a_file_below_the_threshold_is_read_whole(
    big_export: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    size = big_export.stat().st_size
    with caplog.at_level(logging.INFO):
        validated = parse_and_validate(
            big_export, shipped("products"), tmp_path, batched_from=size + 1
        )
    assert _batch_lines(caplog) == []
    assert any("parsed in" in r.getMessage() for r in caplog.records)
    assert validated.valid.height == ROWS
