"""A Store implementation under test and the local folder its root maps to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from etl.transport import Store

STORE_NAME = "erp"


@dataclass
class Backend:
    """A store implementation under test and the local folder its root maps to."""

    kind: str
    root: Path
    factory: Callable[[bool], Store]
    opened: list[Store] = field(default_factory=list)

    def make(self, *, read_only: bool = False) -> Store:
        """A new store over `root`; closed when the test ends."""
        store = self.factory(read_only)
        self.opened.append(store)
        return store
