"""`run.py once` on the embedded default loads no library only other commands or settings use.

Every command pays for what `etl.cli` imports before it starts: procrastinate and psycopg
(`worker`), uvicorn and h11 (`receive`), paramiko (an SFTP store) and httpx (Norce over
HTTP, a webhook) were a third to half a second of each start. They are imported where
they are used (etl.lazy, etl.transport, etl.norce.client); this keeps it so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.import_probe import probe

ONLY_ELSEWHERE = ["h11", "httpx", "paramiko", "procrastinate", "psycopg", "uvicorn"]

_PROBE = """
import json, sys
from etl.cli import main
code = main(["--home", sys.argv[1], "once"])
print(json.dumps({"code": code, "loaded": sorted(m for m in sys.argv[2:] if m in sys.modules)}))
"""


@pytest.mark.slow
def test_once_on_the_embedded_default_imports_no_library_it_does_not_use(tmp_path: Path) -> None:
    result = probe(_PROBE, str(tmp_path), *ONLY_ELSEWHERE)

    assert result == {"code": 0, "loaded": []}
