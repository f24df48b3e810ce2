"""A party world: the real receiver (uvicorn on 127.0.0.1) with events on, the Norce stand-in
with Query, the real SFTP server, and the shipped party layouts in a fresh home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.norce.app import NorceStandin
from tests.support.norce.query import QueryStandin
from tests.support.parties import APPLICATION, PartyWorld, party_settings
from tests.support.receiver import running
from tests.support.sftp_server import SftpServerInfo


@pytest.fixture
def world(tmp_path: Path, sftp: SftpServerInfo, norce: NorceStandin) -> Iterator[PartyWorld]:
    query = QueryStandin(norce, application_id=APPLICATION)
    settings = party_settings(tmp_path, sftp, norce)
    with running(settings) as receiver:
        yield PartyWorld(settings, receiver, norce, query, sftp)
