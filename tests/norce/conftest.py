"""Fixtures for the Norce edge: a stand-in on loopback, a fake clock, a client wired to both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from etl.norce.client import NorceClient
from tests.support.clock import FakeTime
from tests.support.norce.app import NorceStandin, run_norce_standin


@pytest.fixture
def norce() -> Iterator[NorceStandin]:
    with run_norce_standin() as standin:
        yield standin


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client(norce: NorceStandin, fake_time: FakeTime) -> Iterator[NorceClient]:
    with NorceClient(norce.settings(), sleep=fake_time.sleep, clock=fake_time.clock) as c:
        yield c
