"""Owner-only files: what the product keeps under its home holds personal data.

The ledger, the order spool, customer snapshots, rejected-row reports and Norce payloads all
carry names, e-mail addresses and addresses. Files are written from many places (SQLite,
polars, openpyxl, plain `open`), so the one place that can make every one of them private is
the process umask: 077 at start-up, whatever the user's login set. The working roots that an
earlier run made with the user's umask are closed at start (0700 on the root hides everything
under it). A local store is the exception: it stands in for the ERP's server, so what we put
there gets the modes the user's own umask gives (see `store_mode`).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from etl.state.areas import ROOTS

log = logging.getLogger(__name__)

WORKING_ROOTS = ROOTS  # every top folder under home (etl.state.areas)

# The umask the process started with; None until `keep_private` ran.
_user_umask: int | None = None


def keep_private(home: Path) -> None:
    """Owner-only from here on: umask 077, and the working roots under `home` set to 0700."""
    global _user_umask
    previous = os.umask(0o077)
    if _user_umask is None or previous != 0o077:  # 077 now is most likely our own, kept
        _user_umask = previous
    for name in WORKING_ROOTS:
        root = home / name
        if root.is_dir() and not root.is_symlink():
            root.chmod(0o700)


def store_mode(path: Path, *, folder: bool = False) -> None:
    """Give a file or folder placed in a local store the mode the user's umask would give."""
    umask = _user_umask if _user_umask is not None else _current_umask()
    path.chmod((0o777 if folder else 0o666) & ~umask)


def make_store_folders(folder: Path) -> None:
    """`folder.mkdir(parents=True)`, each folder it creates set by `store_mode`."""
    missing = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    folder.mkdir(parents=True, exist_ok=True)
    for created in reversed(missing):
        store_mode(created, folder=True)


def make_private_folder(folder: Path, *, exist_ok: bool = False) -> None:
    """`folder` (its parents made as needed), readable by this user only, umask aside."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=exist_ok)
    folder.chmod(0o700)


def remove_leftover(folder: Path, what: str) -> bool:
    """Remove `what` an interrupted `forget` left in `folder` (logged); whether it was there."""
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    log.warning("removed %s an interrupted forget left in %s", what, folder)
    return True


def _current_umask() -> int:
    """The process umask (reading it means setting it; it is put back at once)."""
    umask = os.umask(0o077)
    os.umask(umask)
    return umask
