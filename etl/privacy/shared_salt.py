"""The salt of the buyer index's HMACs: one per shop, whichever machine hashes or looks.

The order spool's purge notes each purged body's buyer as salted HMACs (`order_buyers`), and
`forget` finds the person's orders by hashing what it is asked with the same salt. With a
SQLite ledger one machine does both, with its own salt (`state/privacy/salt`). With
`[state] backend = "postgresql"` a purge on one worker and a `forget` on another must hash
alike, so the salt is kept in the ledger (`privacy_salt`, one row): the first machine that
needs one inserts it create-only, and every machine reads the row that won.
`run.py migrate-state` carries the VM's salt there, so the hashes it noted still match.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from etl.privacy import audit
from etl.state.ledger.connection import LedgerAt, connect, ledger_exists, transaction

ROW = 1  # the table's only row


def buyer_salt(ledger: LedgerAt, privacy: Path, *, create: bool) -> bytes | None:
    """The salt of the buyer index; None when there is none yet and `create` is False."""
    if isinstance(ledger, Path):
        if not create and not (privacy / audit.SALT).is_file():
            return None
        return audit.salt(privacy)
    if not create and not ledger_exists(ledger):
        return None
    return _ledger_salt(ledger, create=create)


def _ledger_salt(ledger: LedgerAt, *, create: bool) -> bytes | None:
    """The ledger's salt row, inserted first (create-only: the first insert wins) if asked."""
    db = connect(ledger)
    try:
        if create:
            with transaction(db):
                db.execute(
                    "INSERT OR IGNORE INTO privacy_salt VALUES (?,?)", (ROW, secrets.token_hex(32))
                )
        row = db.execute("SELECT salt FROM privacy_salt WHERE id=?", (ROW,)).fetchone()
    finally:
        db.close()
    return bytes.fromhex(row[0]) if row is not None else None
