"""Norce's access token, shared by every process on a PostgreSQL ledger.

Norce's token endpoint answers 3 requests a minute per IP: N workers each fetching its own token
at start (and after each expiry) would be refused. So on a PostgreSQL ledger the token lives in
the ledger (table norce_tokens, one row per tenant and client), and whoever finds it stale
fetches a new one while holding a session advisory lock of its own: the others poll for the
new token (or the lock) meanwhile. A process that dies while fetching ends its session, and the
server releases the lock. The token is a bearer secret: it is kept as the ledger keeps the
rest (access to the ledger is access to the shop's data), and never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import cast

from etl.errors import EtlError, NorceUnavailable
from etl.state.ledger.advisory import TOKENS, try_lock, unlock
from etl.state.ledger.connection import Tables
from etl.state.ledger.postgres import PgConnection

log = logging.getLogger(__name__)

WAIT_SECONDS = 600  # longer than a token fetch's retries (5 attempts, back-off, Retry-After)
_POLL_SECONDS = 0.5
_FRESH = "SELECT token, refresh_at FROM norce_tokens WHERE client=? AND refresh_at > ?"

# A token and when (wall clock, seconds since the epoch) it should be fetched again.
Fetched = tuple[str, float]


class SharedTokens(Tables):
    """The tokens of the norce_tokens table; `token` fetches one at a time across processes."""

    def token(
        self,
        client: str,
        fetch: Callable[[], Fetched],
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Fetched:
        """The client's token: the one in the ledger while fresh, else fetched (one fetcher)."""
        deadline = now() + WAIT_SECONDS
        while True:
            found = self._fresh(client, now())
            if found is not None:
                return found
            # Polled, not waited for: a fetch may retry for minutes, longer than a statement
            # may wait for a lock (lock_timeout), and a new token may come in meanwhile.
            # A class of advisory lock of its own: never the ledger's write lock.
            if try_lock(self._session(), TOKENS, client):
                break
            if now() > deadline:
                raise NorceUnavailable(
                    f"another process has been fetching Norce's token for over {WAIT_SECONDS} s"
                    " (see its log); this call is tried again with the next run"
                )
            sleep(_POLL_SECONDS)
        try:
            found = self._fresh(client, now())  # it may have just stored a new one
            if found is not None:
                return found
            value, refresh_at = fetch()
            self._store(client, value, refresh_at)
            return value, refresh_at
        finally:
            unlock(self._session(), TOKENS, client)

    def _session(self) -> PgConnection:
        # Tokens are shared only on a PostgreSQL ledger, whose connection is a PgConnection.
        return cast(PgConnection, self._db)

    def _store(self, client: str, value: str, refresh_at: float) -> None:
        # A token fetched is one of three a minute: if the ledger cannot keep it (its session
        # dropped while the fetch waited), this process still uses it; the others fetch theirs.
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO norce_tokens (client, token, refresh_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (client) DO UPDATE SET token=excluded.token, "
                    "refresh_at=excluded.refresh_at",
                    (client, value, refresh_at),
                )
        except EtlError as exc:
            log.warning("the Norce token fetched could not be shared in the ledger: %s", exc)

    def refused(self, client: str, value: str) -> None:
        """Norce refused this token: the next `token` fetches (unless one came meanwhile)."""
        with self._tx() as db:
            db.execute("DELETE FROM norce_tokens WHERE client=? AND token=?", (client, value))

    def _fresh(self, client: str, now: float) -> Fetched | None:
        row = self._db.execute(_FRESH, (client, now)).fetchone()
        return (str(row["token"]), float(row["refresh_at"])) if row is not None else None
