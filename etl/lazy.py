"""Functions whose module is imported at their first call, not when their caller is imported.

For the few whose module pulls a heavy library in that most commands never use (procrastinate
and psycopg for `worker`, uvicorn for `receive`, paramiko for an SFTP store): every `run.py`
start paid for them. The caller imports the real function under `TYPE_CHECKING`, so mypy
checks every call and tests/test_architecture.py still sees the import in its graph:

    if TYPE_CHECKING:
        from etl.worker.serve import serve_worker
    else:
        serve_worker = imported_when_called("etl.worker.serve", "serve_worker")
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def imported_when_called(module: str, name: str) -> Callable[..., Any]:
    """A stand-in for `module.name` that imports `module` when it is first called."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{module}.{name}, imported when first called."
    return call
