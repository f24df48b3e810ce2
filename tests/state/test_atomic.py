"""The one atomic write: whole files in place, owner-only, and a crash leaves the old file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from etl.state import staged
from etl.state.atomic import (
    TEMP_GLOB,
    atomic_file,
    atomic_path,
    is_temp,
    temp_path,
    write_atomically,
    write_text_atomically,
)
from etl.state.spool import Spool
from tests.support.paths import REPO

OLD = b"the old content\n"


def test_bytes_land_whole_and_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "call.json"

    write_atomically(path, b'{"a": 1}')

    assert path.read_bytes() == b'{"a": 1}'
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["call.json"]


def test_text_is_utf8_and_replaces_what_was_there(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(OLD)

    write_text_atomically(path, "Varumärke ✓")

    assert path.read_bytes() == "Varumärke ✓".encode()
    assert os.listdir(tmp_path) == ["manifest.json"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_the_mode_asked_for_is_the_mode_given_whatever_the_umask(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "file"
    before = os.umask(0o077)
    try:
        write_atomically(path, b"x", mode=mode)
    finally:
        os.umask(before)

    assert path.stat().st_mode & 0o777 == mode


def test_a_stream_lands_only_when_its_block_ends(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(OLD)

    with atomic_file(path) as handle:
        handle.write(b"a;b\n")
        assert path.read_bytes() == OLD  # a reader still sees the old file
        handle.write(b"1;2\n")

    assert path.read_bytes() == b"a;b\n1;2\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["big.csv"]


def test_an_error_in_the_stream_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(OLD)

    with pytest.raises(RuntimeError, match="render failed"), atomic_file(path) as handle:
        handle.write(b"half a fi")
        raise RuntimeError("render failed")

    assert path.read_bytes() == OLD
    assert os.listdir(tmp_path) == ["big.csv"]


def test_a_library_writing_by_name_goes_through_a_temp_path(tmp_path: Path) -> None:
    path = tmp_path / "snap.parquet"
    frame = pl.DataFrame({"part_no": ["A1", "B2"]})

    with atomic_path(path) as temp:
        assert is_temp(temp) and temp.parent == tmp_path
        frame.write_parquet(temp)
        assert not path.exists()

    assert pl.read_parquet(path).equals(frame)
    assert path.stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["snap.parquet"]


def test_a_library_that_fails_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    path.write_bytes(OLD)

    with pytest.raises(OSError), atomic_path(path) as temp:
        temp.write_bytes(b"half")
        raise OSError("disk full")

    assert path.read_bytes() == OLD
    assert os.listdir(tmp_path) == ["report.xlsx"]


def test_temp_names_are_hidden_distinct_and_what_the_clean_up_looks_for(tmp_path: Path) -> None:
    path = tmp_path / "ORD-1-0123456789abcdef.json"

    names = {temp_path(path) for _ in range(100)}

    assert len(names) == 100
    for name in names:
        assert name.parent == tmp_path and name.name.startswith(".")
        assert name.match(TEMP_GLOB) and is_temp(name)
    assert not is_temp(path)


def test_a_name_as_long_as_the_disk_takes_still_gets_a_temp_name(tmp_path: Path) -> None:
    path = tmp_path / ("å" * 120 + ".csv")  # 244 bytes in UTF-8

    write_atomically(path, b"x")

    assert len(temp_path(path).name.encode()) <= 255
    assert os.listdir(tmp_path) == [path.name]


WRITER = """
import sys
from pathlib import Path
from etl.state.atomic import atomic_file

with atomic_file(Path(sys.argv[1])) as handle:
    handle.write(b"new, half written")
    handle.flush()
    print("writing", flush=True)
    sys.stdin.read()  # killed here, between the write and the rename
"""


def test_a_writer_killed_mid_write_leaves_the_old_file_and_a_temp_the_clean_up_takes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "spool" / "ORD-1-0123456789abcdef.json"
    path.parent.mkdir()
    path.write_bytes(OLD)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"writing\n"
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
    finally:
        if writer.poll() is None:
            writer.kill()

    assert path.read_bytes() == OLD
    [left] = [p for p in path.parent.iterdir() if p != path]
    assert left.read_bytes() == b"new, half written"
    # What runtime and the receiver sweep ask etl.state.staged for: dead temp files by age.
    dead = staged.untouched_since(path.parent, TEMP_GLOB, time.time() + 1)
    assert dead == [left]
    staged.remove(dead)
    assert os.listdir(path.parent) == [path.name]


def test_threads_writing_one_path_at_once_all_succeed(tmp_path: Path) -> None:
    """The receiver's worker threads share a pid: a temp name by pid alone collides."""
    errors: list[BaseException] = []
    body = b"x" * 200_000
    for attempt in range(20):
        spool = Spool(tmp_path / str(attempt))
        start = threading.Barrier(8)

        def put(spool: Spool = spool, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                spool.put("ORD-1", body, "json")
            except BaseException as exc:  # collected: the test names what every thread met
                errors.append(exc)

        threads = [threading.Thread(target=put) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    for attempt in range(20):
        [written] = (tmp_path / str(attempt)).iterdir()
        assert written.read_bytes() == body
