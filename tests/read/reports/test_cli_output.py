"""Small things the CLI prints, as a newcomer met them (review E).

`status` on a home with no documents says so once; `status | head` ends quietly; `check`
names a local file's modification time for what it is, not as the time it was received.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from etl.cli import main
from etl.read.reports import CHECK_ALL_ROWS, CHECK_ROWS
from tests.support.paths import REPO

CONTRACT = """
[feed]
entity = "company"
[format]
type = "csv"
[columns]
"External ID" = "code"
"Name" = "name"
"Org" = "organization_no"
"Country" = "country"
"""


def settings_file(tmp_path: Path) -> Path:
    """Settings with an empty home and one company contract."""
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "comp.toml").write_text(CONTRACT, encoding="utf-8")
    config = tmp_path / "etl.toml"
    config.write_text(
        f'home = "{tmp_path / "home"}"\nschemas_dir = "{schemas}"\n', encoding="utf-8"
    )
    return config


def test_status_with_no_documents_says_so_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = settings_file(tmp_path)

    assert main(["--config", str(config), "status"]) == 0

    documents = [line for line in capsys.readouterr().out.splitlines() if "Documents" in line]
    assert documents == ["Documents: none yet"]


def test_status_into_a_closed_pipe_ends_without_a_traceback(tmp_path: Path) -> None:
    """`run.py status | head`: the reader is gone before the output is written."""
    config = settings_file(tmp_path)
    read, write = os.pipe()
    os.close(read)  # as `head` does once it has its lines (here: before the first)
    try:
        done = subprocess.run(
            [sys.executable, str(REPO / "run.py"), "--config", str(config), "status"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)

    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.returncode == 1


def test_check_labels_the_local_file_time_as_its_modification_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, out = settings_file(tmp_path), tmp_path / "out"
    path = tmp_path / "comp.csv"
    path.write_text(
        "External ID,Name,Org,Country\nC-1,Volvo AB,556012-5790,SE\n,Nameless AB,556000-3468,SE\n",
        encoding="utf-8",
    )

    code = main(["--config", str(config), "check", str(path), "--feed", "comp", "--out", str(out)])

    printed = capsys.readouterr().out
    assert code == 1
    assert "File modified at:" in printed and "Received at" not in printed
    sheet = openpyxl.load_workbook(out / "comp.rejected.xlsx")["Summary"]
    labels = [row[0] for row in sheet.iter_rows(values_only=True) if row and row[0]]
    assert "File modified at" in labels and "Received at" not in labels


@pytest.mark.parametrize(
    ("rows", "outcome"),
    [
        (["C-1,Volvo AB,556012-5790,SE", ",Nameless AB,556000-3468,SE"], CHECK_ROWS),
        ([",Nameless AB,556000-3468,SE", ",Other AB,556000-3468,SE"], CHECK_ALL_ROWS),
    ],
)
def test_check_says_other_rows_would_apply_only_when_some_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: list[str], outcome: str
) -> None:
    """A file of only bad rows said 'a run would apply the other rows' (a new user's trial)."""
    config, path = settings_file(tmp_path), tmp_path / "comp.csv"
    path.write_text("\n".join(["External ID,Name,Org,Country", *rows]) + "\n", encoding="utf-8")

    main(["--config", str(config), "check", str(path), "--feed", "comp", "--out", str(tmp_path)])

    assert f"Outcome:          {outcome}" in capsys.readouterr().out.splitlines()
