"""File mode: calls written as they would be posted; a run's calls staged until it commits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config.settings import NorceSettings
from etl.entities.calls import NorceCall
from etl.norce.file_delivery import FileDelivery, NorceOutbox
from etl.state.ledger.feed_runs import Commit, Ledger


def _call(label: str, sku: str = "A") -> NorceCall:
    return NorceCall("Product/ImportProducts", {"AccountId": 1}, [{"PartNo": sku}], label)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    db = Ledger(tmp_path / "ledger.sqlite")
    yield db
    db.close()


def _run(ledger: Ledger, run_id: str, feed: str, outcome: str) -> None:
    ledger.start_run(run_id, feed, "file", "2026-11-20T10:00:00+00:00", None, None)
    if outcome == "committed":
        ledger.commit(Commit(run_id, feed, "committed", "2026-11-20T10:01:00+00:00", {}, [], None))
    elif outcome != "running":
        ledger.fail_run(run_id, "2026-11-20T10:01:00+00:00", outcome, "gone")


def _staged_delivery(tmp_path: Path, outbox: NorceOutbox, run_id: str, batch: str) -> None:
    delivery = FileDelivery(tmp_path / "outbox", NorceSettings()).staged(outbox.stage(run_id))
    delivery.deliver([_call("0001-ImportProducts-add")], batch)


def test_staged_calls_stay_out_of_the_outbox_until_published(tmp_path: Path) -> None:
    outbox = NorceOutbox(tmp_path / "outbox")
    delivery = FileDelivery(tmp_path / "outbox", NorceSettings()).staged(outbox.stage("r1"))
    [result] = delivery.deliver([_call("0001-ImportProducts-add")], "products/p_1-abc")

    assert not outbox.root.exists()
    final = outbox.root / "products" / "p_1-abc" / "0001-ImportProducts-add.json"
    assert result.location == str(final)  # the manifest names where it will be
    assert outbox.publish_run("r1") == [final.parent]
    assert _files(outbox.root) == [
        "products/p_1-abc/0001-ImportProducts-add.json",
        "products/p_1-abc/0001-ImportProducts-add.request.json",
    ]
    assert list(outbox.staging.iterdir()) == []
    assert outbox.publish_run("r1") == []  # done already: nothing left to move


def test_publishing_replaces_a_batch_of_the_same_name_and_leaves_others(tmp_path: Path) -> None:
    outbox = NorceOutbox(tmp_path / "outbox")
    plain = FileDelivery(tmp_path / "outbox", NorceSettings())
    plain.deliver([_call("0001-ImportProducts-add"), _call("0002-ImportProducts-add")], "p/b1")
    plain.deliver([_call("0001-ImportProducts-add")], "p/b2")
    staged = plain.staged(outbox.stage("r2"))
    staged.deliver([_call("0001-ImportProducts-add", sku="NEW")], "p/b1")

    outbox.publish_run("r2")

    assert _files(outbox.root / "p") == [
        "b1/0001-ImportProducts-add.json",
        "b1/0001-ImportProducts-add.request.json",
        "b2/0001-ImportProducts-add.json",
        "b2/0001-ImportProducts-add.request.json",
    ]
    body = (outbox.root / "p" / "b1" / "0001-ImportProducts-add.json").read_bytes()
    assert body == b'[{"PartNo":"NEW"}]'


def test_recover_publishes_committed_runs_and_drops_dead_ones_of_its_feed_only(
    tmp_path: Path, ledger: Ledger
) -> None:
    outbox = NorceOutbox(tmp_path / "outbox")
    runs = {
        "r-committed": ("products", "committed"),
        "r-interrupted": ("products", "interrupted"),
        "r-failed": ("products", "failed"),
        "r-running": ("products", "running"),
        "r-other-feed": ("prices", "interrupted"),
    }
    for run_id, (feed, outcome) in runs.items():
        _run(ledger, run_id, feed, outcome)
        _staged_delivery(tmp_path, outbox, run_id, f"{feed}/{run_id}-batch")
    _staged_delivery(tmp_path, outbox, "r-unknown", "products/r-unknown-batch")

    published = outbox.recover("products", ledger)

    assert published == [outbox.staging / ".r-committed.part"]
    assert sorted(p.name for p in outbox.root.glob("*/*")) == ["r-committed-batch"]
    assert sorted(p.name for p in outbox.staging.iterdir()) == [
        ".r-other-feed.part",
        ".r-running.part",
    ]


def test_publishing_again_after_a_crash_halfway_finishes_the_move(tmp_path: Path) -> None:
    outbox = NorceOutbox(tmp_path / "outbox")
    staged = outbox.stage("r3")
    delivery = FileDelivery(tmp_path / "outbox", NorceSettings()).staged(staged)
    delivery.deliver([_call("0001-ImportProducts-add")], "p/b1")
    delivery.deliver([_call("0001-ImportProducts-add")], "q/b2")
    (staged / "p" / "b1").replace(tmp_path / "moved")  # the first batch went, then the crash
    (outbox.root / "p").mkdir(parents=True)
    (tmp_path / "moved").replace(outbox.root / "p" / "b1")

    assert outbox.publish(staged) == [outbox.root / "q" / "b2"]
    assert sorted(p.name for p in outbox.root.glob("*/*")) == ["b1", "b2"]
    assert not staged.exists()
