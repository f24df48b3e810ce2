"""The contract of the archive of files the ERP got (etl.state.exported_archive.ExportedArchive).

Every test runs against both backends, each as `open_exported` opens it from `[storage]`: the
day folders on the local disk (the default) and objects in an S3 bucket (moto's real S3 API).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from etl.config.storage_settings import StorageSettings
from etl.state.areas import Areas
from etl.state.exported_archive import ExportedArchive, open_exported
from tests.support.s3 import S3Bucket

DAY = "2026-11-22"
CSV = b"H;1001;2026-11-20;SEK\r\n"

Opener = Callable[[], ExportedArchive]


@pytest.fixture(params=["local", "s3"])
def opened(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens the orders' exported archive of one home (each call as another process)."""
    areas = Areas(tmp_path / "home")
    if request.param == "local":
        return lambda: open_exported(StorageSettings(), areas, "orders", "orders erp_csv")
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    return lambda: open_exported(bucket.settings(prefix="shop-a"), areas, "orders", "x")


def _sent(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "home" / "outbox" / "erp" / "erp_csv" / "sent" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_file_kept_from_the_disk_reads_back_from_its_day_folder(
    opened: Opener, tmp_path: Path
) -> None:
    kept = opened().keep("erp_csv", DAY, {"a.csv": _sent(tmp_path, "a.csv", CSV)})

    assert kept == ["a.csv"]
    assert opened().read("erp_csv", DAY, "a.csv") == CSV
    assert opened().read("erp_csv", "2026-11-23", "a.csv") is None


def test_bytes_another_machine_prepared_are_kept_as_they_are(opened: Opener) -> None:
    opened().keep("erp_csv", DAY, {"b.csv": CSV})

    assert opened().read("erp_csv", DAY, "b.csv") == CSV


def test_keeping_a_file_again_leaves_one_copy_with_its_bytes(
    opened: Opener, tmp_path: Path
) -> None:
    archive = opened()
    archive.keep("erp_csv", DAY, {"a.csv": _sent(tmp_path, "a.csv", CSV)})
    archive.keep("erp_csv", DAY, {"a.csv": _sent(tmp_path, "a.csv", CSV)})

    assert archive.read("erp_csv", DAY, "a.csv") == CSV


def test_nothing_to_keep_writes_nothing(opened: Opener, tmp_path: Path) -> None:
    assert opened().keep("erp_csv", DAY, {}) == []
    assert not (tmp_path / "home" / "archive").exists()


def test_only_the_bucket_is_shared_by_every_machine(
    opened: Opener, request: pytest.FixtureRequest
) -> None:
    assert opened().shared is (request.node.callspec.params["opened"] == "s3")
