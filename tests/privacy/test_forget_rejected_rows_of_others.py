"""A rejected row's values are the person's only inside their own records.

A rejected row was never validated and may be another person's too: a code the ERP gave two
people (both rows rejected as a duplicate key), a placeholder e-mail such as `saknas` that
every row without an address holds. So `forget` takes its values as shared ones (masked only
inside a record that holds one of the person's anchors: the value asked for, a snapshot's or
an order's), never as anchors: another person's rows keep every value. `--company` names no
person: there a rejected contact row's code is the anchor, unless the contact has since moved
to another company (as for a contact accepted under it who moved: not found).

The reader's copies of an archived input (decoded, unpacked) hold every row of it: they are
made under `state/privacy/`, and what a killed `forget` left goes at the next `forget` or
`purge`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from pathlib import Path

import polars as pl
import pytest

from etl.cli import _parser
from etl.config.contract_files import load_contracts
from tests.support.masterdata import run_once
from tests.support.privacy_seed import (
    ANNA_ROW,
    GUSTAV_ROW,
    drop_customers,
    home_without_customers,
    settings,
)

STINA = (
    "K-1030;Stina;Svensson;stina.s@example.se;031-11 22 33;;;;;;;;Bergsgatan 5;;411 02;Göteborg;SE"
)
EVA_DUP = "K-1030;Eva;Ek;eva.ek@example.se;040-765 43 21;;;;;;;;Ekvägen 7;;211 45;Malmö;SE"
EVA_SAKNAS = "K-1020;Eva;Ek;saknas;040-765 43 21;;;;;;;;Ekvägen 7;;211 45;Malmö;SE"
OLOF_SAKNAS = "K-1021;Olof;Oskarsson;saknas;0411-55 66 77;;;;;;;;Sjögatan 2;;211 46;Malmö;SE"
LONG_PHONE = "031-555 66 77 " + "x" * 50  # over 50: the row is rejected
F_777 = "F-777;Ny Firma AB;559000-0005;SE559000000501"
GUSTAV_MOVED = GUSTAV_ROW.replace("F-500;Byggmästarna AB;556036-0793;SE556036079301", F_777)
READS = ("state", "privacy", "rejected-reads")


def _command(home: Path, erp: Path, *args: str) -> str:
    """`run.py ARGS` in this process (exit code 0): its printed lines."""
    parsed = _parser().parse_args(list(args))
    config = settings(home, erp)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert parsed.handler(parsed, config, load_contracts(config)) == 0
    return out.getvalue()


def _snapshot_row(home: Path, code: str) -> tuple[str, ...]:
    snapshot = sorted((home / "state/snapshots/customers").glob("*.parquet"))[-1]
    row = pl.read_parquet(snapshot).filter(pl.col("code") == code)
    return tuple(row.select("first_name", "email", "phone", "company_code").row(0))


def _lines(home: Path, name: str) -> list[str]:
    (archived,) = home.glob(f"archive/customers/*/*/{name}")
    return archived.read_bytes().decode("cp1252").split("\r\n")


def test_a_rejected_duplicate_of_the_code_is_not_the_person(tmp_path: Path) -> None:
    """Two people under one code, both rejected; the ERP then gives Stina her own code.
    Forgetting K-1030 (asked by Eva) leaves Stina's accepted row K-1031 whole."""
    home, erp = home_without_customers(tmp_path)
    drop_customers(erp, "kunder_1.csv", [ANNA_ROW, STINA, EVA_DUP])
    run_once(settings(home, erp), "customers")
    stina = STINA.replace("K-1030", "K-1031")
    drop_customers(erp, "kunder_2.csv", [ANNA_ROW, stina])
    run_once(settings(home, erp), "customers")

    _command(home, erp, "forget", "--customer", "K-1030")

    assert _snapshot_row(home, "K-1031") == ("Stina", "stina.s@example.se", "031-11 22 33", None)
    assert stina in _lines(home, "kunder_2.csv")
    # The night both stood under K-1030: each line holds the code asked for.
    assert [line.split(";")[1] for line in _lines(home, "kunder_1.csv")[2:4]] == ["[erased]"] * 2


def test_an_unvalidated_placeholder_email_is_no_anchor(tmp_path: Path) -> None:
    """The ERP writes 'saknas' for a missing e-mail: every such row is rejected. Forgetting
    Eva leaves Olof's line (also 'saknas', the same city) and his report row as they were."""
    home, erp = home_without_customers(tmp_path)
    drop_customers(erp, "kunder_1.csv", [ANNA_ROW, EVA_SAKNAS, OLOF_SAKNAS])
    run_once(settings(home, erp), "customers")
    (report,) = home.glob("archive/customers/*/*/kunder_1.rejected.csv")
    olof_reported = [
        r for r in report.read_text(encoding="utf-8-sig").splitlines() if "K-1021" in r
    ]

    _command(home, erp, "forget", "--customer", "K-1020")

    lines = _lines(home, "kunder_1.csv")
    assert OLOF_SAKNAS in lines
    assert (
        "K-1020;[erased];[erased];[erased];[erased];;;;;;;;[erased];;[erased];[erased];SE" in lines
    )
    text = report.read_text(encoding="utf-8-sig")
    assert olof_reported and all(row in text.splitlines() for row in olof_reported)


@pytest.mark.parametrize("first_night", ["rejected", "accepted"])
def test_forget_by_company_spares_a_former_contact_now_elsewhere(
    tmp_path: Path, first_night: str
) -> None:
    """Gustav, a contact of F-500 (rejected for a phone too long, or accepted), is a contact
    of F-777 the next night. `forget --company F-500` leaves his current row whole, as it
    always did for a contact accepted under it who moved (a snapshot holds his current
    company only): rejected or accepted, he is not found."""
    home, erp = home_without_customers(tmp_path)
    gustav = (
        GUSTAV_ROW.replace("031-555 66 77", LONG_PHONE) if first_night == "rejected" else GUSTAV_ROW
    )
    drop_customers(erp, "kunder_1.csv", [ANNA_ROW, gustav])
    run_once(settings(home, erp), "customers")
    drop_customers(erp, "kunder_2.csv", [ANNA_ROW, GUSTAV_MOVED])
    run_once(settings(home, erp), "customers")

    printed = _command(home, erp, "forget", "--company", "F-500")

    assert "nothing found" in printed
    assert _snapshot_row(home, "K-1010") == (
        "Gustav", "gustav.gran@bygg.example", "031-555 66 77", "F-777"
    )  # fmt: skip
    assert GUSTAV_MOVED in _lines(home, "kunder_2.csv")


def test_forget_by_company_finds_a_contact_rejected_under_it_who_stayed(tmp_path: Path) -> None:
    """Rejected under F-500 one night, accepted under it the next: its contact, both rows."""
    home, erp = home_without_customers(tmp_path)
    drop_customers(erp, "kunder_1.csv", [ANNA_ROW, GUSTAV_ROW.replace("031-555 66 77", LONG_PHONE)])
    run_once(settings(home, erp), "customers")
    drop_customers(erp, "kunder_2.csv", [ANNA_ROW, GUSTAV_ROW])
    run_once(settings(home, erp), "customers")

    _command(home, erp, "forget", "--company", "F-500")

    assert _snapshot_row(home, "K-1010") == ("[erased]", "[erased]", "[erased]", "F-500")
    for name in ("kunder_1.csv", "kunder_2.csv"):
        (line,) = [x for x in _lines(home, name) if x.startswith("K-1010;")]
        assert line.startswith("K-1010;[erased];[erased];[erased];[erased];"), line
        assert ANNA_ROW in _lines(home, name)


@pytest.fixture
def rejected(tmp_path: Path) -> tuple[Path, Path]:
    """A night with Anna and Eva, Eva rejected (a phone too long): her input to read again."""
    home, erp = home_without_customers(tmp_path)
    drop_customers(erp, "kunder_1.csv", [ANNA_ROW, EVA_DUP.replace("040-765 43 21", LONG_PHONE)])
    run_once(settings(home, erp), "customers")
    return home, erp


def _leftover(home: Path) -> Path:
    """A decoded copy of an input, as a `forget` killed while reading it leaves it."""
    copy = home.joinpath(*READS, "read-x1y2", ".kunder_1.csv.utf8")
    copy.parent.mkdir(parents=True)
    copy.write_text(EVA_DUP, encoding="utf-8")
    return copy


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_forget_removes_the_copies_a_killed_forget_left(
    rejected: tuple[Path, Path], dry_run: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    home, erp = rejected
    copy = _leftover(home)

    with caplog.at_level(logging.WARNING):
        _command(home, erp, "forget", *dry_run, "--customer", "K-1030")

    assert not copy.exists() and not home.joinpath(*READS).exists()
    assert [r.levelno for r in caplog.records if "interrupted forget" in r.message] == [
        logging.WARNING
    ]


def test_purge_removes_the_copies_a_killed_forget_left(
    rejected: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    home, erp = rejected
    copy = _leftover(home)

    _command(home, erp, "purge", "--dry-run")
    assert copy.is_file()  # a dry run removes nothing
    with caplog.at_level(logging.WARNING):
        _command(home, erp, "purge")

    assert not home.joinpath(*READS).exists()
    assert any("interrupted forget" in r.message for r in caplog.records)


def test_the_copies_are_made_in_the_home_and_gone_after(
    rejected: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never in the system temp, where a kill would leave them out of any purge's reach: a
    system temp no folder can be made in (a file stands there) does not stop the reading."""
    home, erp = rejected
    not_a_folder = tmp_path / "system-temp"
    not_a_folder.touch()
    monkeypatch.setattr(tempfile, "tempdir", str(not_a_folder))

    printed = _command(home, erp, "forget", "--customer", "K-1030")

    assert "archived input(s) with rejected rows could not be read" not in printed
    line = _lines(home, "kunder_1.csv")[2]
    assert line.startswith("K-1030;[erased];[erased];[erased];[erased];"), line
    assert not home.joinpath(*READS).exists()
