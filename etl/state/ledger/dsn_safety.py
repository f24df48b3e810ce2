"""Driver messages about a DSN, told without the DSN: it holds a password.

libpq echoes what it cannot parse ("invalid percent-encoded token: "<password>"") and a
server's refusal names the user; either would land in the log. So a DSN is parsed here
first, and a parse failure says only where the DSN came from; every other driver message
has each part of the DSN (the whole string, password, user, ...) blotted out, and its
lines joined, before it is shown.
"""

from __future__ import annotations

import importlib
from typing import Any

from etl.errors import EtlError

HIDDEN = "***"
# Parts too common to blot out (a host "localhost" or port "5432" is no secret, and hiding
# every "5432" would garble a message); the rest are blotted out wherever they occur.
_SHOWN_PARTS = frozenset({"host", "hostaddr", "port", "dbname", "sslmode", "options"})


def _conninfo_to_dict(dsn: str) -> dict[str, Any]:
    """psycopg's DSN parser, imported on use: a SQLite ledger works without psycopg."""
    conninfo = importlib.import_module("psycopg.conninfo")
    return dict(conninfo.conninfo_to_dict(dsn))


def checked_dsn(dsn: str, source: str) -> dict[str, str]:
    """The DSN's parts, or an EtlError naming `source` (never the driver's echo of it)."""
    try:
        parts = _conninfo_to_dict(dsn)
    except Exception:  # psycopg.ProgrammingError, whose text quotes the DSN's token
        # `from None`: the cause's text would carry the password into a traceback.
        raise EtlError(
            f"the DSN in {source} cannot be parsed; write it as a URI "
            "(postgresql://user:password@host/db, a '%' in the password as %25) "
            "or as key=value pairs"
        ) from None
    return {key: str(value) for key, value in parts.items() if value is not None}


def scrubbed(message: object, dsn: str) -> str:
    """A driver's message on one line with the DSN and its secret parts blotted out."""
    text = " ".join(str(message).split())
    secrets = {dsn, *_secret_parts(dsn)}
    for secret in sorted((s for s in secrets if len(s) >= 2), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


def _secret_parts(dsn: str) -> list[str]:
    """The parts of the DSN worth hiding; none when it cannot be parsed (it was refused)."""
    try:
        parts = _conninfo_to_dict(dsn)
    except Exception:  # already refused by checked_dsn; nothing more to learn from it
        return []
    return [str(v) for k, v in parts.items() if v is not None and k not in _SHOWN_PARTS]
