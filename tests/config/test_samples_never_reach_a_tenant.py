"""A settings file that talks to a real tenant (`mode = "http"`) but names no ERP store must not
fall back to the sample exports shipped in the package: they would be imported into Norce."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config.settings import load_settings
from etl.errors import ConfigError

HTTP = (
    '[norce]\nmode = "http"\nbase_url = "https://tenant.example"\n'
    'client_id = "c"\nclient_secret_env = "SECRET"\n'
)


def test_http_mode_without_stores_is_refused_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "etl.toml").write_text(HTTP, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path / "etl.toml", {"SECRET": "s"})
    assert refused.value.key == "stores"
    assert "sample" in str(refused.value)


def test_http_mode_with_its_own_store_and_file_mode_without_one_load(tmp_path: Path) -> None:
    store = f'[stores.erp]\nkind = "local"\nroot = "{tmp_path}"\n'
    (tmp_path / "etl.toml").write_text(HTTP + store, encoding="utf-8")
    assert load_settings(tmp_path / "etl.toml", {"SECRET": "s"}).stores["erp"].kind == "local"
    (tmp_path / "etl.toml").write_text('schemas_dir = "schemas"\n', encoding="utf-8")
    assert "erp" in load_settings(tmp_path / "etl.toml", {}).stores  # the demo, in file mode
