"""`run.py check` reads the bucket's snapshot when its cached copy is stale, even of one size.

Another machine's `forget` or purge rewrites a snapshot object, often to the very same size
("Karlsson" to "[erased]"). A machine that cached the earlier object must not check a file
against it: check compares the copy's ETag sidecar with the object's, as a run does, and
still creates nothing under the home.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from etl.config.contract_files import load_contracts
from etl.state.areas import Areas
from etl.state.blob_snapshots import AREA, BlobSnapshotStore
from etl.state.blobs import open_blobs
from etl.to_norce.check_state import CheckState
from tests.support.privacy_seed import ANNA_ROW, EVA_ROW
from tests.support.s3 import KEY_ID, S3Bucket
from tests.support.s3_homes import KEY_ENV, PREFIX, customers_run, s3_settings


@pytest.fixture(autouse=True)
def _s3_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_ID)


def _parquet(frame: pl.DataFrame) -> bytes:
    data = io.BytesIO()
    frame.write_parquet(data)
    return data.getvalue()


def _tree(root: Path) -> list[str]:
    found = (p.relative_to(root).as_posix() for p in root.rglob("*"))
    return sorted(p for p in found if not p.endswith(("-shm", "-wal")))


def test_check_reads_a_same_size_rewrite_made_on_another_machine(
    s3_bucket: S3Bucket, home: Path, erp_root: Path
) -> None:
    customers_run(s3_bucket, home, erp_root, [ANNA_ROW, EVA_ROW])
    folder = f"{PREFIX}/state/snapshots/customers/"
    [key] = [k for k in s3_bucket.listed_keys(folder) if k.endswith(".parquet")]
    relative = key.removeprefix(f"{PREFIX}/{AREA}/")
    current = pl.read_parquet(io.BytesIO(s3_bucket.objects(key)[key]))
    first = _parquet(current)
    s3_bucket.put(key, first)
    root = Areas(home).snapshots  # this machine fetches it, ETag and all, as its next run would
    store = BlobSnapshotStore(root, open_blobs(s3_settings(home).storage, AREA, root), root)
    assert store.path(relative).read_bytes() == first
    erased = current.with_columns(pl.col("last_name").str.replace("Andersson", "[erased]!"))
    second = _parquet(erased)  # another machine's forget: same size, other content
    assert len(second) == len(first) and second != first
    s3_bucket.put(key, second)
    settings = s3_settings(home)
    fields = load_contracts(settings)["customers"].entity.fields()
    before = _tree(home)

    seen = CheckState(settings).snapshot("customers", fields)

    assert "[erased]!" in seen["last_name"].to_list()  # the object as it is now, not the copy
    assert _tree(home) == before  # check created nothing, not even a fresh copy
