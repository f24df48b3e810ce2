"""Norce's access token, shared by every process on a PostgreSQL ledger.

Norce's token endpoint answers 3 requests a minute per IP: N workers each fetching its own token
at start (and after each expiry) would be refused. So on a PostgreSQL ledger the token lives in
the ledger (table norce_tokens, one row per tenant and client), and whoever finds it stale
fetches a new one while holding a session advisory lock of its own: the others wait for that
lock, then read the new token. A process that dies while fetching ends its session, and the
server releases the lock. The token is a bearer secret: it is kept as the ledger keeps the
rest (access to the ledger is access to the shop's data), and never logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from etl.state.ledger.connection import Tables

# The two-key form of the advisory lock: its keys never meet the ledger's write lock's
# (one 64-bit key), so fetching a token never holds up a ledger write.
_LOCK = "SELECT pg_advisory_lock(1314, hashtext(?))"
_UNLOCK = "SELECT pg_advisory_unlock(1314, hashtext(?))"
_FRESH = "SELECT token, refresh_at FROM norce_tokens WHERE client=? AND refresh_at > ?"

# A token and when (wall clock, seconds since the epoch) it should be fetched again.
Fetched = tuple[str, float]


class SharedTokens(Tables):
    """The tokens of the norce_tokens table; `token` fetches one at a time across processes."""

    def token(
        self, client: str, fetch: Callable[[], Fetched], now: Callable[[], float] = time.time
    ) -> Fetched:
        """The client's token: the one in the ledger while fresh, else fetched (one fetcher)."""
        found = self._fresh(client, now())
        if found is not None:
            return found
        self._db.execute(_LOCK, (client,))  # waits while another process fetches
        try:
            found = self._fresh(client, now())  # it may have just stored a new one
            if found is not None:
                return found
            value, refresh_at = fetch()
            with self._tx() as db:
                db.execute(
                    "INSERT INTO norce_tokens (client, token, refresh_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (client) DO UPDATE SET token=excluded.token, "
                    "refresh_at=excluded.refresh_at",
                    (client, value, refresh_at),
                )
            return value, refresh_at
        finally:
            self._db.execute(_UNLOCK, (client,))

    def refused(self, client: str, value: str) -> None:
        """Norce refused this token: the next `token` fetches (unless one came meanwhile)."""
        with self._tx() as db:
            db.execute("DELETE FROM norce_tokens WHERE client=? AND token=?", (client, value))

    def _fresh(self, client: str, now: float) -> Fetched | None:
        row = self._db.execute(_FRESH, (client, now)).fetchone()
        return (str(row["token"]), float(row["refresh_at"])) if row is not None else None
