"""The Store contract: every test here runs against LocalStore and SftpStore (password, key)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from etl.config.contracts import SourceSpec
from etl.errors import TransportError
from etl.to_norce.intake import Candidate, settle_remote
from etl.transport import RemoteFile, Store
from tests.support.store_backends import STORE_NAME, Backend

MTIME = 1_700_000_000  # whole seconds: SFTP v3 carries no fractions
BIG = os.urandom(5 * 1024 * 1024)


def put(root: Path, rel: str, data: bytes, mtime: int = MTIME) -> Path:
    """Arrange a file behind the store's back."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def put_raw(root: Path, rel: bytes, data: bytes, mtime: int = MTIME) -> bytes:
    """Arrange a file whose name is bytes as a server holds them (maybe not UTF-8)."""
    path = os.fsencode(root) + b"/" + rel
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    os.utime(path, (mtime, mtime))
    return path


def leftovers(root: Path) -> list[str]:
    """Temp files an upload left behind."""
    return sorted(str(p.relative_to(root)) for p in root.rglob(".*.part"))


# -- list -----------------------------------------------------------------------------------


def test_list_returns_regular_files_directly_in_folder(store: Store, root: Path) -> None:
    put(root, "in/a.csv", b"abc")
    put(root, "in/b.xml", b"<x>hello</x>", mtime=MTIME + 60)
    put(root, "in/deeper/c.csv", b"not listed")
    (root / "in/empty-dir").mkdir()
    (root / "in/link.csv").symlink_to(root / "in/a.csv")

    listed = sorted(store.list("in"), key=lambda f: f.path)

    assert listed == [
        RemoteFile("in/a.csv", 3, float(MTIME)),
        RemoteFile("in/b.xml", 12, float(MTIME + 60)),
    ]
    assert all(isinstance(f.mtime, float) for f in listed)


def test_list_of_root_gives_plain_names(store: Store, root: Path) -> None:
    put(root, "top.csv", b"1")
    assert [f.path for f in store.list(".")] == ["top.csv"]


def test_list_missing_folder_is_empty(store: Store) -> None:
    assert store.list("no/such/folder") == []


def test_list_of_a_folder_that_must_exist_names_it(store: Store) -> None:
    with pytest.raises(TransportError, match=r"'no/such/folder'.*does not exist"):
        store.list("no/such/folder", missing_ok=False)


def test_a_missing_root_is_an_error_naming_it(backend: Backend, root: Path) -> None:
    root.rmdir()
    store = backend.make()
    for folder in (".", "in"):
        with pytest.raises(TransportError, match=f"root .*{root.name}.* does not exist"):
            store.list(folder)


def test_list_large_folder(store: Store, root: Path) -> None:
    # Several READDIR replies' worth (asyncssh sends at most 128 names in one).
    (root / "many").mkdir()
    for i in range(300):
        (root / f"many/f{i:03}.csv").write_bytes(b"x")
    listed = store.list("many")
    assert {f.name for f in listed} == {f"f{i:03}.csv" for i in range(300)}


# -- names ----------------------------------------------------------------------------------

# "prisålista.csv" as a Windows ERP writes it: Windows-1252 bytes, not UTF-8.
CP1252_NAME = b"pris\xe5lista.csv"


def test_a_name_that_is_not_utf8_is_listed_and_reached_by_its_bytes(
    store: Store, root: Path, tmp_path: Path
) -> None:
    put_raw(root, b"in/" + CP1252_NAME, b"abc")
    put(root, "in/plain.csv", b"p")

    listed = sorted(store.list("in"), key=lambda f: f.path)

    assert [f.path for f in listed] == ["in/plain.csv", "in/prisålista.csv"]
    assert store.stat("in/prisålista.csv") == listed[1]
    assert store.exists("in/prisålista.csv")
    store.download("in/prisålista.csv", tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == b"abc"
    store.rename("in/prisålista.csv", "in/processed/prisålista.csv")
    assert os.listdir(os.fsencode(root / "in" / "processed")) == [CP1252_NAME]


def test_a_utf8_and_a_cp1252_name_that_read_alike_stay_two_files(
    store: Store, root: Path, tmp_path: Path
) -> None:
    put_raw(root, "in/å.csv".encode(), b"utf-8")
    put_raw(root, b"in/\xe5.csv", b"cp1252")
    names = sorted(f.name for f in store.list("in"))
    assert names == ["\\xe5.csv", "å.csv"]
    store.download("in/å.csv", tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == b"utf-8"


NAMES = ["a\\b.csv", "a\nb.csv", "a\x1b[2Jb.csv", "products_[1].csv", "p*?.csv", "p\u202egsm.csv"]


@pytest.mark.parametrize("name", NAMES)
def test_any_name_is_listed_as_itself(store: Store, root: Path, name: str) -> None:
    put(root, f"in/{name}", b"x")
    assert [f.name for f in store.list("in")] == [name]


def test_a_name_is_never_read_as_a_glob(store: Store, root: Path, tmp_path: Path) -> None:
    put(root, "in/products_[1].csv", b"bracketed")
    put(root, "in/products_1.csv", b"one")
    store.download("in/products_[1].csv", tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == b"bracketed"
    assert store.stat("in/products_[1].csv") == RemoteFile("in/products_[1].csv", 9, MTIME)
    assert not store.exists("in/products_?.csv")
    assert store.stat("in/products_*.csv") is None


# -- stat -----------------------------------------------------------------------------------


def test_stat_sees_a_file_as_a_listing_does(store: Store, root: Path) -> None:
    put(root, "in/a.csv", b"abc")
    (root / "in/dir").mkdir()
    (root / "in/link.csv").symlink_to(root / "in/a.csv")
    [listed] = store.list("in")
    assert store.stat("in/a.csv") == listed == RemoteFile("in/a.csv", 3, float(MTIME))
    assert store.stat("in/missing.csv") is None
    assert store.stat("nowhere/missing.csv") is None
    assert store.stat("in/dir") is None  # a folder is not a file
    assert store.stat("in/link.csv") is None  # left out of listings too


# -- download -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [b"", b"id;name\n1;\xc3\xa5\r\n", BIG], ids=["empty", "small", "5MB"]
)
def test_download_is_byte_exact(store: Store, root: Path, tmp_path: Path, data: bytes) -> None:
    put(root, "out/file.bin", data)
    target = tmp_path / "local/new/dir/.file.bin.tmp"
    store.download("out/file.bin", target)
    assert target.read_bytes() == data


def test_download_missing_file_fails_and_leaves_no_target(store: Store, tmp_path: Path) -> None:
    target = tmp_path / "t.bin"
    with pytest.raises(TransportError, match=r"missing\.csv"):
        store.download("in/missing.csv", target)
    assert not target.exists()


# -- upload ---------------------------------------------------------------------------------


def test_upload_creates_folders_and_leaves_no_temp(
    store: Store, root: Path, tmp_path: Path
) -> None:
    source = tmp_path / "order.xml"
    source.write_bytes(BIG)
    store.upload(source, "orders/2026/order.xml")
    assert (root / "orders/2026/order.xml").read_bytes() == BIG
    assert leftovers(root) == []
    assert store.exists("orders/2026/order.xml")


def test_upload_refuses_to_overwrite(store: Store, root: Path, tmp_path: Path) -> None:
    put(root, "orders/order.xml", b"first")
    source = tmp_path / "order.xml"
    source.write_bytes(b"second")
    with pytest.raises(TransportError, match="already exists"):
        store.upload(source, "orders/order.xml")
    assert (root / "orders/order.xml").read_bytes() == b"first"
    assert leftovers(root) == []


def test_upload_of_missing_source_leaves_nothing(store: Store, root: Path, tmp_path: Path) -> None:
    with pytest.raises(TransportError):
        store.upload(tmp_path / "nope.xml", "orders/order.xml")
    assert list(root.iterdir()) == []


def test_an_upload_straight_to_its_name_creates_folders_and_no_other_file(
    store: Store, root: Path, tmp_path: Path
) -> None:
    source = tmp_path / "order.xml"
    source.write_bytes(BIG)
    store.upload(source, "orders/ubl/order.xml.part", through_temp=False)
    assert [p.name for p in (root / "orders/ubl").iterdir()] == ["order.xml.part"]
    assert (root / "orders/ubl/order.xml.part").read_bytes() == BIG
    found = store.stat("orders/ubl/order.xml.part")
    assert found is not None and (found.path, found.size) == ("orders/ubl/order.xml.part", len(BIG))


def test_an_upload_straight_to_its_name_never_overwrites(
    store: Store, root: Path, tmp_path: Path
) -> None:
    put(root, "orders/order.xml.part", b"first")
    (root / "orders/link.part").symlink_to(root / "orders/order.xml.part")
    source = tmp_path / "order.xml"
    source.write_bytes(b"second")
    for taken in ("orders/order.xml.part", "orders/link.part"):
        with pytest.raises(TransportError, match="already exists"):
            store.upload(source, taken, through_temp=False)
    assert (root / "orders/order.xml.part").read_bytes() == b"first"
    assert sorted(p.name for p in (root / "orders").iterdir()) == ["link.part", "order.xml.part"]


# -- rename ---------------------------------------------------------------------------------


def test_rename_creates_target_folder(store: Store, root: Path) -> None:
    put(root, "in/a.csv", b"abc")
    store.rename("in/a.csv", "archive/2026/11/a.csv")
    assert not (root / "in/a.csv").exists()
    assert (root / "archive/2026/11/a.csv").read_bytes() == b"abc"


def test_rename_refuses_to_overwrite(store: Store, root: Path) -> None:
    put(root, "in/a.csv", b"new")
    put(root, "done/a.csv", b"old")
    with pytest.raises(TransportError, match="already exists"):
        store.rename("in/a.csv", "done/a.csv")
    assert (root / "in/a.csv").read_bytes() == b"new"
    assert (root / "done/a.csv").read_bytes() == b"old"


def test_rename_missing_file_fails(store: Store) -> None:
    with pytest.raises(TransportError, match=r"missing\.csv"):
        store.rename("in/missing.csv", "done/missing.csv")


# -- remove, exists -------------------------------------------------------------------------


def test_remove_deletes_one_file(store: Store, root: Path) -> None:
    put(root, "in/a.csv", b"a")
    put(root, "in/b.csv", b"b")
    store.remove("in/a.csv")
    assert [f.path for f in store.list("in")] == ["in/b.csv"]


def test_remove_missing_file_fails(store: Store) -> None:
    with pytest.raises(TransportError, match=r"gone\.csv"):
        store.remove("in/gone.csv")


def test_exists(store: Store, root: Path) -> None:
    put(root, "in/a.csv", b"a")
    assert store.exists("in/a.csv")
    assert not store.exists("in/b.csv")
    assert not store.exists("nowhere/b.csv")
    assert not store.exists("in")  # a folder is not a file


# -- paths that leave the root --------------------------------------------------------------

ESCAPES = ["../x", "/etc/passwd", "a/../../x", "", "a\\..\\x", "a\x00b"]


@pytest.mark.parametrize("bad", ESCAPES)
def test_paths_leaving_the_root_are_refused(
    store: Store, root: Path, tmp_path: Path, bad: str
) -> None:
    put(root, "in/a.csv", b"a")
    source = put(tmp_path, "src.csv", b"s")
    calls: list[Callable[[], object]] = [
        lambda: store.list(bad),
        lambda: store.download(bad, tmp_path / "t"),
        lambda: store.upload(source, bad),
        lambda: store.rename("in/a.csv", bad),
        lambda: store.rename(bad, "in/b.csv"),
        lambda: store.remove(bad),
        lambda: store.exists(bad),
        lambda: store.stat(bad),
    ]
    for call in calls:
        with pytest.raises(TransportError, match="refused path") as caught:
            call()
        assert STORE_NAME in str(caught.value)
    assert (root / "in/a.csv").exists()


# -- read-only ------------------------------------------------------------------------------


def test_read_only_store_reads_but_refuses_changes(
    backend: Backend, root: Path, tmp_path: Path
) -> None:
    store = backend.make(read_only=True)
    assert store.read_only
    put(root, "in/a.csv", b"a")
    source = put(tmp_path, "src.csv", b"s")
    assert [f.path for f in store.list("in")] == ["in/a.csv"]
    store.download("in/a.csv", tmp_path / "copy.csv")
    changes: list[Callable[[], object]] = [
        lambda: store.upload(source, "in/b.csv"),
        lambda: store.rename("in/a.csv", "done/a.csv"),
        lambda: store.remove("in/a.csv"),
    ]
    for call in changes:
        with pytest.raises(TransportError, match="read-only"):
            call()
    assert sorted(p.name for p in root.rglob("*")) == ["a.csv", "in"]


# -- identity and lifecycle -----------------------------------------------------------------


def test_store_names_itself_in_errors(store: Store) -> None:
    assert store.name == STORE_NAME
    assert not store.read_only
    with pytest.raises(TransportError, match=f"'{STORE_NAME}'.*'in/gone.csv'"):
        store.remove("in/gone.csv")


def test_context_manager_returns_the_store(store: Store, root: Path) -> None:
    put(root, "a.csv", b"a")
    with store as entered:
        assert entered is store
        assert entered.exists("a.csv")


def test_a_cp1252_name_sent_twice_is_moved_on_twice(store: Store, root: Path) -> None:
    """processed/ already holds those bytes: the second file goes beside them, never blocks."""
    source = SourceSpec(folder="in", pattern="*.csv")
    for content in (b"first", b"second"):
        put_raw(root, b"in/" + CP1252_NAME, content)
        [listed] = store.list("in")
        settle_remote(store, source, Candidate(listed), "committed")
    processed = root / "in" / "processed"
    moved = sorted((processed / os.fsdecode(n)).read_bytes() for n in os.listdir(processed))
    assert moved == [b"first", b"second"]
    assert not [n for n in os.listdir(root / "in") if n != "processed"]
