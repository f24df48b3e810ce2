"""Compressed inputs: .gz and .zip are read as the files inside; bombs and odd archives refused."""

from __future__ import annotations

import csv
import gzip
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from etl.config.settings import LocalStoreSettings
from etl.errors import ParseError, SchemaMismatch
from etl.models import place
from etl.read.formats import read_file
from etl.read.reports import CHECK_ROWS, FileFacts, RowCounts, write_reports
from etl.to_norce.records import rejection_report
from tests.fixtures.encodings import SWEDISH, contract, gzipped, price_text, write, zipped
from tests.fixtures.feeds import check, shipped
from tests.support.masterdata import manifests, run_once, settings_for
from tests.support.paths import SAMPLES

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


HEADER_LINE = "ItemNo;PriceList;Qty;Currency;Price;Cost;Benämning\r\n"


def part(*rows: str) -> bytes:
    """One file of a split export: the header, then `rows`."""
    return (HEADER_LINE + "".join(f"{r}\r\n" for r in rows)).encode("cp1252")


def test_a_zip_of_several_files_is_read_as_one_export_in_archive_order(
    tmp_path: Path, scratch: Path
) -> None:
    members = {
        "export/": b"",
        "export/b/prices.csv": part("A-1;L;1;SEK;1234,50;;x", "A-2;L;1;SEK;2,00;;y"),
        "export/a/prices.csv": part("B-1;L;1;EUR;0,99;;z"),  # same base name, other folder
        "__MACOSX/export/._prices.csv": b"junk",
    }
    path = write(tmp_path / "prices.zip", zipped(members))

    parsed = read_file(path, contract(tmp_path, CP1252), scratch)

    assert parsed.frame["ItemNo"].to_list() == ["A-1", "A-2", "B-1"]
    assert parsed.frame["_line"].to_list() == [2, 3, 5]
    assert [(p.name, p.offset) for p in parsed.parts] == [
        ("export/b/prices.csv", 0),
        ("export/a/prices.csv", 3),
    ]
    assert [place(parsed.parts, n) for n in (2, 3, 5)] == [
        ("export/b/prices.csv", 2),
        ("export/b/prices.csv", 3),
        ("export/a/prices.csv", 2),
    ]
    assert not list(scratch.iterdir()), "the expanded copies are removed after reading"


def test_a_key_in_two_files_of_a_zip_names_each_file_and_its_line(
    tmp_path: Path, scratch: Path
) -> None:
    members = {
        "p1.csv": part("A-1;L;1;SEK;1234,50;;x", "A-2;L;1;SEK;2,00;;y"),
        "p2.csv": part("A-3;L;1;SEK;oops;;z", "A-1;L;1;SEK;3,00;;w"),
    }
    path = write(tmp_path / "prices.zip", zipped(members))

    validated = check(path, contract(tmp_path, CP1252), scratch)

    rows = validated.rejections.select("line", "code", "message").rows()
    assert [(line, code) for line, code, _ in rows] == [
        (2, "duplicate_key"),
        (5, "type"),
        (6, "duplicate_key"),
    ]
    assert "lines p1.csv line 2, p2.csv line 3" in rows[0][2]
    assert validated.valid["part_no"].to_list() == ["A-2"]


def test_the_report_of_a_zip_of_several_files_names_the_file_and_its_own_line(
    tmp_path: Path, scratch: Path
) -> None:
    members = {
        "p1.csv": part("A-1;L;1;SEK;1234,50;;x"),
        "p2.csv": part("A-2;L;1;SEK;2,00;;y", "A-3;L;1;SEK;=1+2;;z"),
    }
    path = write(tmp_path / "prices.zip", zipped(members))
    feed = contract(tmp_path, CP1252)
    validated = check(path, feed, scratch)

    report = rejection_report(
        path,
        feed,
        validated.rejections,
        facts=FileFacts.of(path),
        outcome=CHECK_ROWS,
        rows=RowCounts(validated.rows_read, validated.valid.height, validated.rejected_rows),
        scratch=scratch,
        parts=validated.parts,
    )
    xlsx, csv_path = write_reports(report, tmp_path / "out", "prices.rejected")

    sheet = openpyxl.load_workbook(xlsx)["Rejected cells"]
    head, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert head[:2] == ["File in archive", "Line"]
    assert [(r[0], r[1], r[5]) for r in rows] == [("p2.csv", 3, "type")]
    assert rows[0][-1] == "A-3;L;1;SEK;=1+2;;z"  # the raw line of the right file
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        [csv_head, csv_row] = list(csv.reader(handle))
    assert (csv_head[:2], csv_row[:2]) == (["File in archive", "Line"], ["p2.csv", "3"])


def test_files_of_a_zip_with_other_columns_are_refused_naming_them(
    tmp_path: Path, scratch: Path
) -> None:
    other = b"ItemNo;PriceList;Qty;Currency;Pris;Cost;Ben\xe4mning\r\nA-9;L;1;SEK;1,00;;x\r\n"
    members = {"p1.csv": part("A-1;L;1;SEK;1234,50;;x"), "p2.csv": other}
    path = write(tmp_path / "prices.zip", zipped(members))

    with pytest.raises(SchemaMismatch) as caught:
        read_file(path, contract(tmp_path, CP1252), scratch)

    assert str(caught.value) == (
        "prices.zip: p2.csv does not have the columns of p1.csv (missing ['Price']; "
        "not in the first ['Pris']); the files of one zip must be parts of the same export"
    )


def test_a_zip_without_a_data_file_is_refused(tmp_path: Path, scratch: Path) -> None:
    members = {"folder/": b"", "__MACOSX/._a.csv": b"junk", "folder/.DS_Store": b"x"}
    path = write(tmp_path / "prices.zip", zipped(members))

    with pytest.raises(ParseError, match=r"prices\.zip: the zip archive holds no data file"):
        read_file(path, contract(tmp_path), scratch)


def test_the_expansion_limit_counts_every_file_of_a_zip(tmp_path: Path, scratch: Path) -> None:
    data = part("A-1;L;1;SEK;1234,50;;x")
    path = write(tmp_path / "prices.zip", zipped({"p1.csv": data, "p2.csv": data}))

    limit = f"{CP1252}\nmax_expanded_bytes = {2 * len(data)}"
    assert read_file(path, contract(tmp_path, limit), scratch).frame.height == 2
    with pytest.raises(ParseError, match="max_expanded_bytes"):
        read_file(
            path,
            contract(tmp_path, limit.replace(str(2 * len(data)), str(2 * len(data) - 1))),
            scratch,
        )
    assert not list(scratch.iterdir())


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


def test_a_run_applies_a_zip_of_several_files_as_one_export(home: Path, tmp_path: Path) -> None:
    schema = home / "schemas" / "prices.toml"
    schema.write_text(schema.read_text().replace('"prices_*.csv"', '"prices_*.zip"'))
    drop = tmp_path / "drop" / "prices"
    drop.mkdir(parents=True)
    [sample] = (SAMPLES / "prices").glob("*.csv")
    head, *rows = sample.read_bytes().splitlines(keepends=True)
    members = {"one.csv": b"".join([head, *rows[:6]]), "two.csv": b"".join([head, *rows[6:]])}
    (drop / "prices_1.zip").write_bytes(zipped(members))
    (drop / "prices_1.zip.done").touch()
    settings = settings_for(home, LocalStoreSettings(root=drop.parent))

    [outcome] = run_once(settings, "prices")

    assert outcome.outcome == "committed", outcome.message
    manifest = manifests(home, "prices")[-1]
    assert manifest["counts"]["rows"] == 12
    assert manifest["input"]["parts"] == [
        {"name": "one.csv", "lines_after": 0},
        {"name": "two.csv", "lines_after": 7},
    ]
    [report] = (home / "archive" / "prices").rglob("*.rejected.xlsx")
    head_row, *detail = openpyxl.load_workbook(report)["Rejected cells"].iter_rows(values_only=True)
    assert head_row[0] == "File in archive"
    assert {r[0] for r in detail} == {"one.csv", "two.csv"}
    for file, line, *_, raw in detail:  # each line is that file's own, shown as written
        assert raw == members[str(file)].splitlines()[int(str(line)) - 1].decode("utf-8")
