"""[state]: where the ledger lives.

`backend = "sqlite"` (the default) keeps it in `state/ledger.sqlite` under the home, as
always: one VM needs nothing else. `backend = "postgresql"` puts the same tables in a
PostgreSQL database, so processes on several machines share it; its connection string
(a libpq DSN or `postgresql://` URI, which may hold a password) comes from the environment
or a file as every secret does (`dsn_env = "ETL_STATE_DSN"` or `dsn_file`), never from the
TOML, and is never printed (a `SecretStr`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, model_validator

from etl.config.toml import Strict

# The secret of [state] as it appears in TOML, and the field it resolves into.
STATE_SECRETS = {"dsn": "dsn"}


class StateSettings(Strict):
    """SQLite under the home, or a PostgreSQL database named by a DSN."""

    backend: Literal["sqlite", "postgresql"] = "sqlite"
    dsn: SecretStr | None = None  # resolved from dsn_env / dsn_file

    @model_validator(mode="after")
    def _dsn_with_postgresql_only(self) -> StateSettings:
        if self.backend == "postgresql" and self.dsn is None:
            raise ValueError('backend "postgresql" needs dsn_env (or dsn_file)')
        if self.backend == "sqlite" and self.dsn is not None:
            raise ValueError('a dsn is for backend "postgresql"; the SQLite ledger is a file')
        return self
