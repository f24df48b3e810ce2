"""Fixtures for document tests: the Order service and Query on the Norce stand-in, a drop folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings, NorceSettings
from tests.support.documents import APPLICATION_ID
from tests.support.norce.app import NorceStandin
from tests.support.norce.orders import OrderStandin
from tests.support.norce.query import QueryStandin


@pytest.fixture
def query(norce: NorceStandin) -> QueryStandin:
    """Norce Query on the stand-in."""
    return QueryStandin(norce, application_id=APPLICATION_ID)


@pytest.fixture
def orders(norce: NorceStandin, query: QueryStandin) -> OrderStandin:
    """Norce's Order service on the stand-in, mirroring what it holds into Query."""
    return OrderStandin(norce, query=query)


@pytest.fixture
def http(norce: NorceStandin) -> NorceSettings:
    """Norce settings for the stand-in, with an application id so Query can be asked."""
    return norce.settings(application_id=APPLICATION_ID)


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    """An empty ERP drop folder."""
    root = tmp_path / "erp"
    root.mkdir()
    return root


@pytest.fixture
def local(drop: Path) -> LocalStoreSettings:
    """The drop folder as the `erp` store (files move to processed/ after commit)."""
    return LocalStoreSettings(root=drop)
