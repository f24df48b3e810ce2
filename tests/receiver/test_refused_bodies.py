"""Bodies the receiver refused: seen in `orders` and `status`, taken again with `retake`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl.state.atomic import write_atomically
from etl.state.spool import Spool
from tests.support.desk import Desk
from tests.support.orders import minimal_order


@pytest.fixture
def desk(home: Path) -> Desk:
    return Desk(home)


def rejected_dir(desk: Desk) -> Path:
    return desk.settings.folder("archive") / "orders" / "rejected"


def left_by_an_older_receiver(desk: Desk, body: bytes, reason: str) -> str:
    """A readable body as an earlier version refused it: the copy and its reason, by name."""
    name = "20261121T100000Z-0123456789abcdef.json"
    write_atomically(rejected_dir(desk) / name, body)
    write_atomically(rejected_dir(desk) / f"{name}.reason.txt", f"{reason}\n".encode())
    return name


def test_refused_bodies_are_listed_with_time_reason_and_file(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    desk.take(b'{"ClientOrderRef": "1001", "Items": [', minimal_order("1002"))
    code, out = desk.run(capsys, "orders", "--state", "refused")
    assert code == 0
    (kept,) = sorted(p.name for p in rejected_dir(desk).glob("*.json"))
    assert kept in out and "2026-11-22T03:01:00" in out
    assert "JSON" in out or "json" in out  # the reason
    assert "1002" not in out
    _, listed = desk.run(capsys, "orders")
    assert "1002" in listed and "1 refused body" in listed and "--state refused" in listed
    _, status = desk.run(capsys, "status")
    assert "Refused order bodies: 1" in status and kept in status
    assert "run.py retake" in status


def test_retake_spools_and_books_a_body_that_now_parses(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    body = json.dumps(minimal_order("2001")).encode()
    name = left_by_an_older_receiver(desk, body, "not a valid OrderRequest: Fees: null")
    code, out = desk.run(capsys, "retake", name)
    assert code == 0 and "2001" in out and "taken" in out
    book = desk.book()
    try:
        row = book.order("2001")
        assert row is not None and (row.source, row.state) == ("retake", "spooled")
        spool = Spool(desk.settings.folder("state") / "spool" / "orders")
        assert spool.read(row.spool_name) == body
    finally:
        book.close()
    assert not (rejected_dir(desk) / name).exists()
    moved = desk.settings.folder("archive") / "orders" / "retaken" / name
    assert moved.read_bytes() == body
    assert (moved.parent / f"{name}.reason.txt").is_file()
    # Taken once: nothing left to take, and the order is not booked twice.
    code, again = desk.run(capsys, "retake", "--all")
    assert code == 0 and "no refused order bodies" in again
    _, listed = desk.run(capsys, "orders", "--state", "refused")
    assert name not in listed


def test_a_body_still_unreadable_stays_with_its_reason(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    desk.take(b"{broken")
    (kept,) = rejected_dir(desk).glob("*.json")
    reason = Path(f"{kept}.reason.txt").read_text(encoding="utf-8")
    code, out = desk.run(capsys, "retake", "--all")
    assert code == 1
    assert kept.name in out and "still refused" in out
    assert kept.is_file() and Path(f"{kept}.reason.txt").read_text(encoding="utf-8") == reason


def test_retake_of_an_unknown_name_says_so(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    assert desk.run(capsys, "retake", "../../etc/passwd")[0] == 1
    assert desk.run(capsys, "retake", "20261121T100000Z-0000000000000000.json")[0] == 1
