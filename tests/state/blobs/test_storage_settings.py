"""[storage] in the settings file: local by default, S3 only when whole, secrets never inline."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config.settings import load_settings
from etl.errors import ConfigError

S3 = '[storage]\nbackend = "s3"\nbucket = "shop-archive"\nendpoint_url = "http://127.0.0.1:9000"\n'
KEYS = 'access_key_id_env = "S3_KEY"\nsecret_access_key_env = "S3_SECRET"\n'
ENV = {"S3_KEY": "AKIDEXAMPLE", "S3_SECRET": "wJalrXUtnFEMI-secret"}


def settings_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "etl.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_is_local_folders(tmp_path: Path) -> None:
    assert load_settings(settings_file(tmp_path, ""), {}).storage.backend == "local"
    assert load_settings(None, {}).storage.backend == "local"


def test_s3_reads_its_keys_from_the_environment_and_never_shows_them(tmp_path: Path) -> None:
    settings = load_settings(settings_file(tmp_path, S3 + KEYS + 'prefix = "shop-a"\n'), ENV)

    storage = settings.storage
    assert (storage.backend, storage.bucket, storage.prefix) == ("s3", "shop-archive", "shop-a")
    assert storage.secret_access_key is not None
    assert storage.secret_access_key.get_secret_value() == ENV["S3_SECRET"]
    assert ENV["S3_SECRET"] not in repr(settings) and ENV["S3_KEY"] not in str(settings)


def test_a_key_may_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("from-a-file\n", encoding="utf-8")
    text = S3 + f'access_key_id_env = "S3_KEY"\nsecret_access_key_file = "{tmp_path / "secret"}"\n'

    storage = load_settings(settings_file(tmp_path, text), ENV).storage

    assert storage.secret_access_key is not None
    assert storage.secret_access_key.get_secret_value() == "from-a-file"


@pytest.mark.parametrize(
    ("text", "env", "key"),
    [
        (S3 + 'secret_access_key = "inline"\n', ENV, "storage.secret_access_key"),
        (S3 + KEYS, {"S3_KEY": "k"}, "storage.secret_access_key_env"),
        (S3, ENV, "storage"),  # no credentials at all
        ('[storage]\nbackend = "s3"\n' + KEYS, ENV, "storage"),  # no bucket
        (S3 + KEYS + 'prefix = "/abs"\n', ENV, "storage.prefix"),
        (S3 + KEYS + 'backend_url = "x"\n', ENV, "storage.backend_url"),
    ],
)
def test_a_storage_table_that_cannot_work_refuses_to_start(
    tmp_path: Path, text: str, env: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(settings_file(tmp_path, text), env)

    assert caught.value.key == key
