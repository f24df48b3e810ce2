"""`forget` finds a person whose rows were rejected, in no snapshot, from the archived inputs.

The embedded customers sample, run as a night's export with two people rejected: Anna
(K-1001) for a phone number too long, Greta (K-1007) because her company's organisation
number is refused (so is she: `unknown_reference`). Neither is in a snapshot, neither has an
order. Asked by e-mail, customer code or company, every value of theirs goes from the archived
inputs (the customers feed's and the companies feed's copy), both rejected-row reports (CSV and
XLSX) and `run.py check`'s reports; Björn (K-1002), at the same street and company, keeps
his line whole, byte for byte.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from etl.cli import _parser
from etl.config.contract_files import load_contracts
from etl.privacy import audit
from tests.support.masterdata import run_once
from tests.support.paths import SAMPLES
from tests.support.privacy_seed import holders, home_without_customers, settings

SAMPLE = "kunder_20261120.csv"
LONG_PHONE = "08-123 45 67 ankn. 4711, be växeln koppla till inköpsavdelningen"  # over 50
ANNA_LINE = (
    f"K-1001;Anna;Andersson;anna.andersson@byggmastarna.example;{LONG_PHONE};070-111 22 33;;"
    "F-500;Byggmästarna AB;556036-0793;SE556036079301;STD-SEK;Storgatan 1;;111 22;Stockholm;SE"
)
ANNA_MASKED = (
    "K-1001;[erased];[erased];[erased];[erased];[erased];;F-500;Byggmästarna AB;556036-0793;"
    "SE556036079301;STD-SEK;[erased];;[erased];[erased];SE"
)
# What only Anna's line holds (Storgatan 1, 111 22 and Stockholm are Björn's too).
ANNA_ALONE = ("Anna", "Andersson", "anna.andersson@byggmastarna.example", LONG_PHONE,
              "070-111 22 33")  # fmt: skip
BJORN_LINE = (
    "K-1002;Björn;Berg;bjorn.berg@byggmastarna.example;;070-222 33 44;;F-500;Byggmästarna AB;"
    "556036-0793;SE556036079301;STD-SEK;Storgatan 1;;111 22;Stockholm;SE"
)
GRETA = ("Greta", "greta@taklaggarna.example")  # "Gran", her street and city: others' too
GRETA_LINE = (
    "K-1007;Greta;Gran;greta@taklaggarna.example;;;;F-503;Takläggarna AB;556703-7486;;STD-SEK;"
    "Takvägen 9;;411 01;Göteborg;SE"
)
GRETA_MASKED = (
    "K-1007;[erased];[erased];[erased];;;;F-503;Takläggarna AB;556703-7486;;STD-SEK;"
    "[erased];;[erased];[erased];SE"
)


def _night(erp: Path, name: str, replaced: dict[str, str]) -> Path:
    """The embedded sample with lines replaced, dropped as the ERP drops it (cp1252, CRLF)."""
    text = (SAMPLES / "customers" / SAMPLE).read_bytes().decode("cp1252")
    # The sample's own bad rows made good: only the people of each test are rejected.
    text = text.replace("filip.fors(at)example.se", "filip.fors@example.se")
    text = text.replace(";Uppsala;SW\r\n", ";Uppsala;SE\r\n")
    for old, new in replaced.items():
        assert old in text
        text = text.replace(old, new)
    folder = erp / "customers"
    (folder / name).write_bytes(text.encode("cp1252"))
    (folder / f"{name}.done").touch()
    return folder / name


@pytest.fixture(scope="module")
def rejected_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One night: `run.py check` of the export, then its run: Anna and Greta rejected."""
    root = tmp_path_factory.mktemp("rejected")
    home, erp = home_without_customers(root)
    anna = ANNA_LINE.replace(LONG_PHONE, "08-123 45 67")
    dropped = _night(erp, SAMPLE, {anna: ANNA_LINE})
    assert _command(home, erp, "check", str(dropped), "--feed", "customers") == 1
    run_once(settings(home, erp), "customers")
    return root


@pytest.fixture
def rejected(rejected_template: Path, tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(rejected_template, tmp_path / "copy")
    return tmp_path / "copy" / "home", tmp_path / "copy" / "erp"


def _command(home: Path, erp: Path, *args: str) -> int:
    """A command run in this process, as `run.py` runs it; its exit code."""
    parsed = _parser().parse_args(list(args))
    config = settings(home, erp)
    with contextlib.redirect_stdout(io.StringIO()):
        code: int = parsed.handler(parsed, config, load_contracts(config))
    return code


def _forget(home: Path, erp: Path, *args: str) -> str:
    """`run.py forget ARGS` in this process: its printed lines."""
    parsed = _parser().parse_args(["forget", *args])
    config = settings(home, erp)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert parsed.handler(parsed, config, load_contracts(config)) == 0
    return out.getvalue()


def _inputs(home: Path) -> dict[str, list[str]]:
    """Each archived input (the customers feed's and the companies feed's copy): its lines."""
    paths = sorted((home / "archive").glob(f"*/*/*/{SAMPLE}"))
    assert {p.parts[-4] for p in paths} == {"customers", "companies"}
    return {str(p.relative_to(home)): p.read_bytes().decode("cp1252").split("\r\n") for p in paths}


def _reports(home: Path) -> dict[str, list[list[str]]]:
    """Every rejected-row report (archived, and `run.py check`'s): CSV and XLSX, reopened."""
    found: dict[str, list[list[str]]] = {}
    for path in sorted([*home.glob("archive/*/*/*/*.rejected.*"), *home.glob("outbox/checks/*/*")]):
        if path.suffix == ".csv":
            text = path.read_text(encoding="utf-8-sig")
            found[str(path.relative_to(home))] = list(csv.reader(io.StringIO(text)))
        elif path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path, read_only=True)
            # A rewritten sheet may be wider by empty cells: cells, not the sheet's size.
            found[str(path.relative_to(home))] = [
                [str(v) for v in row if v is not None]
                for sheet in book.worksheets
                for row in sheet.iter_rows(values_only=True)
            ]
            book.close()
    assert any("outbox/checks/customers" in name for name in found)
    return found


def _rows_of(reports: dict[str, list[list[str]]], key: str) -> dict[str, list[list[str]]]:
    """Per report, the rows of `key` (the rejected person's)."""
    return {name: [r for r in rows if key in r] for name, rows in reports.items()}


def _cells(rows: dict[str, list[list[str]]]) -> str:
    return "\n".join(";".join(r) for rs in rows.values() for r in rs)


def test_the_premise_anna_is_rejected_in_every_report_and_in_no_snapshot(
    rejected: tuple[Path, Path],
) -> None:
    home, _ = rejected
    assert all(ANNA_LINE in lines for lines in _inputs(home).values())
    anna = _rows_of(_reports(home), "K-1001")
    assert LONG_PHONE in _cells(anna)
    assert sum(1 for rows in anna.values() if rows) == 4  # the run's CSV and XLSX, check's two
    snapshots = holders(home, ("anna.andersson@byggmastarna.example",))
    assert not [p for p in snapshots["anna.andersson@byggmastarna.example"] if "snapshots" in p]


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        # A report's row names her by code (and the cell): a rejected row's code is no anchor.
        (("--email", "Anna.Andersson@byggmastarna.example"), (LONG_PHONE,)),
        (("--customer", "K-1001"), ()),
    ],
)
def test_forget_finds_a_person_only_rejected_rows_hold(
    rejected: tuple[Path, Path], asked: tuple[str, str], kept: tuple[str, ...]
) -> None:
    home, erp = rejected
    others = holders(home, ("Björn", "bjorn.berg@byggmastarna.example", *GRETA))
    greta_rows = _rows_of(_reports(home), "K-1007")
    reports_before = _reports(home)

    _forget(home, erp, *asked)

    for lines in _inputs(home).values():
        assert ANNA_MASKED in lines
        assert BJORN_LINE in lines and GRETA_LINE in lines  # the neighbour keeps her street
    reports = _reports(home)
    anna = _cells(_rows_of(reports, "K-1001"))
    assert [v for v in ANNA_ALONE if v.casefold() in anna.casefold()] == list(kept)
    assert ("[erased]" in anna) is not bool(kept)
    if kept:  # the reports as they were: their rows of her hold neither her e-mail nor code
        assert reports == reports_before
    assert _rows_of(reports, "K-1007") == greta_rows
    gone = tuple(v for v in ANNA_ALONE if v not in kept)
    assert holders(home, gone) == {value: [] for value in gone}
    assert holders(home, ("Björn", "bjorn.berg@byggmastarna.example", *GRETA)) == others


def test_a_dry_run_counts_what_the_forget_masks_and_changes_nothing(
    rejected: tuple[Path, Path],
) -> None:
    home, erp = rejected
    before = _contents(home)

    dry = _forget(home, erp, "--dry-run", "--customer", "K-1001")

    assert _contents(home) == before
    done = _forget(home, erp, "--customer", "K-1001")
    assert _counts(dry, "would mask") == _counts(done, "masked")
    # Her line's 8 values, and her phone in the run's two reports.
    assert _counts(done, "masked")["archive/customers"] == "10 value(s) in 3 file(s)"


def _contents(home: Path) -> dict[Path, bytes]:
    """Every file's bytes, but the lock files (made empty by whichever command first locks)."""
    locks = home / "state" / "locks"
    files = (p for p in sorted(home.rglob("*")) if p.is_file() and p.parent != locks)
    return {p: p.read_bytes() for p in files}


def _counts(printed: str, verb: str) -> dict[str, str]:
    """Per place, the count line the command printed."""
    return dict(re.findall(rf"^  (\S+): {verb} (.+)$", printed, re.MULTILINE))


def test_forget_by_company_finds_its_contacts_rejected_with_it(rejected: tuple[Path, Path]) -> None:
    home, erp = rejected
    reports_before = _reports(home)

    printed = _forget(home, erp, "--company", "F-503")

    assert "nothing found" not in printed
    for lines in _inputs(home).values():
        assert GRETA_MASKED in lines
        assert ANNA_LINE in lines and BJORN_LINE in lines
    assert holders(home, GRETA) == {value: [] for value in GRETA}
    # The company's own row in the companies feed's report (its organisation number) stays.
    assert _rows_of(_reports(home), "F-503") == _rows_of(reports_before, "F-503")


@pytest.mark.parametrize(
    "asked", [("--email", "anna.andersson@byggmastarna.example"), ("--customer", "K-1001")]
)
def test_an_input_without_a_column_is_read_for_the_rest_and_named(
    rejected: tuple[Path, Path], asked: tuple[str, str]
) -> None:
    home, erp = rejected
    (archived,) = home.glob(f"archive/customers/*/*/{SAMPLE}")
    # The export as an older contract read it: its e-mail column under another name.
    archived.write_bytes(archived.read_bytes().replace(b"E-post;", b"Epost;", 1))

    printed = _forget(home, erp, *asked)

    assert "1 archived input(s) with rejected rows lack a column" in printed
    assert f"{archived.relative_to(home)} (no E-post)" in printed
    (record,) = audit.records(home / "state" / "privacy")
    assert record["not_erased"]["unreadable_files"] == 1
    lines = archived.read_bytes().decode("cp1252").split("\r\n")
    if asked[0] == "--email":
        # No cell holds the address to find her row by: her line keeps all but the address.
        assert ANNA_LINE.replace("anna.andersson@byggmastarna.example", "[erased]") in lines
        # The companies feed's copy is read by no customer contract: only the address known.
        assert "Anna" in json.dumps(_inputs(home), ensure_ascii=False)
    else:
        # Read for the columns it has: all her values but the address, not known from it.
        cells = ANNA_MASKED.split(";")
        cells[3] = "anna.andersson@byggmastarna.example"
        assert ";".join(cells) in lines


@pytest.fixture(scope="module")
def accepted_later(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Anna rejected with her old phone and street; accepted with new ones the next night."""
    root = tmp_path_factory.mktemp("accepted_later")
    home, erp = home_without_customers(root)
    old = ANNA_LINE.replace("Storgatan 1;;111 22;Stockholm", "Gamla Torget 3;;753 10;Uppsala")
    _night(erp, SAMPLE, {ANNA_LINE.replace(LONG_PHONE, "08-123 45 67"): old})
    run_once(settings(home, erp), "customers")
    _night(erp, "kunder_20261121.csv", {})
    run_once(settings(home, erp), "customers")
    return root


def test_forget_finds_the_old_values_a_rejected_row_gave(
    accepted_later: Path, tmp_path: Path
) -> None:
    shutil.copytree(accepted_later, tmp_path / "copy")
    home, erp = tmp_path / "copy" / "home", tmp_path / "copy" / "erp"
    old_values = (LONG_PHONE, "Gamla Torget 3", "753 10")
    assert all(holders(home, old_values).values())

    _forget(home, erp, "--email", "anna.andersson@byggmastarna.example")

    assert holders(home, old_values) == {value: [] for value in old_values}
    assert holders(home, ("08-123 45 67",)) == {"08-123 45 67": []}  # her phone now
    (first,) = home.glob(f"archive/customers/*/*/{SAMPLE}")
    lines = first.read_bytes().decode("cp1252").split("\r\n")
    assert BJORN_LINE in lines
    assert any(line.startswith("K-1001;[erased];[erased];") for line in lines)


def test_forget_finds_a_person_in_a_file_refused_whole(tmp_path: Path) -> None:
    """An export without its "Mobil" column is refused whole: each of its rows is read still."""
    home, erp = home_without_customers(tmp_path)
    lines = (SAMPLES / "customers" / SAMPLE).read_bytes().decode("cp1252").split("\r\n")
    cut = ["".join(f"{c};" for i, c in enumerate(line.split(";")) if i != 5)[:-1] for line in lines]
    (erp / "customers" / SAMPLE).write_bytes("\r\n".join(cut).encode("cp1252"))
    (erp / "customers" / f"{SAMPLE}.done").touch()
    run_once(settings(home, erp), "customers")
    (refused,) = home.glob(f"archive/customers/rejected/*/*/{SAMPLE}")

    _forget(home, erp, "--email", "eva.ek@example.se")

    eva = ("Eva", "Ekvägen 7", "19850101-1234", "211 45", "Malmö")
    assert holders(home, eva) == {value: [] for value in eva}
    text = refused.read_bytes().decode("cp1252")
    assert "K-1005;[erased];[erased];[erased];;[erased];;;;;;[erased];;[erased];[erased];SE" in text
    assert cut[1] in text.split("\r\n")  # Anna's line, whole
