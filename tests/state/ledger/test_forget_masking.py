"""`forget` masks the person in the ledger's rows on SQLite and on PostgreSQL alike.

(Here, not in tests/privacy/: the ledger of each backend is this folder's fixture.)

Rows are named by their table's primary key (`documents`: kind and number), or by the rowid
where a table has none (`order_holds`; PostgreSQL gives it a `rowid` column): every row of
the person is masked, every other row is left as it was.
"""

from __future__ import annotations

from etl.privacy.ledger import mask_ledger
from etl.privacy.masking import Masker, Person
from etl.state.ledger.connection import LedgerAt, connect, transaction

EMAIL = "anna@example.com"
OTHER = "bo@example.com"


def _rows(at: LedgerAt) -> None:
    db = connect(at)
    try:
        with transaction(db):
            for ref, who in (("1001", EMAIL), ("1002", OTHER), ("1003", EMAIL)):
                db.execute(
                    "INSERT INTO order_holds (ref, reason, held_at) VALUES (?,?,?)",
                    (ref, f"buyer {who} unknown", "2026-12-01T00:00:00+00:00"),
                )
    finally:
        db.close()


def _reasons(at: LedgerAt) -> list[tuple[str, str]]:
    db = connect(at)
    try:
        rows = db.execute("SELECT ref, reason FROM order_holds ORDER BY ref").fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]
    finally:
        db.close()


def test_the_persons_rows_are_masked_by_key_and_no_other(ledger_alone: LedgerAt) -> None:
    # a database of its own: PostgreSQL's VACUUM keeps what any session of it may still see
    _rows(ledger_alone)
    masker = Masker(Person(frozenset({EMAIL}), frozenset({EMAIL}), frozenset()))

    dry = mask_ledger(ledger_alone, masker, write=False)
    assert dry.counts == {"order_holds": (2, 2)}
    assert (
        sum(EMAIL in reason for _, reason in _reasons(ledger_alone)) == 2
    )  # a dry run writes none

    done = mask_ledger(ledger_alone, masker, write=True)
    assert done.counts == {"order_holds": (2, 2)} and done.vacuumed
    reasons = dict(_reasons(ledger_alone))
    assert EMAIL not in " ".join(reasons.values())
    assert reasons["1002"] == f"buyer {OTHER} unknown"
