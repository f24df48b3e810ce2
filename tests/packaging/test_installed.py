"""The package as an operator installs it: built and installed (not editable) into a fresh venv,
then run as `erp-norce-etl` and as `python -m etl` in empty folders, far from this checkout.

The venv gets only the package itself (`--no-deps`); the dependencies are this test venv's,
reached through a `.pth` line written after the install, so nothing is downloaded twice and pip
never sees this checkout's editable install while it installs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import REPO

pytestmark = pytest.mark.slow

# What a run in this checkout's own working folders would leave; none of it may change.
WORKING = ("inbox", "outbox", "archive", "state")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the package installed from a copy of the source, not editable."""
    root = tmp_path_factory.mktemp("installed")
    # Built from a copy: an in-tree build would leave build/ and egg-info in the checkout.
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "etl", source / "etl", ignore=shutil.ignore_patterns("__pycache__"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    subprocess.run(
        [*pip, "install", "-q", "--no-deps", "--no-cache-dir", str(source)],
        check=True,
        timeout=180,
        env=_clean_env(),
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "test-venv-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return venv


@pytest.fixture
def untouched_checkout() -> Iterator[None]:
    """Fails the test if a run wrote into this checkout's working folders."""
    before = _working_files()
    yield
    assert _working_files() == before, "a run wrote into the checkout"


def _working_files() -> dict[str, int]:
    """Every file under the checkout's working folders, with its modification time."""
    return {
        str(path): path.stat().st_mtime_ns
        for name in WORKING
        for path in (REPO / name).rglob("*")
        if path.is_file()
    }


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without what would point a run at this checkout or its settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "ETL_CONFIG", "ERP_NORCE_ETL_HOME", "PYTHONSAFEPATH"}
    }
    return env | extra


def _run(cwd: Path, *argv: str, env: dict[str, str] | None = None) -> str:
    """Run a command of the installed package in `cwd`; its stdout, after it exited 0."""
    done = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=180, env=env or _clean_env()
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def _assert_sample_flow_ran_in(home: Path, venv: Path) -> None:
    """The sample flow's payloads, archive and ledger are in `home`, read from the installed
    package's embedded default."""
    assert list((home / "outbox" / "norce" / "products").glob("*/*-ImportProducts-add.json"))
    manifests = list((home / "archive").rglob("manifest.json"))
    assert len(manifests) == 12
    assert (home / "state" / "ledger.sqlite").is_file()
    contracts = {json.loads(m.read_text())["contract"] for m in manifests}
    assert all(c.startswith(str(venv.resolve())) for c in contracts), contracts


def test_the_package_is_installed_not_linked_to_the_checkout(venv: Path) -> None:
    where = _run(venv, str(venv / "bin" / "python"), "-c", "import etl; print(etl.__file__)")
    assert where.strip().startswith(str(venv.resolve())), where
    data = venv.glob("lib/python*/site-packages/etl/embedded")
    shipped = [p.relative_to(d).as_posix() for d in data for p in d.rglob("*") if p.is_file()]
    assert "schemas/products.toml" in shipped
    assert "schemas/orders/peppol_order.toml" in shipped
    assert "schemas/parties/erp_customers_csv.toml" in shipped
    assert "samples/erp/prices/prices_20261120.csv.done" in shipped


@pytest.mark.usefixtures("untouched_checkout")
def test_the_console_script_runs_the_sample_flow_in_an_empty_folder(
    venv: Path, tmp_path: Path
) -> None:
    out = _run(tmp_path, str(venv / "bin" / "erp-norce-etl"), "once")
    assert "products: products_20261120.csv: committed" in out
    _assert_sample_flow_ran_in(tmp_path, venv)


@pytest.mark.usefixtures("untouched_checkout")
def test_python_m_etl_runs_the_same_in_an_empty_folder(venv: Path, tmp_path: Path) -> None:
    _run(tmp_path, str(venv / "bin" / "python"), "-m", "etl", "once")
    _assert_sample_flow_ran_in(tmp_path, venv)


@pytest.mark.usefixtures("untouched_checkout")
def test_home_puts_the_working_folders_elsewhere_than_the_current_directory(
    venv: Path, tmp_path: Path
) -> None:
    cwd, home = tmp_path / "cwd", tmp_path / "service"
    cwd.mkdir()
    _run(cwd, str(venv / "bin" / "erp-norce-etl"), "--home", str(home), "once")
    _assert_sample_flow_ran_in(home, venv)
    # The variable, read by a real process: `status` opens the ledger where home is.
    by_env = tmp_path / "by-env"
    python_m = (str(venv / "bin" / "python"), "-m", "etl")
    out = _run(cwd, *python_m, "status", env=_clean_env(ERP_NORCE_ETL_HOME=str(by_env)))
    assert "no runs yet" in out and (by_env / "state" / "ledger.sqlite").is_file()
    assert list(cwd.iterdir()) == []


def test_both_entry_points_exit_with_mains_code(venv: Path, tmp_path: Path) -> None:
    (tmp_path / "etl.toml").write_text('[stores]\nerp = "x"\n', encoding="utf-8")
    for argv in (["erp-norce-etl"], ["python", "-m", "etl"]):
        argv[0] = str(venv / "bin" / argv[0])
        done = subprocess.run(
            [*argv, "status"], cwd=tmp_path, capture_output=True, text=True, env=_clean_env()
        )
        assert done.returncode == 2, done.stderr  # a configuration error, named
        assert "stores.erp" in done.stderr
