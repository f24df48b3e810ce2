"""The systemd units in deploy/: systemd accepts them, and they say what the processes rely on."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from etl.cli import _parser, _serve
from etl.commands.orders import receive_command
from etl.config.settings import ReceiverSettings
from tests.support.paths import REPO
from tests.support.unit_files import (
    DEPLOY,
    INSTALLED_SCRIPT,
    RECEIVER,
    SCHEDULER,
    UNITS,
    read_unit,
)

ANALYZE = shutil.which("systemd-analyze")
needs_systemd = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def verify(unit: Path, tmp_path: Path) -> list[str]:
    """What `systemd-analyze verify` finds wrong with `unit`: nothing means systemd takes it.

    verify wants ExecStart's program to exist, so the copy it checks points at a real
    executable here. An unknown key or a bad value is only a warning (exit 0), so any output
    counts as a problem.
    """
    program = tmp_path / "bin" / "erp-norce-etl"
    program.parent.mkdir(exist_ok=True)
    program.write_text("#!/bin/sh\nexec true\n", encoding="utf-8")
    program.chmod(0o755)
    checked = tmp_path / unit.name
    checked.write_text(
        unit.read_text(encoding="utf-8").replace(INSTALLED_SCRIPT, str(program)), encoding="utf-8"
    )
    assert ANALYZE is not None
    done = subprocess.run(
        [ANALYZE, "verify", "--man=no", "--generators=no", str(checked)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = (done.stdout + done.stderr).splitlines()
    return problems or ([f"exit {done.returncode}"] if done.returncode else [])


@needs_systemd
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_systemd_accepts_the_unit(unit: Path, tmp_path: Path) -> None:
    assert verify(unit, tmp_path) == []


@needs_systemd
def test_verify_catches_a_misspelt_key(tmp_path: Path) -> None:
    broken = tmp_path / "broken" / SCHEDULER.name
    broken.parent.mkdir()
    text = SCHEDULER.read_text(encoding="utf-8")
    broken.write_text(text.replace("\nKillMode=", "\nKilMode="), encoding="utf-8")
    problems = verify(broken, tmp_path)
    assert any("Unknown key 'KilMode'" in p for p in problems), problems


@needs_systemd
def test_verify_catches_a_bad_value(tmp_path: Path) -> None:
    broken = tmp_path / "broken" / SCHEDULER.name
    broken.parent.mkdir()
    text = SCHEDULER.read_text(encoding="utf-8")
    broken.write_text(text.replace("\nUMask=0077", "\nUMask=0o077"), encoding="utf-8")
    problems = verify(broken, tmp_path)
    assert any("0o077" in p for p in problems), problems


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("UMask", "0077"),  # personal data is owner-only
        ("Restart", "on-failure"),  # a clean stop (SIGTERM) stays stopped
        ("RestartPreventExitStatus", "2"),  # a configuration error: a restart cannot fix it
        ("KillSignal", "SIGTERM"),  # the signal both processes finish their work on
        ("KillMode", "mixed"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", "/var/lib/erp-norce-etl"),
        ("MemoryDenyWriteExecute", "yes"),
        ("Environment", "POLARS_SKIP_CPU_CHECK=1"),  # see test_sandbox.py
    ],
)
def test_the_unit_sets(unit: Path, key: str, value: str) -> None:
    assert read_unit(unit).one(key) == value


@pytest.mark.parametrize(
    ("unit", "handler"),
    [(SCHEDULER, _serve), (RECEIVER, receive_command)],
    ids=["serve", "receive"],
)
def test_exec_start_is_a_command_of_the_cli(unit: Path, handler: object) -> None:
    parsed = read_unit(unit)
    program, *argv = parsed.exec_start()
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert program.endswith(
        "/" + next(k for k, v in scripts["scripts"].items() if v == "etl.start:main")
    )
    args = _parser().parse_args(argv)
    assert args.handler is handler
    # State lives in the one folder the sandbox lets it write, shared by both units.
    home = str(args.home)
    assert home == parsed.one("WorkingDirectory") == parsed.one("ReadWritePaths")
    assert home == "/var/lib/" + parsed.one("StateDirectory")


def seconds(value: str) -> float:
    """A systemd time span such as `60s`, `15min` or `1min 30s`, in seconds."""
    units = {"s": 1, "min": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+)\s*(min|s|h)", value))


def test_the_receiver_has_time_to_answer_what_is_in_flight() -> None:
    # uvicorn waits 10 s for requests in flight (etl/receiver/app.py); a request may still be
    # reading its head and body for their timeouts when SIGTERM comes.
    defaults = ReceiverSettings()
    needed = defaults.header_timeout_seconds + defaults.body_timeout_seconds + 10
    assert seconds(read_unit(RECEIVER).one("TimeoutStopSec")) >= needed


def test_the_environment_example_holds_names_only() -> None:
    lines = (DEPLOY / "secrets.env.example").read_text(encoding="utf-8").splitlines()
    settings = [line for line in lines if line.strip() and not line.startswith("#")]
    assert settings, "no variable listed"
    for line in settings:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*=", line), f"a value or a bad name: {line!r}"
