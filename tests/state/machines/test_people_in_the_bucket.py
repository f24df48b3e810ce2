"""`forget` and `purge` reach what the bucket keeps of people: snapshots and Norce outbox batches.

The second home is a machine that never ran the customers feed: no snapshot copy, no outbox.
What the product stored is looked at with boto3 (tests.support.s3), never through our code.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import polars as pl
import pytest

from etl.config.contract_files import load_contracts
from etl.retention.place import Place
from etl.retention.purge import Purged, purge_all
from etl.runtime import Runtime
from tests.support.privacy_seed import ANNA_ROW, EVA_ROW
from tests.support.s3 import KEY_ID, S3Bucket
from tests.support.s3_homes import (
    KEY_ENV,
    PREFIX,
    customers_run,
    run_py,
    s3_settings,
    second_home,
)

SNAPSHOTS, NORCE = f"{PREFIX}/state/snapshots/customers/", f"{PREFIX}/outbox/norce/customers/"
EVA_MAIL = "eva.ek@example.se"


@pytest.fixture(autouse=True)
def _s3_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_ID)


def _texts(s3_bucket: S3Bucket, prefix: str) -> dict[str, str]:
    """Each object under `prefix` as text (a Parquet file as CSV)."""
    texts = {}
    for key, body in s3_bucket.objects(prefix).items():
        parquet = key.endswith(".parquet")
        texts[key] = pl.read_parquet(io.BytesIO(body)).write_csv() if parquet else body.decode()
    return texts


def _lines(said: str, place: str) -> list[str]:
    return [line.strip() for line in said.splitlines() if line.strip().startswith(place + ":")]


def test_forget_masks_the_person_in_snapshots_and_outbox_batches_in_the_bucket(
    s3_bucket: S3Bucket, home: Path, erp_root: Path
) -> None:
    customers_run(s3_bucket, home, erp_root, [ANNA_ROW, EVA_ROW])
    assert any(EVA_MAIL in t for t in _texts(s3_bucket, SNAPSHOTS).values())
    assert any(EVA_MAIL in t for t in _texts(s3_bucket, NORCE).values())
    other = second_home(s3_bucket, home, erp_root)

    code, dry = _run_forget(other, "--dry-run")
    assert code == 0, dry
    would = [*_lines(dry, "state/snapshots/customers"), *_lines(dry, "outbox/norce")]
    assert len(would) == 2, dry
    assert any(EVA_MAIL in t for t in _texts(s3_bucket, SNAPSHOTS).values())  # nothing changed

    code, said = _run_forget(other)

    assert code == 0, said
    done = [*_lines(said, "state/snapshots/customers"), *_lines(said, "outbox/norce")]
    assert done == [line.replace("would mask", "masked") for line in would]
    for prefix in (SNAPSHOTS, NORCE):
        stored = _texts(s3_bucket, prefix)
        assert stored and not [k for k, t in stored.items() if EVA_MAIL in t], prefix
        assert any("anna.andersson@example.se" in t for t in stored.values()), prefix
    masked = ["[erased]", "anna.andersson@example.se"]
    assert _emails_read(home) == masked  # its stale copy fetched again
    assert _emails_read(other) == masked


def test_purge_removes_outbox_batches_in_the_bucket_past_their_retention(
    s3_bucket: S3Bucket, home: Path, erp_root: Path
) -> None:
    customers_run(s3_bucket, home, erp_root, [ANNA_ROW, EVA_ROW])
    held = [k for k in s3_bucket.listed_keys(NORCE) if not k.endswith(".published")]
    settings = s3_settings(second_home(s3_bucket, home, erp_root))
    contracts = load_contracts(settings)
    now = dt.datetime.now(dt.UTC)

    young = _outbox_place(purge_all(settings, contracts, now, dry_run=False))
    assert (young.removed, young.kept) == (0, len(held))
    later = now + dt.timedelta(days=91)
    would = _outbox_place(purge_all(settings, contracts, later, dry_run=True))
    assert (would.removed, would.kept) == (len(held), 0)
    assert [k for k in s3_bucket.listed_keys(NORCE) if not k.endswith(".published")] == held

    done = _outbox_place(purge_all(settings, contracts, later, dry_run=False))

    assert (done.removed, done.kept) == (would.removed, would.kept)
    assert s3_bucket.listed_keys(NORCE) == [NORCE + "manifest.json"]
    record = json.loads(s3_bucket.objects(NORCE + "manifest.json")[NORCE + "manifest.json"])
    assert sorted(e["name"] for e in record["purged"]) == sorted(k[len(NORCE) :] for k in held)
    assert all(len(e["sha256"]) == 64 for e in record["purged"])


def _outbox_place(purged: Purged) -> Place:
    places = [p for p in purged.places if p.name == "outbox/norce/customers"]
    assert len(places) == 1, [p.name for p in purged.places]
    return places[0]


def _run_forget(home: Path, *extra: str) -> tuple[int, str]:
    return run_py(home, "forget", "--customer", "K-1005", *extra)


def _emails_read(home: Path) -> list[str | None]:
    """The e-mails of the current customers snapshot as a run on `home` reads it."""
    rt = Runtime.open(s3_settings(home))
    try:
        current = rt.ledger.current_snapshot("customers")
        assert current is not None
        fields = load_contracts(rt.settings)["customers"].entity.fields()
        return sorted(rt.snapshots.read(current[0], fields)["email"].to_list(), key=str)
    finally:
        rt.close()
