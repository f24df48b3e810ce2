"""docs/ name every key the code reads by its full dotted name; the README is a front door.

The keys come from the pydantic models (settings, feed contracts, ERP-file layouts), walked
field by field: a table adds its name (`format.trailer.count_field`); a table of tables keyed
by a name the user chooses adds that name in angle brackets (`checks.fields.<field>.code`,
`stores.<store>.host`), which a TOML example writes as a real name (`[checks.fields.part_no]`);
a list of tables adds nothing (`values.<field>.patterns.match`); a secret is written as
`<key>_env` or `<key>_file`. A key is documented when a TOML example in docs/ sets it under its
own table (a commented-out `# key = ...` line counts), or when docs/ name it in backquotes by its
dotted name. A key written under the wrong table documents nothing, and is itself refused.
The README stays under 15 KB, opens with the quick start, and every link resolves.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tomllib
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel, SecretStr

from etl.cli import _parser
from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.to_erp.files.functions import FUNCTIONS
from etl.to_erp.files.layout_spec import ColumnSpec, LayoutContract
from tests.support.paths import REPO

DOCS = REPO / "docs"
README = REPO / "README.md"
QUICK_START = [
    "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/python run.py once",
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest -q -n auto",
]
# Filled in by the loader, never written by people.
INTERNAL = {(FeedContract, "path"), (FeedContract, "derived")}
# Written by their place in a list (`["Name", "Source", {options}]`), not as keys.
POSITIONAL = {(ColumnSpec, "name"), (ColumnSpec, "source")}
# The user's own name in a table of tables; any other such table names a field.
CHOSEN = {"stores": "<store>", "record": "<record>"}
WILD = "<*>"  # a segment that matches any one name
OPEN = "<**>"  # any further segments: a table of free values (entity options)

Path_ = tuple[str, ...]


@dataclass(frozen=True)
class Key:
    """A key as the docs must name it; `spellings` are the ways a TOML file may write it."""

    name: str
    spellings: tuple[Path_, ...]


# -- the keys, from the models ------------------------------------------------------------------


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models inside an annotation: itself, or a union's, a dict's or a list's members."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated, tuple, list):
        return [m for arg in get_args(annotation) for m in _models(arg)]
    return []


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in get_args(annotation)


def _table_of(annotation: Any) -> Any | None:
    """The value type of a `dict[str, X]` annotation (optional or not), else None."""
    for candidate in (annotation, *get_args(annotation)):
        if get_origin(candidate) is dict:
            return get_args(candidate)[1]
    return None


def keys(model: type[BaseModel], prefix: Path_ = ()) -> list[Key]:
    """Every key a person writes for `model`, by its full dotted name."""
    out: list[Key] = []
    for name, info in model.model_fields.items():
        if (model, name) in INTERNAL | POSITIONAL:
            continue
        path = (*prefix, name)
        if _is_secret(info.annotation):
            spellings = ((*prefix, f"{name}_env"), (*prefix, f"{name}_file"))
            out.append(Key(".".join(spellings[0]), spellings))
            continue
        out.append(Key(".".join(path), (path,)))
        value = _table_of(info.annotation)
        if value is not None:
            path = (*path, CHOSEN.get(name, "<field>"))
        for inner in _models(value if value is not None else info.annotation):
            out += keys(inner, path)
    return out


def known(model: type[BaseModel], prefix: Path_ = ()) -> list[Path_]:
    """Every path a TOML file for `model` may hold: its keys, and the entries of its tables."""
    out: list[Path_] = []
    for name, info in model.model_fields.items():
        if (model, name) in INTERNAL:
            continue
        path = (*prefix, name)
        if _is_secret(info.annotation):
            out += [(*prefix, f"{name}_env"), (*prefix, f"{name}_file")]
            continue
        out.append(path)
        value = _table_of(info.annotation)
        if value is not None:
            out.append((*path, WILD))
            if value is Any:
                out.append((*path, WILD, OPEN))
            path = (*path, WILD)
        for inner in _models(value if value is not None else info.annotation):
            out += known(inner, path)
    return out


def matches(pattern: Path_, path: Path_) -> bool:
    """`path` is `pattern`, with `<...>` standing for any one name and `<**>` for any rest."""
    if pattern and pattern[-1] == OPEN:
        return len(path) >= len(pattern) - 1 and matches(pattern[:-1], path[: len(pattern) - 1])
    return len(pattern) == len(path) and all(
        p == q or (p.startswith("<") and p.endswith(">"))
        for p, q in zip(pattern, path, strict=True)
    )


CONTRACT_KEYS = keys(FeedContract)
SETTINGS_KEYS = keys(Settings)
LAYOUT_KEYS = keys(LayoutContract)
KNOWN = known(FeedContract) + known(Settings) + known(LayoutContract)


# -- what the docs name -------------------------------------------------------------------------

TOML_BLOCK = re.compile(r"^( *)```toml\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
# A commented-out key or table in an example: `# interval_minutes = 15`, `# [checks]`.
COMMENTED = re.compile(r'^(\s*)#\s?(?=\[[\w."<> -]+\]\s*(#|$)|[A-Za-z_"][\w" -]*\s*=)', re.M)
BACKQUOTED = re.compile(r"`\[?([A-Za-z_<][\w<>-]*(?:\.[A-Za-z_<][\w<>-]*)*)\]?(?:\s*=[^`]*)?`")


def toml_blocks(text: str) -> Iterator[str]:
    """The TOML examples of a page, commented-out keys and tables made live."""
    for block in TOML_BLOCK.finditer(text):
        body = "\n".join(line[len(block[1]) :] for line in block[2].splitlines())
        yield COMMENTED.sub(r"\1", body)


def paths(data: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every key path in parsed TOML; the tables inside a list add no segment."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(data, list):
        for item in data:
            yield from paths(item, prefix)


def example_paths(text: str) -> set[Path_]:
    """The key paths every TOML example of `text` sets."""
    found: set[Path_] = set()
    for body in toml_blocks(text):
        try:
            found |= set(paths(tomllib.loads(body)))
        except tomllib.TOMLDecodeError as exc:  # an example a person copies must parse
            pytest.fail(f"a TOML example in docs/ does not parse ({exc}):\n{body}")
    return found


def named(text: str) -> set[Path_]:
    """What a page names: the keys its TOML examples set, and dotted names in backquotes."""
    return example_paths(text) | {tuple(m[1].split(".")) for m in BACKQUOTED.finditer(text)}


def undocumented(wanted: Iterable[Key], text: str) -> list[str]:
    """The names of the keys `text` names in no spelling."""
    have = named(text)
    return [
        key.name
        for key in wanted
        if not any(matches(spelling, path) for spelling in key.spellings for path in have)
    ]


def pages(folder: Path) -> str:
    """Every page of a docs folder, as one text."""
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.md")))


# -- every key, by its full dotted name ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "wanted"),
    [("contract", CONTRACT_KEYS), ("settings", SETTINGS_KEYS), ("layout", LAYOUT_KEYS)],
)
def test_every_key_is_in_the_docs_by_its_dotted_name(kind: str, wanted: list[Key]) -> None:
    assert undocumented(wanted, pages(DOCS)) == [], f"{kind} keys missing from docs/"


def test_every_key_in_a_docs_example_is_a_real_one() -> None:
    wrong = [
        ".".join(path)
        for path in sorted(example_paths(pages(DOCS)))
        if not any(matches(pattern, path) for pattern in KNOWN)
    ]
    assert wrong == [], "docs/ show keys that no settings, contract or layout has"


def test_the_keys_are_named_in_full() -> None:
    # The walk itself: a dynamic segment, a trailer's key, a secret, a list of tables.
    names = {k.name for k in CONTRACT_KEYS + SETTINGS_KEYS + LAYOUT_KEYS}
    assert {
        "format.extra_empty_fields",
        "format.trailer.count_field",
        "checks.fields.<field>.code",
        "checks.same_key_rows",
        "values.<field>.patterns.match",
        "stores.<store>.host_key_fingerprint",
        "stores.<store>.password_env",
        "receiver.events.token_env",
        "record.<record>.columns.decimals",
    } <= names
    assert "checks.fields.<field>.same_key_rows" not in names
    assert not {"path", "derived", "record.<record>.columns.name"} & names


def test_a_key_left_out_of_the_docs_is_named(tmp_path: Path) -> None:
    copy = tmp_path / "docs"
    shutil.copytree(DOCS, copy)
    page = copy / "feed-contracts.md"
    text = page.read_text(encoding="utf-8")
    line = "max_files = 20               # per run, oldest name first\n"
    assert text.count(line) == 1
    page.write_text(text.replace(line, ""), encoding="utf-8")

    assert undocumented(CONTRACT_KEYS, pages(copy)) == ["source.max_files"]


def test_a_key_under_the_wrong_table_documents_nothing(tmp_path: Path) -> None:
    # As the README once did: same_key_rows shown under [checks.fields.part_no].
    text = pages(DOCS)
    setting = '# same_key_rows = "reject"   # rows sharing a key'
    assert text.count(setting) == 1
    misplaced = text.replace(setting, "#").replace(
        "[checks.fields.part_no]      # per canonical field, any of:\n",
        '[checks.fields.part_no]      # per canonical field, any of:\nsame_key_rows = "reject"\n',
    )
    # A check by the leaf name alone would pass: the line is there, under the wrong table.
    assert re.search(r"(?m)^same_key_rows = ", misplaced)
    assert undocumented(CONTRACT_KEYS, misplaced) == ["checks.same_key_rows"]
    [wrong] = [p for p in example_paths(misplaced) if not any(matches(k, p) for k in KNOWN)]
    assert wrong == ("checks", "fields", "part_no", "same_key_rows")


def test_every_function_of_the_layouts_is_in_the_docs() -> None:
    text = (DOCS / "layouts.md").read_text(encoding="utf-8")
    assert [f for f in sorted(FUNCTIONS) if f"`{f}()`" not in text] == []


# -- the README: a front door -------------------------------------------------------------------


def test_the_readme_is_under_15_kb() -> None:
    assert README.stat().st_size < 15_000


def test_the_quick_start_begins_with_the_two_command_lines() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Quick start\n", 1)[1]
    block = re.match(r"\s*```\n(.*?)```", section, re.DOTALL)
    assert block, "the quick start opens with its commands"
    assert block[1].splitlines() == QUICK_START


def _commands() -> list[str]:
    """The CLI's commands, as its parser knows them."""
    [sub] = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(sub.choices)


def test_every_command_is_in_the_readme_and_in_operations() -> None:
    readme = README.read_text(encoding="utf-8")
    operations = (DOCS / "operations.md").read_text(encoding="utf-8")
    for command in _commands():
        assert f"| `python run.py {command}" in readme, f"{command!r} is not in README.md"
        assert f"| `python run.py {command}" in operations, f"{command!r} not in operations.md"


# -- links --------------------------------------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^ *```.*?^ *```", re.MULTILINE | re.DOTALL)


def anchors(page: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings (code blocks hold none)."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", FENCE.sub("", page.read_text("utf-8")), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return out


def broken_links(page: Path) -> list[str]:
    """The relative links of a page whose file or anchor does not exist."""
    broken = []
    for target in LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:: not ours to check offline
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        if not resolved.exists() or (anchor and anchor not in anchors(resolved)):
            broken.append(target)
    return broken


@pytest.mark.parametrize("page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_a_broken_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\n## Go-live checklist\n\n```\n# Not a heading\n```\n")
    (tmp_path / "b.md").write_text(
        "[ok](a.md#go-live-checklist) [gone](a.md#go-live) [code](a.md#not-a-heading)"
        " [no file](c.md) [web](https://example.com/x#y)\n"
    )
    assert broken_links(tmp_path / "b.md") == ["a.md#go-live", "a.md#not-a-heading", "c.md"]


def test_the_readme_links_every_page_of_the_docs() -> None:
    readme = README.read_text(encoding="utf-8")
    linked = {t.partition("#")[0] for t in LINK.findall(readme)}
    assert {f"docs/{p.name}" for p in DOCS.glob("*.md")} <= linked


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_every_page_opens_with_what_it_covers(page: Path) -> None:
    title, _, rest = page.read_text(encoding="utf-8").partition("\n\n")
    first = rest.partition("\n\n")[0]
    assert title.startswith("# ") and "\n" not in title
    assert first and first[0] not in "#`|-", f"{page.name}: a paragraph, then the rest"
