"""End to end: a feed expecting an hourly file that has none is `missing` in `run.py status`,
which exits 1; the file dropped and taken by `once` resolves it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from etl.cli import main
from tests.support.paths import SAMPLES, SCHEMAS

# Due on the hour, no grace: a home with no file has missed the last hour's.
EXPECT = '[expect]\ncron = "0 * * * *"\ntimezone = "Europe/Stockholm"\n'


def _home(tmp_path: Path) -> Path:
    home, erp = tmp_path / "home", tmp_path / "erp"
    (home / "schemas").mkdir(parents=True)
    (erp / "products").mkdir(parents=True)
    contract = (SCHEMAS / "products.toml").read_text(encoding="utf-8")
    (home / "schemas" / "products.toml").write_text(f"{contract}\n{EXPECT}", encoding="utf-8")
    (home / "etl.toml").write_text(
        f'home = "."\n[stores.erp]\nkind = "local"\nroot = "{erp}"\n', encoding="utf-8"
    )
    return home


def test_a_missing_file_shows_in_status_until_once_takes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home(tmp_path)

    assert main(["--home", str(home), "status"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "1 problem needs a person"
    [line] = [x for x in out if x.startswith("- missing: feed products")]
    assert "no file due" in line and "none ever came" in line
    assert "folder 'products', files matching 'products_*.csv'" in "\n".join(out)

    assert main(["--home", str(home), "status", "--json"]) == 1
    [problem] = json.loads(capsys.readouterr().out)["problems"]
    assert problem["kind"] == "missing_file"
    assert problem["key"] == "missing:products:no-file-yet"

    shutil.copy(SAMPLES / "products" / "products_20261120.csv", tmp_path / "erp" / "products")
    assert main(["--home", str(home), "once"]) == 0
    capsys.readouterr()

    assert main(["--home", str(home), "status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "nothing needs a person"
    assert not [x for x in out if "missing" in x]


def test_a_file_waiting_for_its_run_is_not_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home(tmp_path)
    shutil.copy(SAMPLES / "products" / "products_20261120.csv", tmp_path / "erp" / "products")

    assert main(["--home", str(home), "status"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "nothing needs a person"
