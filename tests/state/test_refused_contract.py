"""The refused-bodies contract (etl.state.refused_base.RefusedBodies), against every backend.

This machine's folders (the default) and objects in an S3 bucket (moto's real S3 API on
loopback), each as `open_refused` opens it from `[storage]`; each call another instance, as
another process or machine would open it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from etl.config.storage_settings import StorageSettings
from etl.state.areas import Areas
from etl.state.blob_refused import BlobRefused, open_refused
from etl.state.refused_base import RefusedBodies, refused_at
from etl.state.refused_local import LocalRefused
from tests.support.s3 import S3Bucket

BODY = b'{"ClientOrderRef": "R1", "Items": ['
AT = dt.datetime(2026, 12, 7, 10, 0, 5, tzinfo=dt.UTC)
NAME = f"20261207T100005Z-{hashlib.sha256(BODY).hexdigest()[:16]}.json"

Opener = Callable[[], RefusedBodies]


@pytest.fixture(params=["local", "s3"])
def opened(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    areas = Areas(tmp_path / "home")
    if request.param == "local":
        return lambda: open_refused(StorageSettings(), areas, "orders")
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    return lambda: open_refused(bucket.settings(prefix="shop-a"), areas, "orders")


def test_open_refused_picks_the_backend_of_storage(opened: Opener) -> None:
    assert isinstance(opened(), LocalRefused | BlobRefused)


def test_a_body_kept_is_listed_and_read_back_with_its_reason(opened: Opener) -> None:
    assert opened().keep(BODY, "json", "not JSON: line 1", AT) == NAME

    kept = opened()
    assert kept.names() == [NAME] and kept.names("retaken") == []
    assert kept.read(NAME) == BODY
    assert kept.reason(NAME) == "not JSON: line 1"
    assert refused_at(NAME) == AT


def test_the_same_body_kept_twice_in_one_second_is_one_body(opened: Opener) -> None:
    first = opened().keep(BODY, "json", "why", AT)
    again = opened().keep(BODY, "json", "why", AT)

    assert first == again and opened().names() == [NAME]


def test_a_body_set_aside_moves_with_its_reason_to_retaken(opened: Opener) -> None:
    opened().keep(BODY, "json", "why", AT)

    opened().set_aside(NAME)

    kept = opened()
    assert kept.names() == [] and kept.names("retaken") == [NAME]
    assert kept.read(NAME, "retaken") == BODY and kept.reason(NAME, "retaken") == "why"
    with pytest.raises(FileNotFoundError):
        kept.read(NAME)


def test_delete_removes_the_body_and_its_reason_and_twice_is_once(opened: Opener) -> None:
    opened().keep(BODY, "json", "why", AT)

    opened().delete(NAME)
    opened().delete(NAME)

    assert opened().names() == [] and opened().reason(NAME) is None


@pytest.mark.parametrize("name", ["../x.json", "a/20261207T100005Z-0123456789abcdef.json", "x"])
def test_a_name_that_is_not_a_refused_bodys_is_refused(opened: Opener, name: str) -> None:
    with pytest.raises(ValueError):
        opened().read(name)
