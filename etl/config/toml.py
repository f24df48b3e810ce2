"""The one TOML loader behind settings, feed contracts and ERP-file layouts.

Every configuration file is read here and validated by a `Strict` pydantic model, so a
broken file reads the same whichever kind it is: a ConfigError naming the file, the dotted
key (or "-" when the file itself is broken) and the problem, with the line and column where
the bytes or the TOML go wrong.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from etl.errors import ConfigError

# A configuration file is written by hand: one this large is the wrong file (a data export
# named in the wrong place), refused before it is read into memory.
MAX_TOML_BYTES = 1024 * 1024
# A file with many mistakes names this many; the rest are counted.
MAX_ERRORS_SHOWN = 5

Model = TypeVar("Model", bound=BaseModel)


class Strict(BaseModel):
    """Base of every settings and contract model: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The TOML document at `path`; a ConfigError when it cannot be read, decoded or parsed."""
    source = str(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_TOML_BYTES + 1)
    except OSError as exc:
        raise ConfigError(source, "-", f"cannot read {what}: {exc}") from exc
    if len(data) > MAX_TOML_BYTES:
        raise ConfigError(
            source,
            "-",
            f"cannot read {what}: larger than {MAX_TOML_BYTES} bytes, not a {what} file",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _position(data[: exc.start])
        raise ConfigError(
            source,
            "-",
            f"cannot read {what}: not UTF-8 at line {line}, column {column} "
            f"(byte 0x{data[exc.start]:02x}): save the file as UTF-8",
        ) from exc
    try:
        # Newlines as a text-mode read gives them (a lone CR too), as these files always were.
        return tomllib.loads(text.replace("\r\n", "\n").replace("\r", "\n"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "-", f"cannot read {what}: not valid TOML: {exc}") from exc


def validated(model: type[Model], raw: dict[str, Any], source: str, prefix: str = "") -> Model:
    """`raw` as a `model`; a ConfigError naming the dotted key of each problem found."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise config_error(source, exc, prefix) from exc


def config_error(source: str, exc: ValidationError, prefix: str = "") -> ConfigError:
    """A pydantic error as one ConfigError: the first problem's key, the next few in its text."""
    errors = exc.errors()
    first, others = errors[0], errors[1:]
    shown = [f"{dotted_key(e['loc'], prefix)}: {e['msg']}" for e in others[: MAX_ERRORS_SHOWN - 1]]
    if len(others) > len(shown):
        shown.append(f"{len(others) - len(shown)} more")
    also = f" (also {'; '.join(shown)})" if shown else ""
    return ConfigError(source, dotted_key(first["loc"], prefix), first["msg"] + also)


def dotted_key(location: Sequence[int | str], prefix: str = "") -> str:
    """A pydantic error location as the key a file writes: `format.trailer.lines`, `columns.0`."""
    key = ".".join([prefix.rstrip("."), *map(str, location)] if prefix else map(str, location))
    return key or "-"


def _position(before: bytes) -> tuple[int, int]:
    """The 1-based line and column just after `before`, counting characters, not bytes."""
    lines = re.split(rb"\r\n|\r|\n", before)
    return len(lines), len(lines[-1].decode("utf-8", errors="replace")) + 1
