"""TCP keepalives on both ends of every ledger session (the R-SCALE review's case).

Without them the server keeps the session of a machine that lost its network, and its advisory
locks, until the OS's keepalive (about two hours). The test server listens on a unix socket
only, where the server reads its tcp_keepalives_* as 0 (they apply to TCP sessions): what the
session took at its start is pg_settings' `reset_val`, from the client (`source`).
"""

from __future__ import annotations

import dataclasses

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from etl.state.ledger.postgres import PgConnection, PostgresAt, open_postgres

_SERVER_SIDE = (
    "SELECT name, reset_val, source FROM pg_settings WHERE name LIKE 'tcp_keepalives_%' "
    "ORDER BY name"
)


def _both_ends(db: PgConnection) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    client = {k: v for k, v in db.parameters().items() if k.startswith("keepalives")}
    server = {row[0]: (row[1], row[2]) for row in db.execute(_SERVER_SIDE).fetchall()}
    return client, server


def test_every_session_has_keepalives_on_the_client_and_on_the_server(
    postgres_at: PostgresAt,
) -> None:
    db = open_postgres(postgres_at, {})
    try:
        client, server = _both_ends(db)
    finally:
        db.close()
    assert client == {
        "keepalives": "1",
        "keepalives_idle": "30",
        "keepalives_interval": "10",
        "keepalives_count": "3",
    }
    assert server == {
        "tcp_keepalives_count": ("3", "client"),
        "tcp_keepalives_idle": ("30", "client"),
        "tcp_keepalives_interval": ("10", "client"),
    }


def test_an_operators_own_keepalives_in_the_dsn_win(postgres_at: PostgresAt) -> None:
    options = conninfo_to_dict(postgres_at.dsn).get("options") or ""  # the test's schema
    given = make_conninfo(
        postgres_at.dsn, keepalives_idle="5", options=f"{options} -c tcp_keepalives_count=7"
    )
    db = open_postgres(dataclasses.replace(postgres_at, dsn=given), {})
    try:
        client, server = _both_ends(db)
        schema = db.execute("SELECT current_schema()").fetchone()
    finally:
        db.close()
    assert schema is not None and options.endswith(schema[0]), (options, schema)
    assert (client["keepalives_idle"], client["keepalives_count"]) == ("5", "3")
    assert server["tcp_keepalives_idle"] == ("5", "client")  # the client's own value, both ends
    assert server["tcp_keepalives_count"] == ("7", "client")  # the operator's own option
