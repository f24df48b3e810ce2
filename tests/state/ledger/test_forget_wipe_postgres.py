"""`forget` on a PostgreSQL ledger says the freed space is wiped only when no old value is left.

VACUUM FULL rewrites a table without the masked rows' old versions, but waits on a table in
use (a lock it cannot get), keeps versions an open snapshot may read, and only warns on a table
another role owns: each is "run forget again", never a crash after the masking committed and
never "wiped" with the old value still stored.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from etl.config.settings import load_settings
from etl.configuration_alert import configuration_loaded
from etl.embedded import SCHEMAS
from etl.privacy.ledger import LedgerErasure, mask_ledger
from etl.privacy.masking import Masker, Person
from etl.state.ledger.connection import connect, transaction
from etl.state.ledger.postgres import PostgresAt

EMAIL = "anna@example.com"


def _held_order_naming_her(at: PostgresAt) -> None:
    db = connect(at)
    with transaction(db):
        db.execute(
            "INSERT INTO order_holds (ref, reason, held_at) VALUES (?,?,?)",
            ("1001", f"buyer {EMAIL} unknown", "2026-12-01T00:00:00+00:00"),
        )
    db.close()


def _forget(at: PostgresAt) -> LedgerErasure:
    masker = Masker(Person(frozenset({EMAIL}), frozenset({EMAIL}), frozenset()))
    return mask_ledger(at, masker, write=True)


def test_a_table_in_use_is_not_wiped_and_says_so(postgres_at: PostgresAt) -> None:
    _held_order_naming_her(postgres_at)
    other = psycopg.connect(postgres_at.dsn)  # the receiver, reading in a transaction
    other.execute("SELECT count(*) FROM order_holds").fetchone()
    try:
        done = _forget(postgres_at)
    finally:
        other.rollback()
        other.close()
    assert done.counts == {"order_holds": (1, 1)}
    assert done.vacuumed is False


def test_an_open_snapshot_that_may_read_the_old_value_is_not_wiped(
    postgres_at: PostgresAt,
) -> None:
    _held_order_naming_her(postgres_at)
    other = psycopg.connect(postgres_at.dsn)  # a long report elsewhere
    other.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    other.execute("SELECT count(*) FROM orders").fetchone()  # its snapshot is taken now
    try:
        done = _forget(postgres_at)
        seen = [str(r[0]) for r in other.execute("SELECT reason FROM order_holds").fetchall()]
    finally:
        other.rollback()
        other.close()
    assert any(EMAIL in reason for reason in seen)  # it can: so the wipe is not done
    assert done.vacuumed is False


def test_tables_another_role_owns_are_not_reported_wiped(postgres_at: PostgresAt) -> None:
    _held_order_naming_her(postgres_at)
    role = f"etl_app_{uuid.uuid4().hex[:12]}"  # writes the tables, owns none of them
    with psycopg.connect(postgres_at.dsn, autocommit=True) as admin:
        schema = admin.execute("SELECT current_schema()").fetchall()[0][0]
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}')
        admin.execute(
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {role}'
        )
    app = PostgresAt(make_conninfo(postgres_at.dsn, user=role))
    done = _forget(app)
    assert done.counts == {"order_holds": (1, 1)}
    assert done.vacuumed is False


def test_an_unreachable_ledger_at_start_is_logged_not_raised(tmp_path: Path) -> None:
    (tmp_path / "etl.toml").write_text(
        f'schemas_dir = "{SCHEMAS}"\n[state]\nbackend = "postgresql"\ndsn_env = "DSN"\n',
        encoding="utf-8",
    )
    dsn = f"host={tmp_path} port=1 dbname=none user=none connect_timeout=2"
    settings = load_settings(tmp_path / "etl.toml", {"DSN": dsn}, tmp_path)
    configuration_loaded(settings, dt.datetime.now(dt.UTC))  # raises nothing
