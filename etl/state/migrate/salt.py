"""The VM's privacy salt carried into the ledger's `privacy_salt` row with the tables.

On the VM (SQLite) the salt of the buyer index is the file `state/privacy/salt`; with
PostgreSQL every machine reads the ledger's one row (etl.privacy.shared_salt). The VM's purge
keyed the `order_buyers` HMACs with its file, so the move puts that salt into the row in
the same transaction as the tables: after the move `forget` on any machine still finds the
orders whose bodies the VM purged. The table itself is not copied (on SQLite it is empty).

A target whose only row is that very salt (a machine on the new settings asked for it
before the move; identical, so nothing hashed differently) is not "not empty". A target
with another salt is refused: machines there hashed with it, and one of the two indexes
would stop matching.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from etl.state.areas import Areas
from etl.state.ledger import catalog
from etl.state.migrate.refused import MoveRefused

TABLE = "privacy_salt"
ROW = 1  # the table's only row, as etl.privacy.shared_salt keeps it
FILE = "salt"  # etl.privacy.audit.SALT: the machine's salt, in hex


def vm_salt(home: Path) -> str | None:
    """The home's salt (hex), None when it never needed one."""
    path = Areas(home).privacy / FILE
    if not path.is_file():
        return None
    text = path.read_text(encoding="ascii").strip()
    try:
        bytes.fromhex(text)
    except ValueError as exc:
        raise MoveRefused(f"{path} is not a hex salt; nothing was moved") from exc
    return text


def refuse_other_salt(target: sqlite3.Connection | None, salt: str | None) -> None:
    """MoveRefused when the target ledger holds a salt that is not the home's."""
    held = target_salt(target)
    if held is None or salt is None or held == salt:
        return
    raise MoveRefused(
        "the PostgreSQL ledger holds a privacy salt (privacy_salt) that is not this home's "
        "state/privacy/salt: machines on the new settings have hashed buyers with it, and "
        "`forget` would no longer find the orders whose bodies this home purged. Nothing was "
        "moved. The move goes only into a ledger nothing has used (see docs/scale-out.md, "
        "'Moving a one-VM installation over')"
    )


def target_salt(target: sqlite3.Connection | None) -> str | None:
    """The salt row of the target ledger; None when it has none (or no such table yet)."""
    if target is None or TABLE not in catalog.tables(target):
        return None
    row = target.execute(f"SELECT salt FROM {TABLE} WHERE id=?", (ROW,)).fetchone()  # noqa: S608
    return str(row[0]) if row is not None else None


def carry_salt(target: sqlite3.Connection, salt: str | None) -> bool:
    """Insert the home's salt (inside the copy's transaction); whether there is one to carry."""
    if salt is None:
        return False
    target.execute(f"INSERT OR IGNORE INTO {TABLE} VALUES (?,?)", (ROW, salt))  # noqa: S608
    if target_salt(target) != salt:
        raise MoveRefused("the privacy salt did not land in privacy_salt; nothing was moved")
    return True
