"""Every command's start (`run.py --help` here) loads no library only some commands use.

etl.cli imports every command, so whatever a command's module imports at its top, every start
pays: openpyxl (only `forget` rewrites a workbook, only a run with rejected rows writes one),
and prometheus_client (the console of `receive`) were a tenth of a second of it. tests/test_startup_imports.py pins the
others (uvicorn, paramiko, procrastinate, httpx) for `once`.
"""

from __future__ import annotations

import pytest

from tests.support.import_probe import probe

ONLY_SOME_COMMANDS = ["openpyxl", "prometheus_client", "etl.console.page_route"]

_PROBE = """
import json, sys
from etl.cli import main
try:
    main(["--help"])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted(m for m in sys.argv[1:] if m in sys.modules)}))
"""


@pytest.mark.slow
def test_the_help_of_the_cli_loads_no_library_only_some_commands_use() -> None:
    result = probe(_PROBE, *ONLY_SOME_COMMANDS)

    assert result == {"code": 0, "loaded": []}
