"""The package's shape, checked: no import cycles, no imports hidden in functions.

The imports are read with `ast` from the source (every `import` and `from ... import`,
including those under `if TYPE_CHECKING:` and inside functions), so a cycle cannot hide
behind a lazy import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import etl

PACKAGE = Path(etl.__file__).resolve().parent


@dataclass(frozen=True)
class Import:
    """One import of a module of ours: where it is written and what it names."""

    importer: str
    imported: str
    line: int
    in_function: bool


def module_names(package: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(package: Path = PACKAGE) -> Iterator[Import]:
    """Every import of one of the package's modules by another, resolved to a module."""
    modules = module_names(package)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_function = {
            id(node)
            for func in ast.walk(tree)
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
            for node in ast.walk(func)
        }
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            for target in _targets(node, name, is_package, modules):
                if target != name:
                    yield Import(name, target, node.lineno, id(node) in in_function)  # type: ignore[attr-defined]


def _targets(node: ast.AST, module: str, is_package: bool, modules: dict[str, Path]) -> list[str]:
    """The modules of ours an import statement loads: `from a.b import c` is a.b.c if c is one."""
    if isinstance(node, ast.Import):
        return [_known(a.name, modules) for a in node.names if _known(a.name, modules)]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative: resolved against the importing module's package
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - node.level + 1]
        base = ".".join([*anchor, base] if base else anchor)
    found = []
    for alias in node.names:
        full = f"{base}.{alias.name}"
        target = full if full in modules else _known(base, modules)
        if target:
            found.append(target)
    return found


def _known(name: str, modules: dict[str, Path]) -> str:
    """`name` if it is one of our modules, else the nearest enclosing one of ours, else ''."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in modules:
            return ".".join(parts)
        parts.pop()
    return ""


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports."""
    graph: dict[str, set[str]] = {name: set() for name in module_names(package)}
    for imp in imports(package):
        graph[imp.importer].add(imp.imported)
    return graph


def test_no_module_imports_itself_back_through_others() -> None:
    found = cycles(import_graph())
    explained = [" <-> ".join(cycle) for cycle in found]
    assert explained == [], f"import cycles: {explained}"


def test_no_module_of_ours_is_imported_inside_a_function() -> None:
    # A lazy import is how a cycle hides; a module imports what it needs at the top.
    hidden = [f"{i.importer}:{i.line} imports {i.imported}" for i in imports() if i.in_function]
    assert hidden == []


def test_the_check_finds_a_cycle_and_a_hidden_import(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    from pkg import a\n")
    (package / "sub" / "c.py").write_text("from . import b\nfrom .. import a\n")
    assert cycles(import_graph(package)) == [["pkg.a", "pkg.sub.b"]]
    hidden = [(i.importer, i.imported) for i in imports(package) if i.in_function]
    assert hidden == [("pkg.sub.b", "pkg.a")]
    assert import_graph(package)["pkg.sub.c"] == {"pkg.sub.b", "pkg.a"}


def package_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Top-level package (or module) -> the top-level ones it imports: etl.to_erp, etl.state..."""
    graph: dict[str, set[str]] = {}
    for importer, imported in import_graph(package).items():
        top = ".".join(importer.split(".")[:2])
        graph.setdefault(top, set())
        graph[top] |= {".".join(i.split(".")[:2]) for i in imported} - {top}
    return graph


# Packages that still import each other, and why. Fix one and the test says to drop it here.
KNOWN_PACKAGE_CYCLES = [
    # `forget` clears a person's row proof in the retention record (retention.snapshots), and
    # the purge asks privacy which spooled bodies a pending erasure still needs and for the
    # salt of those proofs: one lifecycle of personal data, split by who starts it.
    ["etl.privacy", "etl.retention"],
]


def test_packages_import_each_other_only_where_listed_with_a_reason() -> None:
    assert cycles(package_graph()) == KNOWN_PACKAGE_CYCLES


def test_shared_machinery_never_imports_a_flow() -> None:
    flows = {"etl.to_norce", "etl.to_erp", "etl.receiver", "etl.commands", "etl.jobs", "etl.cli"}
    shared = ["etl.read", "etl.state", "etl.transport", "etl.norce", "etl.entities", "etl.config"]
    graph = package_graph()
    upward = {p: sorted(graph[p] & flows) for p in shared if graph[p] & flows}
    assert upward == {}
