"""The one TOML loader: reading a file, and validating it into a Strict model."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field, ValidationError, model_validator

from etl.config.toml import MAX_ERRORS_SHOWN, MAX_TOML_BYTES, Strict, read_toml, validated
from etl.errors import ConfigError


class Inner(Strict):
    """A nested table."""

    size: int = Field(default=1, ge=1)


class Outer(Strict):
    """A document with a table, a list of tables and a whole-document rule."""

    inner: Inner = Inner()
    items: tuple[Inner, ...] = ()
    name: str = "x"

    @model_validator(mode="after")
    def _not_nameless(self) -> Outer:
        if not self.name:
            raise ValueError("name cannot be empty")
        return self


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "file.toml"
    path.write_bytes(data)
    return path


def _refused(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        read_toml(path, "settings")
    assert caught.value.source == str(path)
    assert caught.value.key == "-"
    assert caught.value.problem.startswith("cannot read settings: ")
    return caught.value


def test_a_document_reads_as_its_tables(tmp_path: Path) -> None:
    path = _file(tmp_path, b'name = "a"\n[inner]\nsize = 2\n')
    assert read_toml(path, "settings") == {"name": "a", "inner": {"size": 2}}


def test_windows_line_ends_read_as_unix_ones(tmp_path: Path) -> None:
    text = 'name = """two\nlines"""\n[inner]\nsize = 2\n'
    unix = read_toml(_file(tmp_path, text.encode()), "settings")
    windows = read_toml(_file(tmp_path, text.replace("\n", "\r\n").encode()), "settings")
    assert windows == unix
    assert windows["name"] == "two\nlines"


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    error = _refused(tmp_path / "absent.toml")
    assert "No such file" in error.problem


def test_a_folder_is_a_config_error(tmp_path: Path) -> None:
    _refused(tmp_path)


def test_a_file_over_the_bound_is_refused_unread(tmp_path: Path) -> None:
    at_bound = b"#" * (MAX_TOML_BYTES - 1) + b"\n"
    assert read_toml(_file(tmp_path, at_bound), "settings") == {}
    error = _refused(_file(tmp_path, at_bound + b"\n"))
    assert f"larger than {MAX_TOML_BYTES} bytes" in error.problem


def test_bytes_that_are_not_utf8_are_placed_by_character(tmp_path: Path) -> None:
    # "å" is two bytes: the column counts characters, as an editor shows them.
    error = _refused(_file(tmp_path, 'a = 1\r\nb = "å'.encode() + b'\xff"\n'))
    assert error.problem == (
        "cannot read settings: not UTF-8 at line 2, column 7 (byte 0xff): save the file as UTF-8"
    )


def test_a_syntax_error_keeps_tomllibs_line_and_column(tmp_path: Path) -> None:
    error = _refused(_file(tmp_path, b"a = 1\n[inner\n"))
    assert error.problem.startswith("cannot read settings: not valid TOML: ")
    assert error.problem.endswith("(at line 2, column 7)")


def test_a_valid_document_becomes_the_model() -> None:
    loaded = validated(Outer, {"inner": {"size": 3}, "items": [{"size": 2}]}, "f.toml")
    assert loaded == Outer(inner=Inner(size=3), items=(Inner(size=2),))


def test_a_wrong_value_is_named_by_its_dotted_key() -> None:
    with pytest.raises(ConfigError) as caught:
        validated(Outer, {"items": [{"size": 2}, {"size": 0}]}, "f.toml")
    assert (caught.value.source, caught.value.key) == ("f.toml", "items.1.size")
    assert caught.value.problem == "Input should be greater than or equal to 1"


def test_an_unknown_key_is_named_in_its_table() -> None:
    with pytest.raises(ConfigError) as caught:
        validated(Outer, {"inner": {"colour": "red"}}, "f.toml")
    assert (caught.value.key, caught.value.problem) == (
        "inner.colour",
        "Extra inputs are not permitted",
    )


def test_a_rule_of_the_whole_document_has_no_key() -> None:
    with pytest.raises(ConfigError) as caught:
        validated(Outer, {"name": ""}, "f.toml")
    assert caught.value.key == "-"
    assert "name cannot be empty" in caught.value.problem


def test_a_prefix_names_the_table_the_document_came_from() -> None:
    with pytest.raises(ConfigError) as caught:
        validated(Inner, {"size": "big"}, "f.toml", prefix="options")
    assert caught.value.key == "options.size"
    with pytest.raises(ConfigError) as whole:
        validated(Outer, {"name": ""}, "f.toml", prefix="options")
    assert whole.value.key == "options"


def test_the_first_few_problems_are_named_and_the_rest_counted() -> None:
    wrong = {f"k{n}": n for n in range(MAX_ERRORS_SHOWN + 2)}
    with pytest.raises(ConfigError) as caught:
        validated(Inner, wrong, "f.toml")
    assert caught.value.key == "k0"
    named = "; ".join(f"k{n}: Extra inputs are not permitted" for n in range(1, MAX_ERRORS_SHOWN))
    assert caught.value.problem == (f"Extra inputs are not permitted (also {named}; 2 more)")


def test_a_strict_model_is_frozen() -> None:
    with pytest.raises(ValidationError):
        Inner(size=2).size = 3  # type: ignore[misc]
