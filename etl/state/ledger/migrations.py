"""The ledger's schema, owned in one place: an ordered list of migrations for the whole file.

Every part that keeps state (runs and snapshots, orders, parties, documents, poll
watermarks) has tables in the same SQLite file, `state/ledger.sqlite`. Its version is
`PRAGMA user_version`: the number of migrations applied. `etl.state.ledger.connection.connect` applies the
missing ones in one BEGIN IMMEDIATE transaction, so the scheduler and the receiver opening
at once cannot both apply one, and a crash halfway leaves the ledger at the version before.
On PostgreSQL (`[state] backend = "postgresql"`) the same migrations run, translated by
etl.state.ledger.dialect, in one transaction under the ledger's write lock, and the version
is the one row of the `ledger_schema` table.

A ledger of a newer version than this program knows is refused before anything is written:
an older program must never write into tables whose meaning it does not know. A ledger is
never downgraded.

To change the schema, append a migration; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from etl.errors import EtlError
from etl.state.ledger.postgres import SCHEMA_TABLE, PgConnection, PostgresAt

Migration = tuple[str, ...]  # SQL statements, run in order


def _exported_files(table: str) -> str:
    """A book's export-file table (orders and parties export the same way)."""
    return f"""CREATE TABLE IF NOT EXISTS {table} (
    export_id TEXT PRIMARY KEY, layout TEXT NOT NULL, file_name TEXT NOT NULL, state TEXT NOT NULL,
    sha256 TEXT NOT NULL, size INTEGER NOT NULL, created_at TEXT NOT NULL, finished_at TEXT,
    UNIQUE (layout, file_name))"""


# 1: the schema as every part created it before the ledger had a version. IF NOT EXISTS on
# purpose: a ledger from then is at version 0 with some or all of these tables already there.
_MASTER_DATA: Migration = (
    """CREATE TABLE IF NOT EXISTS files (
    feed TEXT NOT NULL, sha256 TEXT NOT NULL, remote_path TEXT NOT NULL, size INTEGER NOT NULL,
    mtime REAL NOT NULL, state TEXT NOT NULL, run_id TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (feed, sha256))""",
    """CREATE TABLE IF NOT EXISTS seen (
    feed TEXT NOT NULL, remote_path TEXT NOT NULL, size INTEGER NOT NULL, mtime REAL NOT NULL,
    state TEXT NOT NULL, run_id TEXT NOT NULL, PRIMARY KEY (feed, remote_path, size, mtime))""",
    """CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, feed TEXT NOT NULL, kind TEXT NOT NULL, remote_path TEXT,
    sha256 TEXT, started_at TEXT NOT NULL, finished_at TEXT, outcome TEXT NOT NULL,
    counts TEXT NOT NULL DEFAULT '{}', job_ids TEXT NOT NULL DEFAULT '[]',
    archive_dir TEXT, message TEXT)""",
    "CREATE INDEX IF NOT EXISTS runs_by_feed ON runs (feed, started_at)",
    """CREATE TABLE IF NOT EXISTS snapshots (
    feed TEXT PRIMARY KEY, path TEXT NOT NULL, run_id TEXT NOT NULL, rows INTEGER NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS reading (run_id TEXT PRIMARY KEY)",
    """CREATE TABLE IF NOT EXISTS replays (
    feed TEXT NOT NULL, of_run TEXT NOT NULL, sha256 TEXT NOT NULL, input TEXT NOT NULL,
    asked_at TEXT NOT NULL, run_id TEXT, PRIMARY KEY (feed, of_run, asked_at))""",
    """CREATE TABLE IF NOT EXISTS holds (
    run_id TEXT PRIMARY KEY, feed TEXT NOT NULL, created_at TEXT NOT NULL, removals INTEGER NOT NULL,
    reason TEXT NOT NULL, state TEXT NOT NULL, decided_at TEXT, decided_by TEXT)""",
)
_ORDERS: Migration = (
    """CREATE TABLE IF NOT EXISTS orders (
    ref TEXT PRIMARY KEY, sha256 TEXT NOT NULL, spool_name TEXT NOT NULL, kind TEXT NOT NULL,
    source TEXT NOT NULL, received_at TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,
    generation INTEGER NOT NULL DEFAULT 1, updated_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS orders_by_state ON orders (state, received_at)",
    """CREATE TABLE IF NOT EXISTS order_variants (
    ref TEXT NOT NULL, sha256 TEXT NOT NULL, spool_name TEXT NOT NULL, received_at TEXT NOT NULL,
    PRIMARY KEY (ref, sha256))""",
    """CREATE TABLE IF NOT EXISTS order_resend_bodies (
    ref TEXT NOT NULL, generation INTEGER NOT NULL, sha256 TEXT NOT NULL,
    spool_name TEXT NOT NULL, kind TEXT NOT NULL, chosen_at TEXT NOT NULL,
    PRIMARY KEY (ref, generation))""",
    """CREATE TABLE IF NOT EXISTS order_holds (
    ref TEXT NOT NULL, reason TEXT NOT NULL, held_at TEXT NOT NULL, released_at TEXT,
    released_by TEXT)""",
    "CREATE INDEX IF NOT EXISTS order_holds_by_ref ON order_holds (ref, held_at)",
    """CREATE TABLE IF NOT EXISTS order_buyers (
    buyer TEXT NOT NULL, ref TEXT NOT NULL, PRIMARY KEY (buyer, ref))""",
    """CREATE TABLE IF NOT EXISTS order_export_items (
    layout TEXT NOT NULL, ref TEXT NOT NULL, generation INTEGER NOT NULL, export_id TEXT NOT NULL,
    PRIMARY KEY (layout, ref, generation))""",
    _exported_files("order_exports"),
    """CREATE TABLE IF NOT EXISTS poll_watermarks (
    name TEXT PRIMARY KEY, mark TEXT NOT NULL, saved_at TEXT NOT NULL, orders INTEGER NOT NULL)""",
)
_PARTIES: Migration = (
    """CREATE TABLE IF NOT EXISTS party_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, norce_id INTEGER NOT NULL,
    event TEXT NOT NULL, sha256 TEXT NOT NULL, spool_name TEXT NOT NULL, source TEXT NOT NULL,
    received_at TEXT NOT NULL, claimed_at TEXT)""",
    "CREATE INDEX IF NOT EXISTS party_events_by_sha ON party_events (sha256)",
    "CREATE INDEX IF NOT EXISTS party_events_by_party ON party_events (kind, norce_id)",
    """CREATE TABLE IF NOT EXISTS party_outcomes (
    layout TEXT NOT NULL, seq INTEGER NOT NULL, outcome TEXT NOT NULL, export_id TEXT,
    reason TEXT, at TEXT NOT NULL, PRIMARY KEY (layout, seq))""",
    "CREATE INDEX IF NOT EXISTS party_outcomes_by_export ON party_outcomes (export_id)",
    _exported_files("party_exports"),
)
_DOCUMENTS: Migration = (
    """CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL, doc_no TEXT NOT NULL, feed TEXT NOT NULL, sha256 TEXT NOT NULL,
    state TEXT NOT NULL, document TEXT NOT NULL, client_order_ref INTEGER, erp_order_no TEXT,
    fees TEXT NOT NULL DEFAULT '[]', attempts INTEGER NOT NULL DEFAULT 0, message TEXT,
    run_id TEXT NOT NULL, first_seen TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, doc_no))""",
    "CREATE INDEX IF NOT EXISTS documents_by_feed ON documents (feed, state)",
    "CREATE INDEX IF NOT EXISTS documents_by_order ON documents (kind, client_order_ref, erp_order_no)",
    # The document book's own data steps (etl.to_norce.documents.book), each done once and named here.
    "CREATE TABLE IF NOT EXISTS document_book_steps (name TEXT PRIMARY KEY, at TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS document_conflicts (
    kind TEXT NOT NULL, doc_no TEXT NOT NULL, sha256 TEXT NOT NULL, feed TEXT NOT NULL,
    run_id TEXT NOT NULL, seen_at TEXT NOT NULL, PRIMARY KEY (kind, doc_no, sha256))""",
)

# The alert book (etl.alerts.book): one row per problem from when it appears until it is gone
# (at most one open row per key, so two processes cannot both open it), a row per message
# and channel (claimed in a transaction, so each is sent by one process), each channel's
# backoff, and each long-lived process's heartbeat (etl.state.ledger.heartbeats).
_ALERTS: Migration = (
    """CREATE TABLE IF NOT EXISTS alerts (
    alert_id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, kind TEXT NOT NULL,
    subject TEXT NOT NULL, what TEXT NOT NULL, did TEXT NOT NULL, command TEXT,
    since TEXT NOT NULL, opened_at TEXT NOT NULL, resolved_at TEXT)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS alerts_open_key ON alerts (key) WHERE resolved_at IS NULL",
    """CREATE TABLE IF NOT EXISTS alert_sends (
    alert_id INTEGER NOT NULL, message TEXT NOT NULL, channel TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, claimed_at TEXT, sent_at TEXT, last_error TEXT,
    PRIMARY KEY (alert_id, message, channel))""",
    "CREATE INDEX IF NOT EXISTS alert_sends_by_channel ON alert_sends (channel, state)",
    """CREATE TABLE IF NOT EXISTS alert_channels (
    channel TEXT PRIMARY KEY, failures INTEGER NOT NULL, failing_since TEXT, next_try_at TEXT,
    last_error TEXT)""",
    """CREATE TABLE IF NOT EXISTS heartbeats (
    process TEXT PRIMARY KEY, at TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL,
    stopped_at TEXT)""",
)

MIGRATIONS: tuple[Migration, ...] = (
    (*_MASTER_DATA, *_ORDERS, *_PARTIES, *_DOCUMENTS),  # 1: the unversioned schema
    # why an operator asked for a replay (`run.py replay RUN --why`), shown with its run
    (
        """CREATE TABLE IF NOT EXISTS replay_reasons (
    feed TEXT NOT NULL, of_run TEXT NOT NULL, asked_at TEXT NOT NULL, why TEXT NOT NULL,
    PRIMARY KEY (feed, of_run, asked_at))""",
    ),
    _ALERTS,  # alerts sent and resolved, heartbeats
    # how each job of a pass last ended (etl.state.ledger.job_outcomes)
    (
        """CREATE TABLE IF NOT EXISTS job_outcomes (
    job TEXT PRIMARY KEY, outcome TEXT NOT NULL, message TEXT NOT NULL, at TEXT NOT NULL,
    failing_since TEXT, last_ok TEXT)""",
    ),
    # which orders each order-file layout still owes (etl.to_erp.orders.due), so the export
    # reads only what is due: the layouts that have exported, and what they owe now
    (
        "CREATE TABLE IF NOT EXISTS order_layouts (layout TEXT PRIMARY KEY)",
        """CREATE TABLE IF NOT EXISTS order_owed (
    layout TEXT NOT NULL, ref TEXT NOT NULL, generation INTEGER NOT NULL,
    PRIMARY KEY (layout, ref, generation))""",
        "INSERT OR IGNORE INTO order_layouts SELECT DISTINCT layout FROM order_exports",
        # CROSS JOIN since PostgreSQL came: SQLite read the shipped `JOIN ... WHERE` the same.
        """INSERT OR IGNORE INTO order_owed SELECT l.layout, o.ref, o.generation
    FROM order_layouts l CROSS JOIN orders o WHERE o.state='exported' AND NOT EXISTS (
    SELECT 1 FROM order_export_items i WHERE i.layout=l.layout AND i.ref=o.ref
    AND i.generation=o.generation)""",
    ),
    # an exported file's orders are found by its export_id when its upload finishes: without
    # the index SQLite built one per file, so finishing 10,000 files cost the square of them
    ("CREATE INDEX IF NOT EXISTS order_export_items_by_export ON order_export_items (export_id)",),
    # Norce's token, shared by the processes of a PostgreSQL ledger (etl.state.ledger.norce_tokens)
    (
        """CREATE TABLE IF NOT EXISTS norce_tokens (
    client TEXT PRIMARY KEY, token TEXT NOT NULL, refresh_at REAL NOT NULL)""",
    ),
    # the privacy salt of a PostgreSQL ledger, one row shared by every machine
    # (etl.privacy.shared_salt); a SQLite ledger's machine keeps its own in state/privacy/salt
    ("CREATE TABLE IF NOT EXISTS privacy_salt (id INTEGER PRIMARY KEY, salt TEXT NOT NULL)",),
    # who wrote a heartbeat: the scheduler, a worker (beating for the jobs as "scheduler") or
    # the receiver (etl.state.ledger.heartbeats); NULL in a row from before
    ("ALTER TABLE heartbeats ADD COLUMN writer TEXT",),
)
LATEST = len(MIGRATIONS)


def version(db: sqlite3.Connection) -> int:
    """The number of migrations the ledger has had (0: new, or made before versions)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def refuse_newer(db: sqlite3.Connection, path: Path, known: int) -> int:
    """The ledger's version, unless a newer program wrote it: then an EtlError, nothing written."""
    return _known(version(db), path, known)


def _known(found: int, where: Path | PostgresAt, known: int) -> int:
    """`found`, unless it is newer than this program: then an EtlError."""
    if found > known:
        raise EtlError(
            f"{where}: the ledger is at schema version {found}, this program knows up to "
            f"version {known}; run the newer program (a ledger is never downgraded)"
        )
    return found


def migrate(db: sqlite3.Connection, path: Path, migrations: Sequence[Migration]) -> None:
    """Apply the migrations the ledger lacks, all in one immediate transaction."""
    if refuse_newer(db, path, len(migrations)) == len(migrations):
        return
    # The write lock first, then look again: another process may have migrated meanwhile.
    db.execute("BEGIN IMMEDIATE")
    try:
        found = refuse_newer(db, path, len(migrations))
        for statement in (s for m in migrations[found:] for s in m):
            db.execute(statement)
        db.execute(f"PRAGMA user_version={len(migrations)}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


# On PostgreSQL the version lives in a table of its own (PRAGMA user_version is SQLite's).
_PG_VERSION = f"SELECT version FROM {SCHEMA_TABLE}"  # noqa: S608 (a constant)


def pg_version(db: PgConnection) -> int:
    """The number of migrations a PostgreSQL ledger has had (0: a new database or schema)."""
    exists = db.execute(f"SELECT to_regclass('{SCHEMA_TABLE}')").fetchone()
    if exists is None or exists[0] is None:
        return 0
    row = db.execute(_PG_VERSION).fetchone()
    return int(row[0]) if row is not None else 0


def migrate_postgres(db: PgConnection, at: PostgresAt, migrations: Sequence[Migration]) -> None:
    """Refuse a newer schema, else apply what is missing in one transaction, under the lock."""
    if _known(pg_version(db), at, len(migrations)) == len(migrations):
        return
    with db.transaction():  # the write lock first, then look again, as BEGIN IMMEDIATE does
        found = _known(pg_version(db), at, len(migrations))
        db.run_schema(f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (version INTEGER NOT NULL)")
        for statement in (s for m in migrations[found:] for s in m):
            db.run_schema(statement)
        db.execute(f"DELETE FROM {SCHEMA_TABLE}")  # noqa: S608 (a constant)
        db.execute(f"INSERT INTO {SCHEMA_TABLE} VALUES (?)", (len(migrations),))  # noqa: S608
