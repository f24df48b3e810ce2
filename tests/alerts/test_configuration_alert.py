"""A contract that does not load is alerted (once, however many starts fail on it) and
resolved by the next start whose contracts load; no other alert is touched meanwhile."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from etl.alert_jobs import alert_pass
from etl.alerts.book import recent_alerts
from etl.cli import main
from etl.config.contract_files import load_contracts
from etl.config.settings import load_settings
from etl.runtime import Runtime
from tests.support.alert_servers import webhook_server
from tests.support.paths import SCHEMAS


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(SCHEMAS, home / "schemas")
    (tmp_path / "erp" / "products").mkdir(parents=True)
    (home / "etl.toml").write_text(
        'home = "."\nschemas_dir = "schemas"\n'
        '[alerts]\ninstance = "shop-test"\ntimeout_seconds = 2\nexpect_receiver = true\n'
        '[alerts.channels.ops]\nkind = "webhook"\nurl_env = "TEST_F2_HOOK"\n'
        f'[stores.erp]\nkind = "local"\nroot = "{tmp_path / "erp"}"\n',
        encoding="utf-8",
    )
    return home


def test_a_broken_contract_is_alerted_once_and_resolved_when_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home(tmp_path)
    contract = home / "schemas" / "products.toml"
    good = contract.read_text(encoding="utf-8")
    with webhook_server() as hook:
        monkeypatch.setenv("TEST_F2_HOOK", hook.url)
        # A problem of its own first: the receiver is expected and never ran.
        assert main(["--home", str(home), "once", "--feed", "products"]) == 0
        assert len(hook.bodies) == 1
        settings = load_settings(home / "etl.toml", os.environ, home)
        contracts = load_contracts(settings)
        contract.write_text(good + "bogus_key = 1\n", encoding="utf-8")
        capsys.readouterr()
        assert main(["--home", str(home), "once"]) == 2
        assert main(["--home", str(home)]) == 2  # the scheduler's start
        assert main(["--home", str(home), "status"]) == 2
        status = capsys.readouterr().out.splitlines()
        assert len(hook.bodies) == 2  # one alert, however many starts failed
        # The receiver, whose contracts loaded when it started, keeps that alert open.
        rt = Runtime.open(settings)
        try:
            assert alert_pass(rt, contracts, rt.clock())[0].startswith("alerts: 0 new, 0 res")
        finally:
            rt.close()
        contract.write_text(good, encoding="utf-8")
        # Fixed, but no start has run the feeds since: status says the failed start still
        # needs a person (the scheduler is not running them).
        capsys.readouterr()
        assert main(["--home", str(home), "status"]) == 1
        assert "- failed: the configuration" in capsys.readouterr().out
        assert main(["--home", str(home), "once", "--feed", "products"]) == 0
        assert main(["--home", str(home), "once", "--feed", "products"]) == 0
    texts = [b["text"] for b in hook.bodies]
    assert len(texts) == 3
    assert texts[0].startswith("[shop-test] PROBLEM the receiver")
    assert texts[1].startswith(
        "[shop-test] PROBLEM the configuration: the feed contracts or layouts do not load: "
    )
    assert "products.toml" in texts[1] and "bogus_key" in texts[1]
    assert "What helps: run.py feeds" in texts[1]
    assert texts[2].startswith("[shop-test] RESOLVED the configuration")
    assert status[0].startswith("configuration error: the feed contracts or layouts do not load")
    assert "bogus_key" in status[0] and status[2] == "    helps: run.py feeds"
    records = recent_alerts(home / "state" / "ledger.sqlite", 5)
    assert [(r.problem.key, r.resolved_at is None) for r in records] == [
        ("failed:configuration", False),
        ("not_running:receiver", True),  # a start without contracts left it alone
    ]


def test_status_json_on_a_broken_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home(tmp_path)
    monkeypatch.delenv("TEST_F2_HOOK", raising=False)  # the channel is down: status still tells
    (home / "schemas" / "products.toml").write_text("not toml [", encoding="utf-8")
    assert main(["--home", str(home), "status", "--json"]) == 2
    out = capsys.readouterr().out
    assert '"needs_a_person": true' in out and '"key": "failed:configuration"' in out


def test_a_broken_layout_is_a_configuration_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home(tmp_path)
    layout = next((home / "schemas" / "orders").glob("*.toml"))
    good = layout.read_text(encoding="utf-8")
    layout.write_text(good + "bogus_key = 1\n", encoding="utf-8")
    with webhook_server() as hook:
        monkeypatch.setenv("TEST_F2_HOOK", hook.url)
        assert main(["--home", str(home), "once"]) == 2  # after the ERP's files, as before
        assert main(["--home", str(home), "once", "--feed", "products"]) == 0  # reads no layout
        assert main(["--home", str(home), "status"]) == 2
        first = capsys.readouterr().out.splitlines()[-3]
        layout.write_text(good, encoding="utf-8")
        assert main(["--home", str(home), "once", "--feed", "products"]) == 0
    heads = [b["text"].split(":")[0] for b in hook.bodies]
    assert [head for head in heads if "configuration" in head] == [
        "[shop-test] PROBLEM the configuration",  # once, not reopened by `once --feed`
        "[shop-test] RESOLVED the configuration",
    ]
    assert first.startswith("configuration error: ") and layout.name in first


def test_status_on_a_broken_contract_shows_it_but_records_and_alerts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Found by review: `status` opened an alert that said "nothing ran" while the scheduler
    # ran on the contracts it had loaded, and no later `status` could close it.
    home = _home(tmp_path)
    contract = home / "schemas" / "products.toml"
    good = contract.read_text(encoding="utf-8")
    with webhook_server() as hook:
        monkeypatch.setenv("TEST_F2_HOOK", hook.url)
        contract.write_text(good + "bogus_key = 1\n", encoding="utf-8")
        capsys.readouterr()
        assert main(["--home", str(home), "status"]) == 2
        shown = capsys.readouterr().out
        assert shown.startswith("configuration error: ") and "bogus_key" in shown
        assert "a running scheduler keeps the contracts it loaded" in shown
        contract.write_text(good, encoding="utf-8")
        assert main(["--home", str(home), "status"]) == 1  # the receiver was never seen
        assert "the configuration" not in capsys.readouterr().out
        assert hook.bodies == []
