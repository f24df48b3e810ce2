"""The README documents every key a contract or the settings file can hold, and every command."""

from __future__ import annotations

import re
import types
import typing
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel

from etl.cli import _parser
from etl.config.contracts import FeedContract
from etl.config.settings import LocalStoreSettings, Settings, SftpStoreSettings
from tests.support.paths import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
# Keys that are not written by people: filled in by the loader.
INTERNAL = {"path", "derived", "home", "password", "key_passphrase", "client_secret"}


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (
        typing.Union,
        types.UnionType,
        typing.Annotated,
        dict,
        list,
        tuple,
    ):
        return [m for arg in get_args(annotation) for m in _models(arg)]
    return []


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, info in model.model_fields.items():
        if name in INTERNAL:
            continue
        keys.append(prefix + name)
        for inner in _models(info.annotation):
            keys += _keys(inner, f"{prefix}{name}.")
    return keys


def _documented(key: str) -> bool:
    name = key.rsplit(".", 1)[-1]
    # As a TOML key in an example block, a table header, or named in backquotes.
    return bool(
        re.search(rf"(?m)^\s*#?\s*{re.escape(name)}\s*=", README)
        or re.search(rf"\[[\w.]*\b{re.escape(name)}\b", README)
        or f"`{name}`" in README
        or f"`{key}`" in README
    )


@pytest.mark.parametrize("key", _keys(FeedContract))
def test_every_contract_key_is_in_the_readme(key: str) -> None:
    assert _documented(key), f"contract key {key!r} is not documented in README.md"


@pytest.mark.parametrize(
    "key", _keys(Settings) + _keys(LocalStoreSettings) + _keys(SftpStoreSettings)
)
def test_every_settings_key_is_in_the_readme(key: str) -> None:
    assert _documented(key), f"settings key {key!r} is not documented in README.md"


def test_every_command_is_in_the_readme() -> None:
    parser = _parser()
    (sub,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    for command in sub.choices:  # type: ignore[attr-defined]
        assert f"python run.py {command}" in README, f"command {command!r} is not in README.md"
