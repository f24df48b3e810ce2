"""The docs say what `status` exits with, every `--json` option, and every kind of problem."""

from __future__ import annotations

import argparse

from etl.cli import _parser
from etl.commands.json_views import VERSION
from etl.console.problems import KINDS
from tests.support.paths import REPO

OPERATIONS = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
README = (REPO / "README.md").read_text(encoding="utf-8")


def _row(text: str, command: str) -> str:
    """The command's own row: the first that names it (`orders show` comes after `orders`)."""
    prefix = f"| `python run.py {command} "
    return next(line for line in text.splitlines() if line.startswith(prefix))


def _with_json() -> list[str]:
    """The commands whose parser takes `--json`."""
    [sub] = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(
        name
        for name, parser in sub.choices.items()
        if any("--json" in a.option_strings for a in parser._actions)
    )


def test_the_exit_codes_of_status_are_in_the_readme_and_operations() -> None:
    for text in (README, _row(OPERATIONS, "status")):
        assert "exit code 0 when nothing needs a person, 1 when something does" in text.lower()


def test_every_json_option_is_in_both_command_tables() -> None:
    assert {"status", "orders", "parties"} <= set(_with_json())
    for command in _with_json():
        assert "[--json]" in _row(README, command), command
        assert "[--json]" in _row(OPERATIONS, command), command
    assert f'`"version": {VERSION}`' in OPERATIONS


def test_every_kind_of_problem_is_in_the_table_of_problems() -> None:
    table = OPERATIONS.split("### What needs a person: the problems", 1)[1].split("\n### ", 1)[0]
    for kind in KINDS:
        assert f"| `{kind}`" in table, kind
