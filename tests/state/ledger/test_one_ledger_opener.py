"""The ledger is opened in one place: nothing outside etl/state/ledger/ finds or opens it itself.

A module that called `sqlite3.connect` or took the home's `state/ledger.sqlite` would
keep working on SQLite and, with `[state] backend = "postgresql"`, silently write a second
ledger (orders booked in one, exported from the other). Every part takes the ledger's
location from the runtime (`rt.ledger.at`) or `etl.runtime.ledger_at(settings)`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import etl

PACKAGE = Path(etl.__file__).parent
# The one place each: where the file's name is defined, and where [state] is read.
ALLOWED = {("state/areas.py", "ledger"), ("runtime.py", "ledger_at")}


def _outside_openers(package: Path) -> Iterator[Path]:
    """Every module but those of state/ledger/ (connection.py and the parts' tables)."""
    openers = package / "state" / "ledger"
    for path in sorted(package.rglob("*.py")):
        if openers not in path.parents:
            yield path


def _functions(tree: ast.AST) -> dict[ast.AST, str]:
    """Each node -> the name of the function (or property) it is in ("" at module level)."""
    owner: dict[ast.AST, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                owner[inner] = node.name
    return owner


def _names_areas(node: ast.expr) -> bool:
    """`Areas(...)`, `areas`, `rt.areas`, `self.areas`: an expression for the home's areas."""
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id == "Areas"
    if isinstance(node, ast.Name):
        return node.id == "areas"
    return isinstance(node, ast.Attribute) and node.attr == "areas"


def _is_sqlite_connect(node: ast.AST) -> bool:
    """`sqlite3.connect`, called or handed on."""
    if not (isinstance(node, ast.Attribute) and node.attr == "connect"):
        return False
    return isinstance(node.value, ast.Name) and node.value.id == "sqlite3"


def _finds(tree: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    """Each place the module opens or locates the ledger by itself, and what it does there."""
    for node in ast.walk(tree):
        if _is_sqlite_connect(node):
            yield node, "sqlite3.connect"
        if isinstance(node, ast.ImportFrom) and node.module == "sqlite3":
            yield from (
                (node, f"from sqlite3 import {a.name}") for a in node.names if a.name == "connect"
            )
        if isinstance(node, ast.Attribute) and node.attr == "ledger" and _names_areas(node.value):
            yield node, "the home's ledger file (Areas.ledger)"
        if isinstance(node, ast.Constant) and node.value == "ledger.sqlite":
            yield node, "the ledger file's name"


def violations(package: Path = PACKAGE) -> list[str]:
    """`file:line what` for every place outside the openers that finds the ledger itself."""
    found = []
    for path in _outside_openers(package):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        owner = _functions(tree)
        where = path.relative_to(package).as_posix()
        for node, what in _finds(tree):
            if (where, owner.get(node, "")) not in ALLOWED:
                found.append(f"{where}:{getattr(node, 'lineno', 0)} {what}")
    return found


def test_only_the_ledger_package_opens_or_locates_the_ledger() -> None:
    assert violations() == []


def test_the_check_finds_each_way_of_opening_the_file_itself(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        "import sqlite3\n"
        "from sqlite3 import connect\n"
        "from etl.state.areas import Areas\n"
        "def a(home, rt, areas):\n"
        "    sqlite3.connect(Areas(home).ledger)\n"
        "    return rt.areas.ledger, areas.ledger, home / 'state' / 'ledger.sqlite'\n",
        encoding="utf-8",
    )
    (tmp_path / "good.py").write_text(
        "def b(rt, settings):\n    return rt.ledger.at, ledger_at(settings)\n", encoding="utf-8"
    )
    assert sorted(violations(tmp_path)) == [
        "bad.py:2 from sqlite3 import connect",
        "bad.py:5 sqlite3.connect",
        "bad.py:5 the home's ledger file (Areas.ledger)",
        "bad.py:6 the home's ledger file (Areas.ledger)",
        "bad.py:6 the home's ledger file (Areas.ledger)",
        "bad.py:6 the ledger file's name",
    ]
