"""No request URL, query string or personal value reaches a log line, at INFO or DEBUG."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from etl.logs import install
from etl.norce.query import CUSTOMERS, QueryClient
from tests.support.norce.app import NorceStandin
from tests.support.norce.query import QueryStandin
from tests.support.orders import minimal_order
from tests.support.ports import free_port
from tests.support.receiver_process import start_receiver

EMAIL = "anna.andersson@example.com"


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    """A root handler set up the way `run.py` sets up its own, with the filter installed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    install()
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_a_query_by_e_mail_leaves_no_address_and_no_url_in_the_log(
    norce: NorceStandin, log_text: io.StringIO, level: int
) -> None:
    QueryStandin(norce, application_id=1042)
    logging.getLogger().setLevel(level)

    with QueryClient(norce.settings(application_id=1042), "/commerce/query/2.0") as query:
        assert query.find_parties(CUSTOMERS, "EmailAddress", EMAIL) == []

    text = log_text.getvalue()
    assert "anna" not in text.lower()
    assert "Customers/Customers?" not in text and "%24filter" not in text


def test_what_a_library_logs_is_masked_when_it_looks_personal(log_text: io.StringIO) -> None:
    logging.getLogger().setLevel(logging.INFO)

    logging.getLogger("some.library").warning(
        "no match for %s (personnummer %s, phone %s)", EMAIL, "19811218-9876", "+46 70 123 45 67"
    )

    assert log_text.getvalue() == (
        "WARNING some.library: no match for *** (personnummer ***, phone ***)\n"
    )


def test_the_receiver_process_logs_no_request_url_and_no_person(home: Path) -> None:
    port = free_port()
    receiver = start_receiver(home, port, pause=0)
    try:
        for path in (f"/orders?email={EMAIL}&token=s3cret", f"/nowhere?email={EMAIL}"):
            httpx.post(
                f"http://127.0.0.1:{port}{path}",
                content=json.dumps(minimal_order("2001")).encode(),
                headers={"content-type": "application/json"},
                auth=("norce", "pw-for-tests"),
                timeout=10,
            )
    finally:
        receiver.terminate()
        output = receiver.communicate(timeout=15)[0]
    assert "order 2001 spooled" in output  # the receiver's own line, in our format
    for secret in ("anna", "s3cret", "/nowhere", "?email"):
        assert secret not in output
    # uvicorn's own lines go through the same handler and filter as ours.
    assert all(" uvicorn" in line or " etl" in line for line in output.splitlines() if line)
