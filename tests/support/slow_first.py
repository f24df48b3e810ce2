"""The tests marked slow are handed out first, so none of them is left for the end of a run.

With `pytest -n auto` (pytest-xdist, `--dist worksteal` from pyproject's addopts) each worker
takes its share of the collection in order and an idle worker steals from the end of a busy
one's queue. A test of a minute collected last (tests/worker sorts last) ran alone at the end
while the other worker idled; collected first, the slow tests run while the quick ones fill
the other worker, and what is left to steal at the end is quick. Only the order changes:
every test still runs, with its own fixtures.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` first, each group in its collected order (a stable sort)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
