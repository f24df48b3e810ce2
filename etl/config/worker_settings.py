"""[worker]: the task queue `run.py worker` shares with the other workers (procrastinate).

The queue lives in a PostgreSQL database: by default the ledger's (`[state] backend =
"postgresql"`), or one named here (`dsn_env` / `dsn_file`, a secret as every DSN is), so
the queue can be shared while the ledger is still SQLite on one machine. A worker whose
heartbeat is older than `stalled_after_seconds` is taken for dead: the run it held goes
back to the queue and another worker takes it.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from etl.config.toml import Strict

# The secret of [worker] as it appears in TOML, and the field it resolves into.
WORKER_SECRETS = {"dsn": "dsn"}


class WorkerSettings(Strict):
    """Where the task queue is, and when a silent worker counts as dead."""

    dsn: SecretStr | None = None  # resolved from dsn_env / dsn_file; else [state]'s
    # Every worker writes a heartbeat a third of this often; all of them must agree on it.
    stalled_after_seconds: float = Field(default=30.0, ge=3)
