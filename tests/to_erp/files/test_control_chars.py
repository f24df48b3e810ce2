"""Control characters in order refs and cells never reach the terminal, a log line or a CSV raw."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from etl.cli import main
from etl.to_erp.files.layouts import Layout
from etl.to_erp.files.render import prepare, render
from etl.to_erp.orders.bodies import parse_order
from tests.fixtures.orders import SHIPPED, layout_from, settings_at
from tests.support.desk import Desk
from tests.support.orders import minimal_order
from tests.support.ports import free_port
from tests.support.receiver_process import start_receiver

ESC = "\x1b"
REF = f"10{ESC}[2J01"  # an escape sequence that would clear the operator's screen


@pytest.fixture
def desk(home: Path) -> Desk:
    return Desk(home)


def test_the_terminal_never_gets_a_control_character(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    desk.take(minimal_order(REF, DoHold=True), b'{"ClientOrderRef": "\\u001b[2J", "Items": [')
    for argv in (
        ("orders",),
        ("orders", "show", REF),
        ("orders", "--state", "refused"),
        ("status",),
    ):
        code, out = desk.run(capsys, *argv)
        assert code == (1 if argv == ("status",) else 0), argv  # status: the held order
        assert ESC not in out, argv
    assert "10\\x1b[2J01" in desk.run(capsys, "orders")[1]


def test_every_log_line_of_a_command_escapes_control_characters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / f"etl{ESC}[2J.toml"  # a hostile name reaches the message as text
    with caplog.at_level(logging.INFO):
        assert main(["--config", str(missing), "orders"]) == 2
    assert "etl\\x1b[2J.toml" in caplog.text
    assert ESC not in caplog.text


def test_the_receiver_process_logs_a_hostile_ref_escaped(home: Path) -> None:
    port = free_port()
    receiver = start_receiver(home, port, pause=0)
    try:
        answer = httpx.post(
            f"http://127.0.0.1:{port}/orders",
            content=json.dumps(minimal_order(REF)).encode(),
            headers={"content-type": "application/json"},
            auth=("norce", "pw-for-tests"),
            timeout=10,
        )
        assert answer.status_code == 200
    finally:
        receiver.terminate()
        output = receiver.communicate(timeout=15)[0]
    assert "order 10\\x1b[2J01 spooled" in output
    assert ESC not in output


def _erp_csv(tmp_path: Path, policy: str) -> Layout:
    text = (SHIPPED / "erp_csv.toml").read_text(encoding="utf-8")
    text = text.replace('unencodable = "transliterate"', f'unencodable = "{policy}"')
    settings = settings_at(tmp_path)
    return layout_from(text, tmp_path, settings, "erp_csv")


@pytest.mark.parametrize("policy", ["hold", "transliterate"])
def test_a_control_character_in_a_cell_holds_the_order(tmp_path: Path, policy: str) -> None:
    layout = _erp_csv(tmp_path, policy)
    hostile = parse_order(
        json.dumps(minimal_order(REF, CustomerOrderComment=f"a{ESC}b")).encode(), "json"
    )
    prepared = prepare(layout, hostile)
    # The ref on the head and on both lines, and the comment: each cell named, none written.
    assert len(prepared.unfit) == 4
    assert any(reason.startswith("'Comment'") for reason in prepared.unfit)
    assert all("(U+001B" in reason and ESC not in reason for reason in prepared.unfit)


def test_replace_writes_the_replacement_and_line_breaks_stay_quoted(tmp_path: Path) -> None:
    layout = _erp_csv(tmp_path, "replace")
    body = minimal_order(REF, CustomerOrderComment="ring twice\nthen wait\u0085\u007f")
    prepared = prepare(layout, parse_order(json.dumps(body).encode(), "json"))
    assert prepared.unfit == ()
    data = render(layout, [prepared]).decode("cp1252")
    assert ESC not in data and "\x85" not in data and "\x7f" not in data
    assert "10?[2J01" in data
    assert '"ring twice\nthen wait??"' in data
