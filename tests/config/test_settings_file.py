"""A malformed settings file is a configuration error naming the key, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.config.settings import Settings, load_settings
from etl.errors import ConfigError
from tests.support.paths import REPO


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "etl.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[stores]\nerp = "x"\n', "stores.erp"),
        ('stores = "x"\n', "stores"),
        ("norce = 3\n", "norce"),
        ('[receiver]\nevents = "x"\n', "receiver.events"),
        ('receiver = ["a"]\n', "receiver"),
        ("home = 7\n", "home"),
        ('schemas_dir = ["a"]\n', "schemas_dir"),
        (
            '[stores.erp]\nkind = "sftp"\nhost = "h"\nusername = "u"\npassword_env = 5\n',
            "stores.erp.password_env",
        ),
        ('[norce]\nclient_secret_file = ["x"]\n', "norce.client_secret_file"),
    ],
)
def test_a_wrong_shape_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_write(tmp_path, text), {})
    assert caught.value.key == key, str(caught.value)


def test_run_py_exits_2_naming_the_key_not_a_traceback(tmp_path: Path) -> None:
    _write(tmp_path, '[stores]\nerp = "x"\n')
    done = subprocess.run(
        [sys.executable, str(REPO / "run.py"), "status"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "stores.erp" in done.stderr
    assert "Traceback" not in done.stderr


# Values of every TOML shape, nested a little: what a hand-edited settings file can hold.
_scalars = st.one_of(
    st.text(max_size=5), st.integers(-3, 70000), st.booleans(), st.floats(allow_nan=False)
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
_keys = st.sampled_from(
    [
        "stores",
        "norce",
        "receiver",
        "orders",
        "archive",
        "home",
        "schemas_dir",
        "pause_before_commit_seconds",
        "kind",
        "root",
        "host",
        "events",
        "token_env",
        "password_env",
        "password_file",
        "client_secret_env",
        "erp",
        "path",
        "port",
    ]
)
_documents: st.SearchStrategy[dict[str, Any]] = st.dictionaries(
    _keys,
    st.recursive(_values, lambda inner: st.dictionaries(_keys, inner, max_size=4), max_leaves=8),
    max_size=5,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=_documents)
def test_any_toml_document_loads_or_is_a_config_error(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(_toml(document), encoding="utf-8")
    assert tomllib.loads(path.read_text(encoding="utf-8")) == document
    try:
        loaded = load_settings(path, {"X": "secret"})
    except ConfigError as exc:
        assert exc.key, exc
    else:
        assert isinstance(loaded, Settings)


def _toml(document: dict[str, Any]) -> str:
    """Inline TOML for a document of str/int/bool/float/list/dict values."""
    return "\n".join(f"{_key(k)} = {_inline(v)}" for k, v in document.items()) + "\n"


def _key(key: str) -> str:
    # JSON's escapes are TOML's, except DEL, which TOML wants escaped too.
    return json.dumps(key, ensure_ascii=False).replace("\x7f", "\\u007f")


def _inline(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _key(value)
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return "{" + ", ".join(f"{_key(k)} = {_inline(v)}" for k, v in value.items()) + "}"


def test_a_file_without_stores_keeps_the_sample_store(tmp_path: Path) -> None:
    loaded = load_settings(_write(tmp_path, '[norce]\nmode = "file"\n'), {})
    assert list(loaded.stores) == ["erp"]


def test_a_relative_local_root_is_read_from_the_settings_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As home and schemas_dir are: the same file means the same folders from any directory."""
    config = _write(tmp_path, '[stores.erp]\nkind = "local"\nroot = "erp"\n')
    monkeypatch.chdir(REPO)

    store = load_settings(config, {}).stores["erp"]

    assert Path(store.root).resolve() == (tmp_path / "erp").resolve()


def test_a_relative_local_root_is_a_config_error_when_not_text(tmp_path: Path) -> None:
    config = _write(tmp_path, '[stores.erp]\nkind = "local"\nroot = 3\n')

    with pytest.raises(ConfigError) as caught:
        load_settings(config, {})

    assert caught.value.key == "stores.erp.root"
