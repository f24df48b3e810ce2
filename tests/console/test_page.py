"""The console page over HTTP on a real receiver: its content, its auth, its report links."""

from __future__ import annotations

import base64
import io
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import openpyxl
import pytest

from tests.console.page_home import (
    AUTH,
    CONSOLE_PASSWORD,
    CONSOLE_USER,
    console_settings,
    open_alerts,
    products_run,
    running_console,
)
from tests.support.orders import encode, order
from tests.support.receiver import PASSWORD, USER, Receiver


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Receiver, str]]:
    """One receiver for the module's tests (they only read, bar one order pushed)."""
    tmp_path = tmp_path_factory.mktemp("console")
    settings = console_settings(tmp_path)
    run_id = products_run(settings, tmp_path)
    open_alerts(settings)
    with running_console(settings) as receiver:
        yield receiver, run_id


def get(receiver: Receiver, path: str, auth: tuple[str, str] | None = None) -> httpx.Response:
    return httpx.get(receiver.url(path), auth=auth, timeout=10)


def test_the_page_shows_runs_problems_orders_and_alerts(served: tuple[Receiver, str]) -> None:
    receiver, run_id = served
    pushed = receiver.post(encode(order("PAGE-1")))
    assert pushed.status_code == 200, pushed.text
    page = get(receiver, "/console", AUTH)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "products" in text and "committed" in text
    assert "rows 10, accepted 7, rejected 3" in text  # the sample's counts
    assert "problem(s) need a person" in text and "held_removals" in text
    assert "Held removals" in text and "run.py approve" in text
    assert "Orders by state" in text and "<td>spooled</td><td>1</td>" in text
    assert "Last alerts" in text and "no alerts" not in text
    assert f"/console/report/{run_id}/manifest.json" in text
    assert f"/console/report/{run_id}/products_" in text
    assert "<script" not in text.lower()


def test_a_hostile_value_shows_escaped(served: tuple[Receiver, str]) -> None:
    receiver, _ = served
    text = get(receiver, "/console", AUTH).text
    assert "products_&lt;script&gt;alert(1)&lt;b&gt;.csv" in text
    assert "<script>" not in text and "<b>" not in text


def test_a_report_link_downloads_the_report(served: tuple[Receiver, str]) -> None:
    receiver, run_id = served
    name = "products_%3Cscript%3Ealert%281%29%3Cb%3E.rejected.xlsx"
    assert name in get(receiver, "/console", AUTH).text.replace("&amp;", "&")
    report = get(receiver, f"/console/report/{run_id}/{name}", AUTH)
    assert report.status_code == 200
    assert report.headers["content-disposition"].startswith("attachment;")
    sheet = openpyxl.load_workbook(io.BytesIO(report.content)).active
    assert sheet is not None and sheet.max_row >= 4  # a header and the three rejected rows
    manifest = get(receiver, f"/console/report/{run_id}/manifest.json", AUTH).json()
    assert manifest["run_id"] == run_id


@pytest.mark.parametrize(
    "rest",
    [
        "{run}/%2E%2E%2F%2E%2E%2F%2E%2E%2Fstate%2Fledger.sqlite",
        "{run}/..%2Fmanifest.json",
        "..%2F..%2F..%2Fstate/ledger.sqlite",
        "{run}/products_%3Cscript%3Ealert%281%29%3Cb%3E.csv",  # the ERP's input: never
        "{run}/delta.parquet",
        "{run}/%2Fetc%2Fpasswd",
        "no-such-run/manifest.json",
    ],
)
def test_anything_but_a_listed_report_is_refused(served: tuple[Receiver, str], rest: str) -> None:
    receiver, run_id = served
    answer = get(receiver, "/console/report/" + rest.format(run=run_id), AUTH)
    assert answer.status_code == 404


def test_a_literal_dot_dot_path_is_refused(served: tuple[Receiver, str]) -> None:
    """httpx would tidy `../` away, so the request goes over a plain socket as written."""
    receiver, run_id = served
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
        request = (
            f"GET /console/report/{run_id}/../../../../state/ledger.sqlite HTTP/1.1\r\n"
            f"Host: x\r\nAuthorization: Basic {_basic(*AUTH)}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(request.encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 404"), answer[:200]
    assert b"SQLite format" not in answer


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "auth", [None, ("operator", "wrong"), (USER, PASSWORD), (CONSOLE_USER, CONSOLE_PASSWORD[:-1])]
)
def test_the_page_wants_the_console_credentials(
    served: tuple[Receiver, str], auth: tuple[str, str] | None
) -> None:
    receiver, run_id = served
    for path in ("/console", f"/console/report/{run_id}/manifest.json"):
        answer = get(receiver, path, auth)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Basic realm=")
        assert "products" not in answer.text


def test_the_page_is_read_only(served: tuple[Receiver, str]) -> None:
    receiver, _ = served
    answer = httpx.post(receiver.url("/console"), auth=AUTH, content=b"x", timeout=10)
    assert answer.status_code == 405


def test_the_page_is_off_without_a_password(tmp_path: Path) -> None:
    settings = console_settings(tmp_path, password=None, metrics=True)
    with running_console(settings) as receiver:
        assert get(receiver, "/console", AUTH).status_code == 404
        assert get(receiver, "/metrics", AUTH).status_code == 404
