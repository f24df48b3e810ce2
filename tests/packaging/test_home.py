"""Where the working folders go: --home, then ERP_NORCE_ETL_HOME, then the settings file's home,
then the current directory; and where the settings file is found.

Each case runs the `status` command (it opens the ledger, so `state/` shows where home was
taken to be) from a current directory of its own; tests/packaging/test_installed.py does the same
through real processes of the installed package.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from etl.cli import main
from etl.config.settings import HOME_ENV, home_given, load_settings
from etl.embedded import SAMPLES, SCHEMAS
from etl.errors import ConfigError

Status = Callable[..., tuple[int, str]]


@pytest.fixture(autouse=True)
def _nothing_chooses_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """No home or settings file named by the environment the tests run in."""
    monkeypatch.delenv(HOME_ENV, raising=False)
    monkeypatch.delenv("ETL_CONFIG", raising=False)


@pytest.fixture
def status(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> Status:
    """`status` with these options in this folder and environment: its exit code and what it
    logged."""

    def run(cwd: Path, *options: str, **env: str) -> tuple[int, str]:
        caplog.clear()
        with monkeypatch.context() as patched:
            patched.chdir(cwd)
            for name, value in env.items():
                patched.setenv(name, value)
            code = main([*options, "status"])
        return code, capsys.readouterr().err + caplog.text

    return run


def _ledgers(root: Path) -> list[str]:
    """Every ledger under `root`, as paths relative to it."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("ledger.sqlite"))


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    """An empty current directory inside tmp_path."""
    here = tmp_path / "cwd"
    here.mkdir()
    return here


def test_a_relative_home_is_relative_to_the_current_directory(
    status: Status, cwd: Path, tmp_path: Path
) -> None:
    code, err = status(cwd, "--home", "service")
    assert code == 0, err
    assert _ledgers(tmp_path) == ["cwd/service/state/ledger.sqlite"]


def test_the_environment_names_home_when_no_option_does(
    status: Status, cwd: Path, tmp_path: Path
) -> None:
    code, err = status(cwd, **{HOME_ENV: str(tmp_path / "by-env")})
    assert code == 0, err
    assert _ledgers(tmp_path) == ["by-env/state/ledger.sqlite"]


def test_the_option_wins_over_the_environment(status: Status, cwd: Path, tmp_path: Path) -> None:
    code, err = status(
        cwd, "--home", str(tmp_path / "by-flag"), **{HOME_ENV: str(tmp_path / "env")}
    )
    assert code == 0, err
    assert _ledgers(tmp_path) == ["by-flag/state/ledger.sqlite"]


def test_an_empty_variable_names_no_home(status: Status, cwd: Path, tmp_path: Path) -> None:
    code, err = status(cwd, **{HOME_ENV: ""})
    assert code == 0, err
    assert _ledgers(tmp_path) == ["cwd/state/ledger.sqlite"]


def test_without_home_or_settings_the_current_directory_is_home(
    status: Status, cwd: Path, tmp_path: Path
) -> None:
    code, err = status(cwd)
    assert code == 0, err
    assert _ledgers(tmp_path) == ["cwd/state/ledger.sqlite"]


def test_etl_toml_in_the_current_directory_is_found_and_its_home_is_relative_to_it(
    status: Status, cwd: Path, tmp_path: Path
) -> None:
    (cwd / "etl.toml").write_text(f'home = "data"\nschemas_dir = "{SCHEMAS}"\n')
    code, err = status(cwd)
    assert code == 0, err
    assert _ledgers(tmp_path) == ["cwd/data/state/ledger.sqlite"]


def test_a_settings_file_elsewhere_keeps_its_home_relative_to_itself(
    status: Status, cwd: Path, tmp_path: Path
) -> None:
    config = tmp_path / "conf" / "etl.toml"
    config.parent.mkdir()
    config.write_text(f'home = "data"\nschemas_dir = "{SCHEMAS}"\n')
    by_option = status(cwd, "--config", str(config))
    by_env = status(cwd, ETL_CONFIG=str(config))
    assert by_option[0] == by_env[0] == 0, by_option[1] + by_env[1]
    assert _ledgers(tmp_path) == ["conf/data/state/ledger.sqlite"]


def test_home_wins_over_the_settings_files_home(status: Status, cwd: Path, tmp_path: Path) -> None:
    (cwd / "etl.toml").write_text(f'home = "from-file"\nschemas_dir = "{SCHEMAS}"\n')
    by_option = status(cwd, "--home", "from-flag", "--config", "etl.toml")
    by_env = status(cwd, "--config", "etl.toml", **{HOME_ENV: "from-env"})
    assert by_option[0] == by_env[0] == 0, by_option[1] + by_env[1]
    assert _ledgers(tmp_path) == [
        "cwd/from-env/state/ledger.sqlite",
        "cwd/from-flag/state/ledger.sqlite",
    ]


def test_the_settings_file_is_looked_for_in_home_not_the_current_directory(
    status: Status, cwd: Path, tmp_path: Path
) -> None:
    home = tmp_path / "service"
    home.mkdir()
    (home / "etl.toml").write_text('[stores]\nerp = "x"\n')  # wrong on purpose: it must be read
    (cwd / "etl.toml").write_text('[norce]\nmode = "x"\n')  # wrong otherwise: it must not be
    code, err = status(cwd, "--home", str(home))
    assert code == 2
    assert f"{home / 'etl.toml'}" in err and "stores.erp" in err


def test_home_given_prefers_the_option_and_ignores_an_empty_variable() -> None:
    assert home_given(Path("a"), {HOME_ENV: "b"}) == Path("a")
    assert home_given(None, {HOME_ENV: "b"}) == Path("b")
    assert home_given(None, {HOME_ENV: ""}) is None
    assert home_given(None, {}) is None


def test_the_embedded_default_is_the_packages_own_whatever_the_home(tmp_path: Path) -> None:
    settings = load_settings(None, {}, tmp_path / "h")
    assert settings.home == tmp_path / "h"
    assert settings.schemas_dir == SCHEMAS and SCHEMAS.is_absolute()
    assert settings.stores["erp"].root == SAMPLES
    assert (SCHEMAS / "products.toml").is_file() and (SAMPLES / "products").is_dir()


def test_a_home_given_wins_over_the_files_and_the_file_still_checks_its_own(
    tmp_path: Path,
) -> None:
    config = tmp_path / "etl.toml"
    config.write_text('home = "data"\n')
    assert load_settings(config, {}, Path("elsewhere")).home == Path("elsewhere")
    assert load_settings(config, {}).home == tmp_path / "data"
    config.write_text("home = 7\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, {}, Path("elsewhere"))
    assert caught.value.key == "home"


def test_a_home_that_cannot_be_a_folder_is_a_configuration_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Exit 2, not a traceback and 1: the service unit does not restart a configuration error.
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["--home", str(afile), "status"]) == 2
    assert main(["--home", str(afile / "below"), "once"]) == 2
    assert "home" in caplog.text and str(afile) in caplog.text
