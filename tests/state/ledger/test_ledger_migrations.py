"""The ledger's schema has one owner (etl.state.ledger.migrations) and a version (PRAGMA user_version).

`fixtures/ledger_v0.sqlite` was written by the code as it was before the ledger had a
version: every part opened once, with a few rows (a committed run and its snapshot, two
orders, a sent invoice, a party event, a poll watermark). Opening it must keep every row and
bring it to the latest version; a ledger from a newer program must be refused untouched.
"""

from __future__ import annotations

import ast
import re
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

import etl
from etl.errors import EtlError
from etl.privacy.ledger import mask_ledger
from etl.privacy.masking import Masker, Person
from etl.state.ledger.connection import connect
from etl.state.ledger.feed_runs import Ledger
from etl.state.ledger.migrations import LATEST, MIGRATIONS, Migration
from etl.state.ledger.watermarks import Watermarks
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.parties.book import PartyBook
from etl.to_norce.documents.book import DocumentBook

V0 = Path(__file__).resolve().parents[2] / "fixtures" / "ledger_v0.sqlite"
MIGRATIONS_MODULE = Path(etl.__file__).parent / "state" / "ledger" / "migrations.py"
DIALECT_MODULE = MIGRATIONS_MODULE.with_name("dialect.py")  # translates the schema, creates none


def _version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def _schema(path: Path) -> set[tuple[str, str]]:
    """Every table and index by name with its DDL, as SQLite keeps it."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
    finally:
        db.close()
    return {(str(name), " ".join(str(sql).split())) for name, sql in rows}


def test_a_ledger_made_before_versions_opens_with_its_rows_and_at_the_latest(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite"
    shutil.copyfile(V0, path)
    assert _version(path) == 0

    ledger = Ledger(path)
    try:
        run = ledger.run("r1")
        assert run is not None and run.outcome == "committed" and run.counts == {"rows": 2}
        assert ledger.current_snapshot("products") == (
            "state/snapshots/products/r1.parquet",
            "r1",
            2,
        )
    finally:
        ledger.close()
    orders = OrderBook(path)
    try:
        assert orders.counts() == {"spooled": 1, "held": 1}
    finally:
        orders.close()
    documents = DocumentBook(path)
    try:
        invoice = documents.find("invoice", "INV-1")
        assert invoice is not None and invoice.state == "sent"
    finally:
        documents.close()
    parties = PartyBook(path)
    try:
        assert parties.spool_names() == {"p1.json"}
    finally:
        parties.close()
    marks = Watermarks(path)
    try:
        mark = marks.get("orders")
        assert mark is not None and mark.isoformat() == "2026-11-20T09:00:00+00:00"
    finally:
        marks.close()

    assert _version(path) == LATEST
    assert _schema(path) >= _schema(V0)  # every table and index it had, unchanged


def test_a_fresh_ledger_gets_every_table_today_s_code_made(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.sqlite"
    connect(path).close()
    assert _version(path) == LATEST
    assert _schema(path) >= _schema(V0)


def test_a_ledger_from_a_newer_program_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    shutil.copyfile(V0, path)
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={LATEST + 1}")
    before = path.read_bytes()

    with pytest.raises(EtlError) as refused:
        Ledger(path)

    message = str(refused.value)
    assert str(path) in message and f"version {LATEST + 1}" in message
    assert f"version {LATEST}" in message
    assert path.read_bytes() == before
    assert _version(path) == LATEST + 1


def test_concurrent_opens_apply_each_migration_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    # A step that fails if applied twice (no IF NOT EXISTS) and counts its applications.
    counted: Migration = (
        "CREATE TABLE applied (n INTEGER NOT NULL)",
        "INSERT INTO applied VALUES (1)",
    )
    migrations = (*MIGRATIONS, counted)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def open_once() -> None:
        start.wait()
        try:
            connect(path, migrations).close()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_once) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert _version(path) == len(migrations)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM applied").fetchone()[0] == 1


_DDL = re.compile(
    r"\bCREATE\s+(?:UNIQUE\s+|TEMP\s+|TEMPORARY\s+)*(?:TABLE|INDEX|VIEW|TRIGGER)\b", re.I
)


def test_no_table_is_created_outside_the_migrations_module() -> None:
    package = Path(etl.__file__).parent
    found = []
    for source in sorted(package.rglob("*.py")):
        if source in (MIGRATIONS_MODULE, DIALECT_MODULE):  # the schema, and its PostgreSQL words
            continue
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            if _DDL.search(node.value):
                found.append(f"{source.relative_to(package)}:{node.lineno}")
    assert found == [], (
        f"schema belongs in etl/state/ledger/migrations.py as a new migration: {found}"
    )


def test_forget_refuses_to_mask_a_ledger_a_newer_program_migrated(tmp_path: Path) -> None:
    """`run.py forget` opens the ledger without etl.state.ledger.connection.connect: it checks the version too."""
    path = tmp_path / "ledger.sqlite"
    shutil.copyfile(V0, path)
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={LATEST + 1}")
    before = path.read_bytes()
    anyone = Masker(Person(frozenset({"K-1005"}), frozenset(), frozenset({"Eva"})))

    with pytest.raises(EtlError, match=f"schema version {LATEST + 1}"):
        mask_ledger(path, anyone, write=True)

    assert path.read_bytes() == before
