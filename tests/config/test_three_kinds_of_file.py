"""Settings, feed contracts and ERP-file layouts report a broken file the same way.

Each kind is read by the one TOML loader: a file that is not UTF-8, not TOML, or holds a
value of the wrong type is a ConfigError naming the file, the dotted key and the problem,
with the line and column where the file itself is broken.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from etl.config.contract_files import load_contract
from etl.config.settings import Settings, load_settings
from etl.errors import ConfigError
from etl.to_erp.files.layouts import load_layout

SETTINGS = """\
[norce]
mode = "file"
chunk_size = 100
"""

CONTRACT = """\
[feed]
name = "prices"
entity = "price"

[format]
type = "csv"

[columns]
"sku" = "part_no"
"price" = "price_sale"

[defaults]
price_list_code = "STD"
currency = "SEK"
quantity_break = "1"

[guard]
max_removals = 10
"""

LAYOUT = """\
[layout]
format = "csv"
max_files_per_run = 100

[target]
file_name = "ORDERS_{first}_{count}.csv"

[record.head]
columns = [["OrderNo", "ClientOrderRef"]]
"""

Load = Callable[[Path], object]


def _settings(path: Path) -> object:
    return load_settings(path, {})


def _contract(path: Path) -> object:
    return load_contract(path, Settings())


def _layout(path: Path) -> object:
    return load_layout(path, Settings())


# kind: (a file that loads, how to load it, an integer key in it as "table.key = value")
KINDS: dict[str, tuple[str, Load, str]] = {
    "settings": (SETTINGS, _settings, "norce.chunk_size = 100"),
    "contract": (CONTRACT, _contract, "guard.max_removals = 10"),
    "layout": (LAYOUT, _layout, "layout.max_files_per_run = 100"),
}


def _write(tmp_path: Path, kind: str, data: bytes) -> Path:
    path = tmp_path / f"{kind}.toml"
    path.write_bytes(data)
    return path


def _refused(load: Load, path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.source == str(path)
    assert str(caught.value).startswith(f"{path}: {caught.value.key}: ")
    return caught.value


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_loads_as_written(tmp_path: Path, kind: str) -> None:
    text, load, _ = KINDS[kind]
    load(_write(tmp_path, kind, text.encode()))


@pytest.mark.parametrize("kind", KINDS)
def test_a_syntax_error_names_its_line_and_column(tmp_path: Path, kind: str) -> None:
    text, load, _ = KINDS[kind]
    lines = text.count("\n")
    error = _refused(load, _write(tmp_path, kind, f"{text}broken = \n".encode()))
    assert error.key == "-"
    assert f"not valid TOML: Invalid value (at line {lines + 1}, column 10)" in error.problem


@pytest.mark.parametrize("kind", KINDS)
def test_bytes_that_are_not_utf8_name_their_line_and_column(tmp_path: Path, kind: str) -> None:
    text, load, _ = KINDS[kind]
    lines = text.count("\n")
    error = _refused(load, _write(tmp_path, kind, text.encode() + b"# caf\xe9\n"))
    assert error.key == "-"
    assert f"not UTF-8 at line {lines + 1}, column 6" in error.problem


@pytest.mark.parametrize("kind", KINDS)
def test_a_value_of_the_wrong_type_names_its_dotted_key(tmp_path: Path, kind: str) -> None:
    text, load, written = KINDS[kind]
    key, _, value = written.partition(" = ")
    bad = text.replace(f"{key.rpartition('.')[2]} = {value}", f'{key.rpartition(".")[2]} = "x"')
    error = _refused(load, _write(tmp_path, kind, bad.encode()))
    assert (error.key, error.problem) == (
        key,
        "Input should be a valid integer, unable to parse string as an integer",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_key_is_named_with_its_table(tmp_path: Path, kind: str) -> None:
    text, load, written = KINDS[kind]
    key = written.partition(" = ")[0]
    table, _, name = key.rpartition(".")
    bad = text.replace(f"{name} = ", f"colour = 1\n{name} = ", 1)
    error = _refused(load, _write(tmp_path, kind, bad.encode()))
    assert (error.key, error.problem) == (f"{table}.colour", "Extra inputs are not permitted")


@pytest.mark.parametrize("kind", KINDS)
def test_several_wrong_keys_are_named_together(tmp_path: Path, kind: str) -> None:
    text, load, written = KINDS[kind]
    key = written.partition(" = ")[0]
    table, _, name = key.rpartition(".")
    bad = text.replace(f"{name} = ", "colour = 1\nshade = 2\n" + f"{name} = ", 1)
    error = _refused(load, _write(tmp_path, kind, bad.encode()))
    assert error.key == f"{table}.colour"
    assert error.problem == (
        f"Extra inputs are not permitted (also {table}.shade: Extra inputs are not permitted)"
    )
