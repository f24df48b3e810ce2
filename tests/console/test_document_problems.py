"""Documents Norce (or our check) refused, numbers in conflict and documents waiting too long
for their order need a person (review of issue 17)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings, Settings
from etl.console.document_problems import WAITING_TOO_LONG
from etl.console.problems import Problem
from etl.console.sources import find_problems
from etl.entities.document import Document
from etl.runtime import Runtime
from etl.to_norce.documents.book import DocumentBook
from tests.support.desk import Desk
from tests.support.masterdata import settings_for

FEED = "invoices"


@pytest.fixture
def settings(home: Path, tmp_path: Path) -> Settings:
    return settings_for(home, LocalStoreSettings(root=tmp_path / "erp"))


@pytest.fixture
def book(settings: Settings) -> Iterator[DocumentBook]:
    (settings.home / "state").mkdir(parents=True, exist_ok=True)
    opened = DocumentBook(settings.home / "state" / "ledger.sqlite")
    yield opened
    opened.close()


def _problems(settings: Settings) -> list[Problem]:
    rt = Runtime.open(settings, sleep=lambda s: None)
    try:
        return find_problems(rt, load_contracts(settings), rt.clock())
    finally:
        rt.close()


def _at(ago: dt.timedelta = dt.timedelta()) -> str:
    return (dt.datetime.now(dt.UTC) - ago).isoformat(timespec="seconds")


def _invoice(number: str, total: str = "100") -> Document:
    return Document("invoice", number, {"client_order_ref": 1001, "total": total})


def _send(book: DocumentBook, document: Document, state: str, message: str | None) -> None:
    book.begin(FEED, document, (), "run-1", _at())
    book.finish(document.kind, document.number, state, message, _at())


def test_a_document_norce_refused_is_a_problem_until_a_corrected_one_is_sent(
    settings: Settings, book: DocumentBook
) -> None:
    _send(book, _invoice("F-1"), "rejected", "Unknown currency XYZ")
    [problem] = _problems(settings)
    assert problem.key.startswith("document-refused:invoice:")  # one per cause
    assert (problem.kind, problem.subject) == ("document_refused", f"invoice F-1 (feed {FEED})")
    assert problem.what == "refused by Norce: Unknown currency XYZ"
    assert problem.command == "run.py trace F-1"

    _send(book, _invoice("F-1", total="101"), "sent", None)  # the ERP's corrected version
    assert _problems(settings) == []


def test_a_conflict_is_a_problem(settings: Settings, book: DocumentBook) -> None:
    _send(book, _invoice("F-2"), "sent", None)
    book.conflict(FEED, _invoice("F-2", total="999"), "run-2", _at())
    [problem] = _problems(settings)
    assert problem.kind == "document_conflict"
    assert problem.key.startswith("document-conflict:invoice:F-2:")
    assert "other content (run run-2)" in problem.what


def test_a_document_waiting_too_long_for_its_order_is_a_problem(
    settings: Settings, book: DocumentBook
) -> None:
    book.hold(FEED, _invoice("F-3"), "waiting", "order 1001 not in Norce", "run-1", _at())
    assert _problems(settings) == []  # waiting a while is normal

    late = WAITING_TOO_LONG + dt.timedelta(minutes=1)
    book.hold(FEED, _invoice("F-4"), "waiting", "order 1001 not in Norce", "run-1", _at(late))
    [problem] = _problems(settings)
    assert (problem.kind, problem.key) == ("document_waiting", "document-waiting:invoice:F-4")
    assert problem.command == "run.py orders show 1001"


def test_documents_refused_for_one_cause_are_one_problem_however_many(
    settings: Settings, book: DocumentBook
) -> None:
    for n in range(10):
        _send(book, _invoice(f"G-{n}"), "rejected", "Unknown currency XYZ")
    [ten] = _problems(settings)
    for n in range(10, 15):
        _send(book, _invoice(f"G-{n}"), "rejected", "Unknown currency XYZ")
    [fifteen] = _problems(settings)
    assert fifteen.key == ten.key  # a document refused for the same cause joins the problem
    assert (fifteen.kind, fifteen.subject) == ("document_refused", "15 invoice documents")
    assert fifteen.what.startswith("refused by Norce: Unknown currency XYZ; G-0, G-1")
    assert fifteen.what.endswith("and 5 more")

    _send(book, _invoice("H-1"), "rejected", "Unknown VAT code")
    other = [p for p in _problems(settings) if p.key != ten.key]
    assert [(p.subject, p.command) for p in other] == [
        (f"invoice H-1 (feed {FEED})", "run.py trace H-1")
    ]


def test_many_waiting_documents_are_one_problem_each(
    settings: Settings, book: DocumentBook
) -> None:
    late = WAITING_TOO_LONG + dt.timedelta(minutes=1)
    for n in range(12):
        book.hold(
            FEED, _invoice(f"W-{n}"), "waiting", "order 1001 not in Norce", "run-1", _at(late)
        )
    keys = sorted(p.key for p in _problems(settings))
    assert keys == sorted(f"document-waiting:invoice:W-{n}" for n in range(12))


def test_status_says_a_refused_document_needs_a_person(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desk = Desk(home)
    book = DocumentBook(desk.settings.folder("state") / "ledger.sqlite")
    try:
        _send(book, _invoice("F-9"), "rejected", "Unknown currency XYZ")
    finally:
        book.close()
    code, shown = desk.run(capsys, "status")
    assert code == 1
    assert shown.startswith("1 problem needs a person\n- document refused: invoice F-9")
