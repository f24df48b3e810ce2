"""requirements.lock pins what pyproject.toml asks for, with hashes, and nothing is missing from it."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.paths import REPO

LOCK = REPO / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pins(text: str) -> dict[str, Version]:
    """Every `name==version` line of a pip-compile lock, by canonical name."""
    found = (PIN.match(line) for line in text.splitlines())
    return {canonicalize_name(m[1]): Version(m[2]) for m in found if m}


def hashed(text: str) -> dict[str, int]:
    """How many `--hash` lines follow each pin."""
    counts: dict[str, int] = {}
    current = ""
    for line in text.splitlines():
        pin = PIN.match(line)
        if pin:
            current = canonicalize_name(pin[1])
            counts[current] = 0
        elif line.strip().startswith("--hash=sha256:"):
            counts[current] += 1
    return counts


def runtime_requirements() -> list[Requirement]:
    """[project.dependencies] of pyproject.toml."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(text) for text in project["dependencies"]]


def applies(requirement: Requirement, extras: frozenset[str]) -> bool:
    """Whether a requirement is needed on this machine with the given extras asked for."""
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": e}) for e in extras or {""})


def installed_closure(roots: list[Requirement]) -> set[str]:
    """Every distribution the roots need here, transitively, as the installed metadata says."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(r, frozenset(r.extras)) for r in roots if applies(r, frozenset())]
    while todo:
        requirement, extras = todo.pop()
        key = (canonicalize_name(requirement.name), extras)
        if key in seen:
            continue
        seen.add(key)
        for text in metadata.requires(requirement.name) or []:
            child = Requirement(text)
            if applies(child, extras):
                todo.append((child, frozenset(child.extras)))
    return {name for name, _ in seen}


def test_every_dependency_is_pinned_within_its_range() -> None:
    locked = pins(LOCK.read_text(encoding="utf-8"))
    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is not in requirements.lock: run deploy/lock.sh"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock pins {name}=={locked[name]}, outside {requirement}: "
            "run deploy/lock.sh"
        )


def test_every_pin_has_a_hash() -> None:
    # pip's --require-hashes refuses the whole file if a single pin lacks one.
    counts = hashed(LOCK.read_text(encoding="utf-8"))
    assert counts and all(counts.values()), [name for name, n in counts.items() if not n]


def test_the_lock_holds_every_transitive_dependency() -> None:
    # What the installed packages need (pandera[polars] pulls in more than pandera): a
    # dependency a new release added would be missing from a stale lock.
    locked = set(pins(LOCK.read_text(encoding="utf-8")))
    missing = installed_closure(runtime_requirements()) - locked
    assert not missing, f"not in requirements.lock: {sorted(missing)}: run deploy/lock.sh"


def test_the_checks_read_a_lock_as_pip_compile_writes_it() -> None:
    sample = (
        "# header\npolars==2.1.0 \\\n    --hash=sha256:ab \\\n    --hash=sha256:cd\n"
        "    # via erp-norce-etl (pyproject.toml)\nPyYAML==6.0 \\\n    --hash=sha256:ef\n"
    )
    assert pins(sample) == {"polars": Version("2.1.0"), "pyyaml": Version("6.0")}
    assert hashed(sample) == {"polars": 2, "pyyaml": 1}
