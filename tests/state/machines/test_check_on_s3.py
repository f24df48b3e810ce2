"""`run.py check` on a machine that holds no copy of the snapshot it checks against.

With `[storage] backend = "s3"` the snapshot is the bucket's object; check reads it as a run
would, and still creates nothing under the home (no ledger, no folder, no snapshot copy).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from etl.cli import main
from tests.support.privacy_seed import ANNA_ROW, EVA_ROW, drop_customers
from tests.support.s3 import KEY_ID, S3Bucket
from tests.support.s3_homes import KEY_ENV, PREFIX, customers_run, second_home


@pytest.fixture(autouse=True)
def _s3_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_ID)


def _check(home: Path, file: Path, out: Path) -> tuple[int, str]:
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        code = main(["--config", str(home / "etl.toml"), "check", str(file), "--out", str(out)])
    return code, said.getvalue()


def _tree(root: Path) -> list[str]:
    """Every folder and file under `root`, SQLite's shared-memory files aside (a reader's)."""
    found = (p.relative_to(root).as_posix() for p in root.rglob("*"))
    return sorted(p for p in found if not p.endswith(("-shm", "-wal")))


def test_check_reads_the_snapshot_from_the_bucket_and_creates_nothing(
    s3_bucket: S3Bucket, home: Path, erp_root: Path, tmp_path: Path
) -> None:
    customers_run(s3_bucket, home, erp_root, [ANNA_ROW, EVA_ROW])
    other = second_home(s3_bucket, home, erp_root)
    drop_customers(tmp_path / "files", "kunder_check.csv", [ANNA_ROW])
    file = tmp_path / "files" / "customers" / "kunder_check.csv"
    before = _tree(other)

    code, said = _check(other, file, tmp_path / "out-2")

    assert code == 0 and "check again" not in said, said
    assert _tree(other) == before  # no snapshot copy, no folder
    here_code, here = _check(home, file, tmp_path / "out-1")
    same = said.replace("out-2", "out-1").replace("home-2", "home")
    assert (code, same) == (here_code, here)


def test_check_names_the_bucket_when_the_current_snapshot_is_not_in_it(
    s3_bucket: S3Bucket,
    home: Path,
    erp_root: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    customers_run(s3_bucket, home, erp_root, [ANNA_ROW, EVA_ROW])
    other = second_home(s3_bucket, home, erp_root)
    for key in s3_bucket.listed_keys(f"{PREFIX}/state/snapshots/"):
        s3_bucket.delete(key)  # behind the product's back
    drop_customers(tmp_path / "files", "kunder_check.csv", [ANNA_ROW])

    code, _ = _check(other, tmp_path / "files" / "customers" / "kunder_check.csv", tmp_path)

    assert code == 1
    assert "its current snapshot is missing" in caplog.text and "check again" not in caplog.text
    assert f"bucket {s3_bucket.name}, key {PREFIX}/state/snapshots/" in caplog.text
