"""`run.py worker` on the CLI: its options, and a start without a queue database refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.cli import main


def test_a_worker_without_a_queue_database_is_refused_as_a_configuration_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert main(["--home", str(tmp_path), "worker"]) == 2
    assert "[worker] dsn_env" in caplog.text


def test_concurrency_is_at_least_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["--home", str(tmp_path), "worker", "--concurrency", "0"])
    assert ended.value.code == 2
    assert "must be at least 1, not 0" in capsys.readouterr().err
