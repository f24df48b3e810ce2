"""A party file cut off by a crash is settled by the export path orders use: looked up on the
server, never uploaded twice; a file that never arrived goes again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from etl.norce.query import QueryClient
from etl.runtime import utc_now
from etl.to_erp.files.export import ExportSummary
from etl.to_erp.parties.book import PartyBook
from etl.to_erp.parties.supply import export_parties
from etl.transport import SftpStore
from etl.transport.base import Store
from tests.support.parties import CUSTOMERS, PartyWorld, c_line, customer
from tests.support.recording_store import Crash, Recording

LAYOUT = "erp_customers_csv"


@contextmanager
def sftp(world: PartyWorld) -> Iterator[SftpStore]:
    store = SftpStore("erp", world.server.settings())
    try:
        yield store
    finally:
        store.close()


def export(world: PartyWorld, store: Store, **options: Any) -> ExportSummary:
    """One run of the party job over `store` (a recording one, that may die)."""
    book = PartyBook(world.settings.folder("state") / "ledger.sqlite")
    query = QueryClient(world.settings.norce, world.settings.orders.query_path)
    try:
        return export_parties(
            world.settings, book, lambda: query, store, world.layouts[LAYOUT], utc_now, **options
        )
    finally:
        query.close()
        book.close()


def outbox(world: PartyWorld) -> list[str]:
    folder = world.settings.folder("outbox") / "erp" / LAYOUT
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_a_stop_right_after_the_rename_is_finished_by_lookup(world: PartyWorld) -> None:
    norce_id = customer(world)
    world.changed(norce_id)
    with sftp(world) as store:
        with pytest.raises(Crash):
            export(world, Recording(store, after="rename"))
        with world.book() as book:
            (unfinished,) = book.unfinished_exports(LAYOUT)
        assert unfinished.refs == (str(norce_id),)
        recording = Recording(store)
        summary = export(world, recording)
    assert (summary.finished, summary.files, summary.uploaded_again) == (
        [unfinished.file_name], [], [],
    )  # fmt: skip
    assert [c[0] for c in recording.calls] == ["upload"]  # the done-marker only
    assert sorted(world.remote()) == [unfinished.file_name, f"{unfinished.file_name}.done"]
    with world.book() as book:
        assert book.unfinished_exports(LAYOUT) == []
        assert book.events()[0].outcomes == ((LAYOUT, "exported", unfinished.file_name),)
    assert len(world.query.requests_for("Customers/Customers")) == 1  # not fetched again


def test_a_stop_before_the_rename_uploads_the_same_bytes_not_a_new_fetch(
    world: PartyWorld,
) -> None:
    norce_id = customer(world)
    world.changed(norce_id)
    with sftp(world) as store:
        with pytest.raises(Crash):
            export(world, Recording(store, before="rename"))
        (temp,) = world.remote()
        assert temp.endswith(".csv.part")
        # Norce changes again, without an event yet: the begun file is still what goes out.
        world.norce.change_customer(norce_id, FirstName="Anne")
        recording = Recording(store)
        summary = export(world, recording)
    (name,) = summary.uploaded_again
    assert recording.calls[0] == ("remove", f"{CUSTOMERS}/{temp}")
    assert c_line(world.files()[name], norce_id)["FirstName"] == "Anna"
    assert summary.files == []


def test_a_stop_before_the_commit_is_finished_from_sent(world: PartyWorld) -> None:
    world.changed(customer(world))

    def killed(seconds: float) -> None:
        raise Crash("killed while paused before the commit")

    with sftp(world) as store:
        with pytest.raises(Crash):
            export(world, store, pause_after_upload_seconds=1.0, sleep=killed)
        (sent,) = outbox(world)
        assert sent.startswith("sent/")
        recording = Recording(store)
        summary = export(world, recording)
    assert summary.finished == [sent.removeprefix("sent/")]
    assert recording.calls == []  # the marker was written before the stop
    assert outbox(world) == []


def test_a_begun_file_lost_before_it_reached_the_erp_is_fetched_and_sent_afresh(
    world: PartyWorld,
) -> None:
    norce_id = customer(world)
    world.changed(norce_id)
    with sftp(world) as store:
        with pytest.raises(Crash):
            export(world, Recording(store, before="upload"))
        (lost,) = outbox(world)
        (world.settings.folder("outbox") / "erp" / LAYOUT / lost).unlink()
        world.norce.change_customer(norce_id, FirstName="Anne")
        summary = export(world, store)
    (name,) = summary.files
    assert (summary.stuck, summary.uploaded_again) == ([], [])
    assert c_line(world.files()[name], norce_id)["FirstName"] == "Anne"
    with world.book() as book:
        assert [e.file_name for e in book.exports(LAYOUT)] == [name]
