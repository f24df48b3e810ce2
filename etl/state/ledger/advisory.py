"""Session advisory locks of a PostgreSQL ledger: a name held by one process on any machine.

PostgreSQL keeps them for the session that took them: released by `pg_advisory_unlock`, or by
the server when the session ends: at once when the process dies (its machine's kernel closes
the connection), and about a minute after the last packet when its machine loses its network
(the session's TCP keepalives, etl.state.ledger.postgres.KEEPALIVES; without them the OS's,
about two hours). Their two-key form keeps each use in a class of its own, so they never
meet the ledger's write lock (one 64-bit key, etl.state.ledger.postgres) or each other:

- `TOKENS`: fetching Norce's token (etl.state.ledger.norce_tokens), keyed by the client;
- `HOME_LOCKS`: the home's named locks across machines (etl.state.locks: the purge, `forget`,
  an export's layout), keyed by the ledger's schema and the lock's name, so two installations
  in two schemas of one database never wait for each other.

A name's key is `hashtext` of it (32 bits): two names whose hashes meet only make one wait for
the other, they never let two runs of one name through.
"""

from __future__ import annotations

from etl.state.ledger.pg_errors import LedgerUnreachable
from etl.state.ledger.postgres import PgConnection, PostgresAt, open_postgres

TOKENS = 1314
HOME_LOCKS = 1315


def try_lock(db: PgConnection, kind: int, name: str) -> bool:
    """Take the session's lock `name` of class `kind` without waiting; whether it was taken."""
    row = db.execute(f"SELECT pg_try_advisory_lock({int(kind)}, hashtext(?))", (name,)).fetchone()
    return bool(row is not None and row[0])


def unlock(db: PgConnection, kind: int, name: str) -> None:
    """Let go of a lock `try_lock` took in this session."""
    db.execute(f"SELECT pg_advisory_unlock({int(kind)}, hashtext(?))", (name,))


class LedgerLocks:
    """Named locks held in one session of their own, for as long as it is open.

    A session of its own: the ledger's connection is replaced when the server drops it, which
    would let go of a lock silently while its holder goes on.
    """

    def __init__(self, at: PostgresAt) -> None:
        self._db = open_postgres(at, {})  # it inserts nothing, so no key is numbered
        try:
            row = self._db.execute("SELECT current_database(), current_schema()").fetchone()
        except BaseException:
            self._db.close()
            raise
        self._scope = f"{row[0]}.{row[1] or ''}:" if row is not None else ""

    def take(self, name: str) -> bool:
        """Take `name` without waiting; False while another session holds it."""
        return try_lock(self._db, HOME_LOCKS, self._scope + name)

    def close(self) -> None:
        """Let go of every lock, then end the session.

        Closing alone only asks the server to end the session: its backend lets go of the locks
        when it gets to that, which on a loaded server came after the next purge had asked for
        them and been refused. `pg_advisory_unlock_all` answers once they are free. A session
        the server already dropped holds nothing, so it is not asked again on a new one.
        """
        try:
            if not self._db.broken:
                self._db.execute("SELECT pg_advisory_unlock_all()")
        except LedgerUnreachable:
            pass  # the session is gone, and its locks with it
        finally:
            self._db.close()
