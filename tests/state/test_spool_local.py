"""The local spool's own write: a new body under its name, fsync'd, no temp and no rename."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from etl.state.spool import Spool
from etl.state.spool_base import matches_name, spool_name

BODY = b'{"ClientOrderRef": "R1", "CurrencyCode": "SEK"}'


def test_a_new_body_is_created_under_its_own_name_private_and_nothing_else(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path / "spool" / "orders")  # the folder is made by the first put
    old_umask = os.umask(0o000)
    try:
        spooled = spool.put("R1", BODY, "json")
    finally:
        os.umask(old_umask)
    assert [p.name for p in spool.folder.iterdir()] == [spooled.name]
    assert spooled.path is not None and spooled.path.read_bytes() == BODY
    assert stat.S_IMODE(spooled.path.stat().st_mode) == 0o600


def test_a_body_torn_under_its_name_is_replaced_whole_by_the_retry(tmp_path: Path) -> None:
    # A crash while a body was written leaves a part of it under its name (never answered
    # OK); the sender's retry of the same body must put the whole body there.
    spool = Spool(tmp_path / "spool")
    name = spool_name("R1", hashlib.sha256(BODY).hexdigest(), "json")
    spool.folder.mkdir()
    (spool.folder / name).write_bytes(BODY[:10])
    assert not matches_name(name, (spool.folder / name).read_bytes())

    spooled = spool.put("R1", BODY, "json")

    assert spooled.name == name
    assert spool.read(name) == BODY and matches_name(name, BODY)
    assert [p.name for p in spool.folder.iterdir()] == [name]  # no temp left behind


def test_the_same_body_put_again_is_rewritten_whole_under_the_same_name(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    first = spool.put("R1", BODY, "json")
    assert first.path is not None
    inode = first.path.stat().st_ino
    again = spool.put("R1", BODY, "json")
    assert again == first and spool.read(first.name) == BODY
    # A fresh file and rename, so the fsyncs have something to write even if an earlier
    # fsync of this body failed (Linux reports such an error once).
    assert first.path.stat().st_ino != inode
