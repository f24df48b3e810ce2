"""procrastinate's tables beside the ledger's are none of `forget`'s (issue 21).

With `[worker]` given no DSN of its own, the task queue's tables land in the ledger's schema.
They hold job, lock and queue names and each periodic run's timestamp, never a person; and a
row of them changed under a running worker (a job's lock) would change what the queue
guarantees. So `forget` masks only the tables the ledger's migrations made.
"""

from __future__ import annotations

import psycopg

from etl.privacy.ledger import mask_ledger
from etl.privacy.masking import Masker, Person
from etl.state.ledger import catalog
from etl.state.ledger.connection import connect, transaction
from etl.state.ledger.postgres import PostgresAt
from etl.worker.queue_db import prepare_schema

EMAIL = "eva.ek@example.se"
# A lock name that reads like the person's value: a name the operator gave (a feed, a layout).
LOCK = f"parties->{EMAIL}"


def _queue_and_ledger_rows(at: PostgresAt) -> None:
    db = connect(at)
    try:
        with transaction(db):
            db.execute(
                "INSERT INTO order_holds (ref, reason, held_at) VALUES (?,?,?)",
                ("1001", f"buyer {EMAIL} unknown", "2026-12-01T00:00:00+00:00"),
            )
    finally:
        db.close()
    assert prepare_schema(at.dsn)  # the worker's first start: procrastinate's schema, here
    with psycopg.connect(at.dsn, autocommit=True) as queue:
        queue.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock, args) "
            "VALUES ('default', 'etl.parties', %s, %s, '{\"timestamp\": 1}')",
            (LOCK, LOCK),
        )


def _job_locks(at: PostgresAt) -> list[tuple[str, str]]:
    with psycopg.connect(at.dsn) as queue:
        rows = queue.execute("SELECT lock, queueing_lock FROM procrastinate_jobs").fetchall()
    return [(str(a), str(b)) for a, b in rows]


def test_forget_masks_the_ledgers_tables_and_leaves_the_queues(postgres_at: PostgresAt) -> None:
    _queue_and_ledger_rows(postgres_at)
    masker = Masker(Person(frozenset({EMAIL}), frozenset({EMAIL}), frozenset()))

    done = mask_ledger(postgres_at, masker, write=True)

    assert done.counts == {"order_holds": (1, 1)}
    assert _job_locks(postgres_at) == [(LOCK, LOCK)]


def test_the_ledgers_tables_are_those_its_migrations_made(postgres_at: PostgresAt) -> None:
    _queue_and_ledger_rows(postgres_at)
    db = connect(postgres_at)
    try:
        listed = catalog.tables(db)
    finally:
        db.close()
    assert set(listed) == catalog.OWN_TABLES
    assert not [t for t in listed if t.startswith("procrastinate")]
