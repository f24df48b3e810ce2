"""Compressed inputs: .gz and .zip are read as the file inside; bombs and odd archives refused."""

from __future__ import annotations

import gzip
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from etl.errors import ParseError
from etl.formats import read_file
from etl.settings import LocalStoreSettings
from tests.fixtures.encodings import SWEDISH, contract, gzipped, price_text, write, zipped
from tests.fixtures.feeds import SAMPLES, check, shipped
from tests.flows.helpers import manifests, run_once, settings_for

CP1252 = 'encoding = "cp1252"'
NAME = SWEDISH + " 5 €"


def assert_read_exactly(path: Path, scratch: Path) -> None:
    feed = contract(path.parent, CP1252)
    parsed = read_file(path, feed, scratch)
    assert parsed.frame["Benämning"].to_list() == [NAME, "x"]
    assert parsed.frame["_line"].to_list() == [2, 3]
    assert check(path, feed, scratch).valid["price_sale"].to_list() == [
        Decimal("1234.50"),
        Decimal("0.99"),
    ]
    assert not list(scratch.iterdir()), "the expanded copy is removed after reading"


def test_a_gz_file_is_read_as_the_file_inside(tmp_path: Path, scratch: Path) -> None:
    data = gzipped(price_text(NAME).encode("cp1252"))
    path = write(tmp_path / "prices.csv.gz", data)

    assert_read_exactly(path, scratch)
    assert path.read_bytes() == data, "the received file is left as it was"


def test_a_zip_is_read_as_its_one_data_file(tmp_path: Path, scratch: Path) -> None:
    members = {
        "export/": b"",
        "export/prices.csv": price_text(NAME).encode("cp1252"),
        "__MACOSX/export/._prices.csv": b"\x00\x05\x16\x07 resource fork",
        "export/.DS_Store": b"\x00\x00\x00\x01Bud1",
    }
    path = write(tmp_path / "prices.zip", zipped(members))

    assert_read_exactly(path, scratch)


@pytest.mark.parametrize("name", ["prices.csv", "products.csv", "stock.xml"])
def test_every_shipped_sample_reads_the_same_compressed(
    tmp_path: Path, scratch: Path, name: str
) -> None:
    [sample] = (SAMPLES / name.split(".")[0]).glob(f"*.{name.split('.')[1]}")
    feed = shipped(name.split(".")[0])
    plain = read_file(sample, feed, scratch).frame
    packed = write(tmp_path / f"{sample.name}.gz", gzipped(sample.read_bytes()))
    zipped_ = write(tmp_path / f"{sample.stem}.zip", zipped({sample.name: sample.read_bytes()}))

    assert read_file(packed, feed, scratch).frame.equals(plain)
    assert read_file(zipped_, feed, scratch).frame.equals(plain)


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"a.csv": b"x", "b.csv": b"y"}, "holds 2 (a.csv, b.csv)"),
        ({"folder/": b"", "__MACOSX/._a.csv": b"junk"}, "holds 0 (none)"),
    ],
)
def test_a_zip_without_exactly_one_data_file_is_refused_naming_them(
    tmp_path: Path, scratch: Path, members: dict[str, bytes], expected: str
) -> None:
    path = write(tmp_path / "prices.zip", zipped(members))

    with pytest.raises(ParseError) as caught:
        read_file(path, contract(tmp_path), scratch)

    assert "exactly one data file" in str(caught.value)
    assert expected in str(caught.value)


def test_a_gzip_bomb_is_refused_at_the_limit(tmp_path: Path, scratch: Path) -> None:
    # 200 MB of zeros in about 200 kB, written without ever holding it in memory.
    path = tmp_path / "prices.csv.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        for _ in range(200):
            out.write(bytes(1 << 20))
    assert path.stat().st_size < 2_000_000

    with pytest.raises(ParseError) as caught:
        read_file(path, contract(tmp_path, "max_expanded_bytes = 5000000"), scratch)

    assert "more than 5,000,000 bytes (format.max_expanded_bytes)" in str(caught.value)
    assert not list(scratch.iterdir()), "the partial copy is removed"


def test_a_zip_bomb_is_refused_at_the_limit(tmp_path: Path, scratch: Path) -> None:
    path = tmp_path / "prices.zip"
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("prices.csv", "w") as member,
    ):
        for _ in range(50):
            member.write(bytes(1 << 20))

    with pytest.raises(ParseError) as caught:
        read_file(path, contract(tmp_path, "max_expanded_bytes = 5000000"), scratch)

    assert "more than 5,000,000 bytes (format.max_expanded_bytes)" in str(caught.value)
    assert not list(scratch.iterdir())


def test_a_file_just_under_the_limit_is_read(tmp_path: Path, scratch: Path) -> None:
    data = price_text(NAME).encode("cp1252")
    path = write(tmp_path / "prices.csv.gz", gzipped(data))
    feed = contract(tmp_path, f"{CP1252}\nmax_expanded_bytes = {len(data)}")

    assert read_file(path, feed, scratch).frame.height == 2
    with pytest.raises(ParseError, match="max_expanded_bytes"):
        read_file(path, contract(tmp_path, f"max_expanded_bytes = {len(data) - 1}"), scratch)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("prices.csv.gz", gzipped(b"ItemNo;Price\r\n" * 1000)[:-30], "not a readable gzip file"),
        ("prices.csv.gz", b"ItemNo;Price\r\n1;2\r\n", "not a readable gzip file"),
        ("prices.zip", b"ItemNo;Price\r\n1;2\r\n", "not a readable zip archive"),
        ("prices.zip", zipped({"p.csv": b"x" * 5000})[:-200], "not a readable zip archive"),
    ],
    ids=["gz-truncated", "gz-not-gzip", "zip-not-zip", "zip-truncated"],
)
def test_a_damaged_archive_is_refused(
    tmp_path: Path, scratch: Path, name: str, data: bytes, expected: str
) -> None:
    path = write(tmp_path / name, data)

    with pytest.raises(ParseError, match=expected):
        read_file(path, contract(tmp_path), scratch)
    assert not list(scratch.iterdir())


def test_a_member_path_never_chooses_where_it_is_written(tmp_path: Path, scratch: Path) -> None:
    data = price_text(NAME).encode("cp1252")
    path = write(tmp_path / "prices.zip", zipped({"../../escaped.csv": data}))

    assert read_file(path, contract(tmp_path, CP1252), scratch).frame.height == 2
    assert not list(tmp_path.rglob("escaped.csv"))


def test_the_flow_archives_the_compressed_file_as_received(home: Path, tmp_path: Path) -> None:
    schema = home / "schemas" / "prices.toml"
    schema.write_text(schema.read_text().replace('"prices_*.csv"', '"prices_*.csv.gz"'))
    drop = tmp_path / "drop" / "prices"
    drop.mkdir(parents=True)
    [sample] = (SAMPLES / "prices").glob("*.csv")
    data = gzipped(sample.read_bytes())
    (drop / f"{sample.name}.gz").write_bytes(data)
    (drop / f"{sample.name}.gz.done").touch()
    settings = settings_for(home, LocalStoreSettings(root=drop.parent))

    [outcome] = run_once(settings, "prices")

    assert outcome.outcome == "committed", outcome.message
    [archived] = (home / "archive" / "prices").rglob(f"{sample.name}.gz")
    assert archived.read_bytes() == data
    assert manifests(home, "prices")[-1]["counts"]["rows"] == 12
    assert not [p for p in (home / "inbox").rglob("*") if p.is_file()]
