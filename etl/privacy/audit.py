"""The erasure log: which request was carried out when, and where, with no personal value.

The request is kept as an HMAC over what was asked (`customer:K-1005`), keyed by a salt
that stays on this machine (`state/privacy/salt`): the same request asked again gives the
same id, so an auditor holding the request can check it was done, while the log alone
names nobody. Places are counted, never listed with values.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from etl.state.atomic import fsync_dir

LOG = "erasures.jsonl"
SALT = "salt"


def request_id(folder: Path, kind: str, value: str) -> str:
    """The request's salted hash (the salt is made once, owner-only)."""
    salt = _salt(folder)
    asked = f"{kind}:{value.strip().casefold()}".encode()
    return "hmac-sha256:" + hmac.new(salt, asked, hashlib.sha256).hexdigest()


def hashed_with(salt: bytes, values: Iterable[str]) -> list[str]:
    """Hashes of `values` keyed by `salt` (case and spaces aside), sorted, each once."""
    return sorted(
        {hmac.new(salt, v.strip().casefold().encode(), hashlib.sha256).hexdigest() for v in values}
    )


def append(folder: Path, record: dict[str, Any]) -> Path:
    """Add one record to the erasure log, durably; returns the log's path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG
    line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    fsync_dir(folder)
    return path


def records(folder: Path) -> list[dict[str, Any]]:
    """Every erasure recorded, oldest first."""
    path = folder / LOG
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def salt(folder: Path) -> bytes:
    """This machine's privacy salt (made once, owner-only): the key of every HMAC we keep."""
    return _salt(folder)


def _salt(folder: Path) -> bytes:
    path = folder / SALT
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
            handle.flush()
            os.fsync(handle.fileno())
    return bytes.fromhex(path.read_text(encoding="ascii").strip())
