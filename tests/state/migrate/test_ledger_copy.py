"""The ledger copy on its own: numbers kept and never given twice, and a row PostgreSQL would
silently change caught by the checksum and rolled back."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.state.ledger import catalog
from etl.state.ledger.connection import connect
from etl.state.ledger.postgres import PostgresAt
from etl.state.migrate.ledger_copy import LedgerCopyFailed, copy_ledger, row_counts

ALERT = (
    "INSERT INTO alerts (key, kind, subject, what, did, since, opened_at) VALUES (?,?,?,?,?,?,?)"
)
RUN = "INSERT INTO runs (run_id, feed, kind, started_at, outcome) VALUES (?, 'p', 'file', 't', ?)"


def _copied(source_path: Path, target: PostgresAt) -> None:
    source, db = connect(source_path), connect(target)
    try:
        copy_ledger(source, db, catalog.tables(source))
    finally:
        source.close()
        db.close()


def test_numbers_are_kept_and_the_next_one_is_past_every_number_sqlite_gave(
    tmp_path: Path, postgres_at: PostgresAt
) -> None:
    vm = connect(tmp_path / "ledger.sqlite")
    for n in range(1, 5):
        vm.execute(ALERT, (f"k{n}", "kind", "s", "w", "d", "t", "t"))
    vm.execute("DELETE FROM alerts WHERE alert_id IN (3, 4)")  # SQLite never gives 4 again
    for run_id in ("r1", "r2", "r3"):
        vm.execute(RUN, (run_id, "committed"))
    vm.execute("DELETE FROM runs WHERE run_id='r1'")  # rowids 2 and 3 stay
    vm.close()

    _copied(tmp_path / "ledger.sqlite", postgres_at)

    db = connect(postgres_at)
    try:
        kept = db.execute("SELECT alert_id FROM alerts ORDER BY alert_id").fetchall()
        made = db.execute(ALERT, ("k5", "kind", "s", "w", "d", "t", "t")).lastrowid
        rowids = db.execute("SELECT run_id, rowid FROM runs ORDER BY rowid").fetchall()
        db.execute(RUN, ("r4", "running"))
        newest = db.execute("SELECT run_id FROM runs ORDER BY rowid DESC LIMIT 1").fetchone()
    finally:
        db.close()
    assert [r[0] for r in kept] == [1, 2] and made == 5
    assert [tuple(r) for r in rowids] == [("r2", 2), ("r3", 3)]
    assert newest[0] == "r4"  # insertion order goes on past the copied rows


def test_a_value_postgresql_would_change_fails_the_checksum_and_nothing_is_copied(
    tmp_path: Path, postgres_at: PostgresAt
) -> None:
    vm = connect(tmp_path / "ledger.sqlite")
    vm.execute(RUN, ("r1", "committed"))
    # SQLite keeps 1.5 in an INTEGER column as it is; PostgreSQL's bigint would round it.
    vm.execute("INSERT INTO poll_watermarks VALUES ('orders', 'm', 't', ?)", (1.5,))
    vm.close()

    with pytest.raises(
        LedgerCopyFailed, match=r"table poll_watermarks: 1 rows read .* but 1 landed"
    ):
        _copied(tmp_path / "ledger.sqlite", postgres_at)

    db = connect(postgres_at)
    try:
        assert set(row_counts(db, catalog.tables(db)).values()) == {0}
    finally:
        db.close()
