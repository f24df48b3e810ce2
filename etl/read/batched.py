"""Parse, map and validate a big CSV file a batch at a time; the valid rows wait on disk
(in memory for a file under `KEPT_BELOW_BYTES`).

At ten million rows the file's text as one frame, its typed copy and the valid rows beside
both took most of the run's memory. Each check but one judges a row by its own cells, so
a batch is mapped and validated on its own and its valid rows are written to a Parquet
file in scratch; what is kept is small (rejections, rejected keys) plus a hash of each key.
The one check across rows, duplicate keys, is made on those hashes: a key in two batches
(rare) sends the file to the whole-file path, which names every line of the key as before.
Read back, the valid rows are compact: no view into text the rejected rows and the casts
left behind. A file under `KEPT_BELOW_BYTES` keeps its batches' valid rows in memory
instead: at that size the trip to disk and back costs a fifth of the read, for no lower peak
(1M rows); kept rows may hold their batch's text, rejected rows' included, so a file of many
rejected rows may peak up to its own size higher than spilled (bounded by the bound).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from etl.config.contracts import FeedContract
from etl.config.settings import BATCHED_FROM_BYTES
from etl.models import Validated
from etl.read.formats.compressed import SUFFIXES
from etl.read.formats.csv_batches import BATCH_ROWS, NotPlain, csv_batches
from etl.read.mapping import map_columns
from etl.read.validate import rows_checked_alone, validate, whole_key_hashes

log = logging.getLogger(__name__)

# Below this size the batches' valid rows stay in memory. At 1M rows (90 MB) writing them
# to Parquet and reading them back took 0.5 s of the read's 2.4 s of CPU, and the read's
# peak was no lower for it (417-419 MiB spilled, 389-419 kept; measured): the valid rows
# are held whole after the read either way. The spill is for the files of ten million rows.
KEPT_BELOW_BYTES = 256 * 2**20


def batchable(local: Path, contract: FeedContract, *, min_bytes: int = BATCHED_FROM_BYTES) -> bool:
    """Whether the file may be read in batches: a big CSV of its own, checked row by row."""
    return (
        contract.format.type == "csv"
        and local.suffix.lower() not in SUFFIXES
        and contract.source.from_feed is None
        and contract.checks.same_key_rows != "merge_identical"
        and local.stat().st_size >= min_bytes
        and rows_checked_alone(contract)
    )


def validated_in_batches(
    local: Path,
    contract: FeedContract,
    scratch: Path,
    rows: int = BATCH_ROWS,
    kept_below: int = KEPT_BELOW_BYTES,
) -> Validated | None:
    """The file's Validated, read `rows` at a time; None when it must be read whole.

    The batches' valid rows wait in memory for a file under `kept_below` bytes, on disk
    for a bigger one."""
    kept = local.stat().st_size < kept_below
    with _valid_rows(scratch, local.name, kept=kept) as waiting:
        try:
            parts = _validated_parts(local, contract, scratch, waiting, rows)
        except NotPlain as exc:
            log.info("%s: %s: read whole (%s)", contract.name, local.name, exc)
            return None
        if parts is None or not sum(p.rows_read for p in parts):
            return None  # a key in two batches, or no rows: the whole-file path says it
        valid = _nulls_held_as_one(waiting.joined())
    log.info(
        "%s: %s: read in %d batches of at most %d rows", contract.name, local.name, len(parts), rows
    )
    return _joined(parts, valid, list(contract.key_fields))


class _Waiting:
    """The batches' valid rows, in file order: in memory, or written to `folder` (Parquet)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.frames: list[pl.DataFrame] = []
        self.written = 0

    def add(self, valid: pl.DataFrame) -> None:
        """One batch's valid rows, after the batches before it."""
        if self.folder is None:
            self.frames.append(valid)
            return
        # Parquet, not Arrow IPC: read back, IPC's frame held 40 MB more per million rows.
        # No statistics: the file is read back whole, never filtered (a sixth of the write).
        valid.write_parquet(
            self.folder / f"{self.written}.parquet", compression="uncompressed", statistics=False
        )
        self.written += 1

    def joined(self) -> pl.DataFrame:
        """Every batch's valid rows (at least one batch) as one frame."""
        if self.folder is None:
            return pl.concat(self.frames)
        folder = self.folder
        scans = [pl.scan_parquet(folder / f"{i}.parquet", glob=False) for i in range(self.written)]
        return pl.concat(scans).collect()


def _validated_parts(
    local: Path, contract: FeedContract, scratch: Path, waiting: _Waiting, rows: int
) -> list[Validated] | None:
    """Each batch's Validated, its valid rows handed to `waiting` (and left out of it)."""
    parts: list[Validated] = []
    keys: list[pl.Series] = []
    for parsed in csv_batches(local, contract.format, scratch, rows, contract.read_columns()):
        mapped = map_columns(parsed, contract)
        keys.append(whole_key_hashes(mapped, contract))
        checked = validate(mapped, contract)
        waiting.add(checked.valid)
        parts.append(
            Validated(
                checked.valid.clear(),
                checked.rejections,
                checked.rejected_keys,
                checked.rows_read,
                unkeyed_lines=checked.unkeyed_lines,
                merged=checked.merged,
                forgiven=checked.forgiven,
                copies=checked.copies,
            )
        )
    return parts if not _key_in_two_batches(keys) else None


def _nulls_held_as_one(valid: pl.DataFrame) -> pl.DataFrame:
    """`valid` with each column that is null in every row held as one null and a length.

    A field the contract does not carry (a product's dates when the file has none) is null
    in every row: 16 bytes a row for a date or an amount, 160 MB of a 10M-row file's frame.
    polars keeps a literal column unmaterialised through slices, filters and concatenations
    (the diff's, the payloads', the next snapshot's), and its values are the same nulls.
    """
    empty = [c for c in valid.columns if valid.height and valid[c].null_count() == valid.height]
    if not empty:
        return valid
    return valid.with_columns(pl.lit(None, valid.schema[c]).alias(c) for c in empty)


def _key_in_two_batches(keys: list[pl.Series]) -> bool:
    """Whether any key hash occurs in more than one batch."""
    if len(keys) < 2:
        return False
    # Each batch's keys once: a hash seen twice after that is in two batches. Sorted, a
    # repeat sits beside itself: half the CPU of is_duplicated's hash table (1M keys).
    every = pl.concat([k.unique() for k in keys]).sort()
    return bool((every == every.shift(1)).any())


def _joined(parts: list[Validated], valid: pl.DataFrame, key: list[str]) -> Validated:
    """One Validated of the batches', as validate gives for the whole file."""
    first = parts[0]
    rejected_keys = pl.concat([p.rejected_keys for p in parts]).unique(
        subset=key, keep="first", maintain_order=True
    )
    return Validated(
        valid=valid,
        rejections=pl.concat([p.rejections for p in parts]),
        rejected_keys=rejected_keys,
        rows_read=sum(p.rows_read for p in parts),
        unkeyed_lines=tuple(sorted(n for p in parts for n in p.unkeyed_lines)),
        merged=first.merged,
        forgiven=pl.concat([p.forgiven for p in parts]),
        copies=first.copies,
    )


@contextmanager
def _valid_rows(scratch: Path, name: str, *, kept: bool) -> Iterator[_Waiting]:
    """Where the batches' valid rows wait: in memory (`kept`), or in a dot folder in the
    parser's scratch, removed after.

    Runtime.recover tidies the scratch folder if the process dies before that.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    if kept:
        yield _Waiting(None)
        return
    folder = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".batches", dir=scratch))
    try:
        yield _Waiting(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
