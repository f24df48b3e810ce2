"""No request URL, query string or personal value reaches a log line, at INFO or DEBUG."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from etl.logs import install
from etl.norce.query import CUSTOMERS, QueryClient
from tests.fakes.norce_query import QueryStandin
from tests.fakes.norce_standin import NorceStandin

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
