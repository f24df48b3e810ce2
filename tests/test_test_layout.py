"""Test modules and conftest files import nothing from each other: shared helpers live in
tests/support/ (and test data in tests/fixtures/), so moving or deleting one test file never
breaks another."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import REPO


def module_name(path: Path, base: Path) -> str:
    """`BASE/tests/a/b.py` -> `tests.a.b` (a package's `__init__.py` is the package)."""
    parts = path.relative_to(base).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, base: Path) -> list[tuple[int, str]]:
    """Every module `path` imports, absolute, with the line; `from X import Y` counts X and X.Y."""
    here = module_name(path, base).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            anchor = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*anchor, *([node.module] if node.module else [])])
            found.append((node.lineno, module))
            # `from <package> import test_y` imports the test module <package>.test_y
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def is_test_module(module: str) -> bool:
    """A test module or a conftest under tests/: nothing may import it."""
    parts = module.split(".")
    return parts[0] == "tests" and (parts[-1].startswith("test_") or parts[-1] == "conftest")


def offences(base: Path) -> list[str]:
    """`path:line imports module` for every import of a test module or conftest in BASE/tests."""
    return [
        f"{path.relative_to(base)}:{line} imports {module}"
        for path in sorted((base / "tests").rglob("*.py"))
        for line, module in imported(path, base)
        if is_test_module(module)
    ]


def test_no_test_module_or_conftest_imports_another() -> None:
    assert offences(REPO) == []


def test_the_walk_finds_each_kind_of_import_it_forbids(tmp_path: Path) -> None:
    # The walk must see absolute, `from package import module` and relative imports alike,
    # and must leave helpers alone; otherwise the test above would pass by seeing nothing.
    # Spelt with `{t}` so that a grep of tests/ for such imports does not find this probe.
    t = "tests"
    lines = [
        f"import {t}.receiver.test_receiver",
        f"from {t}.to_erp.parties.conftest import PartyWorld",
        f"from {t}.receiver import test_receiver_kill",
        "from .conftest import client",
        "from . import test_client",
        f"from {t}.support.receiver import running",
        f"from {t}.fixtures.orders import sample",
        f"import {t}.support.paths",
    ]
    folder = tmp_path / "tests" / "norce"
    folder.mkdir(parents=True)
    (folder / "test_probe.py").write_text("\n".join(lines) + "\n", encoding="utf-8")

    assert offences(tmp_path) == [
        "tests/norce/test_probe.py:1 imports tests.receiver.test_receiver",
        "tests/norce/test_probe.py:2 imports tests.to_erp.parties.conftest",
        "tests/norce/test_probe.py:3 imports tests.receiver.test_receiver_kill",
        "tests/norce/test_probe.py:4 imports tests.norce.conftest",
        "tests/norce/test_probe.py:5 imports tests.norce.test_client",
    ]
