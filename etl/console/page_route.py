"""The console's routes on the receiver: the page, its report files, and /metrics.

Served only when `[receiver.console]` has a password (off by default), behind Basic auth
with the console's own credentials, compared in constant time as the receiver compares its
own. Read-only: GET and HEAD only; the page is built on a worker thread from a runtime
opened for the request (SQLite connections are per thread) and closed after it.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import SecretStr

from etl.config.contracts import FeedContract
from etl.config.settings import ConsoleSettings, Settings
from etl.console.metrics import metrics_text
from etl.console.page_data import page_data, report_file
from etl.console.page_html import render_page
from etl.runtime import Runtime, ledger_at
from etl.state.areas import Areas
from etl.state.blob_archive import open_archive
from etl.state.ledger.feed_runs import Ledger

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

HTML = b"text/html; charset=utf-8"
TEXT = b"text/plain; charset=utf-8"
REPORT_TYPES = {
    ".xlsx": b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": b"text/csv; charset=utf-8",
    ".json": b"application/json",
}
# No script, frame or outside resource may run on the page, even if escaping ever failed.
SAFE_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


@dataclass(frozen=True)
class Reply:
    """One answer: status, content type, body and any extra headers."""

    status: int
    content_type: bytes
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()


def basic_credentials(username: str, password: str) -> bytes:
    """What an `Authorization: Basic` header carries for these credentials."""
    return base64.b64encode(f"{username}:{password}".encode())


def basic_authorised(header: bytes, expected: bytes) -> bool:
    """Basic auth, the scheme in any case (RFC 7617), the credentials in constant time."""
    scheme, _, credentials = header.partition(b" ")
    return scheme.lower() == b"basic" and hmac.compare_digest(credentials.strip(), expected)


def console_routes(settings: Settings, contracts: dict[str, FeedContract]) -> ConsoleRoutes | None:
    """The console's routes for `run.py receive`; None (nothing served) without a password."""
    password = settings.receiver.console.password
    return None if password is None else ConsoleRoutes(settings, contracts, password)


class ConsoleRoutes:
    """The console's paths; `serves` says whether a path is one of them."""

    def __init__(
        self, settings: Settings, contracts: dict[str, FeedContract], password: SecretStr
    ) -> None:
        config: ConsoleSettings = settings.receiver.console
        self.settings = settings
        self.config = config
        self.base = config.path.rstrip("/")
        self._credentials = basic_credentials(config.username, password.get_secret_value())
        self._contracts = contracts

    def serves(self, path: str) -> bool:
        """True for the page, its report files and (when on) the metrics path."""
        if self.config.metrics and path == self.config.metrics_path:
            return True
        return path in (self.base, self.base + "/") or path.startswith(self.base + "/report/")

    async def respond(self, scope: Scope, send: Send) -> None:
        """Answer one request to a console path."""
        reply = await self._reply(scope)
        headers = [
            (b"content-type", reply.content_type),
            (b"content-length", str(len(reply.body)).encode()),
            *SAFE_HEADERS,
            *reply.headers,
        ]
        body = b"" if scope["method"] == "HEAD" else reply.body
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _reply(self, scope: Scope) -> Reply:
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        if not basic_authorised(headers.get("authorization", b""), self._credentials):
            challenge = ((b"www-authenticate", b'Basic realm="console", charset="UTF-8"'),)
            return Reply(401, TEXT, b"authentication required", challenge)
        if scope["method"] not in ("GET", "HEAD"):
            return Reply(405, TEXT, b"read-only: use GET", ((b"allow", b"GET, HEAD"),))
        path: str = scope["path"]
        if self.config.metrics and path == self.config.metrics_path:
            text = await asyncio.to_thread(metrics_text, self.settings, self._contracts)
            return Reply(200, CONTENT_TYPE_LATEST.encode(), text)
        if path.startswith(self.base + "/report/"):
            return await asyncio.to_thread(self._report, path[len(self.base + "/report/") :])
        return await asyncio.to_thread(self._page)

    def _page(self) -> Reply:
        """On a worker thread: read everything and render it."""
        rt = Runtime.open(self.settings)
        try:
            now = dt.datetime.now(dt.UTC)
            data = page_data(rt, self._contracts, now, self.config.alerts_shown)
        finally:
            rt.close()
        return Reply(200, HTML, render_page(data, self.base).encode())

    def _report(self, rest: str) -> Reply:
        """On a worker thread: one report file of a run, as a download."""
        run_id, _, name = rest.partition("/")
        home = self.settings.home
        archive = open_archive(self.settings.storage, Areas(home).archive)
        ledger = Ledger(ledger_at(self.settings))
        try:
            body = report_file(archive, home, ledger, run_id, name) if name else None
        finally:
            ledger.close()
        if body is None:
            return Reply(404, TEXT, b"no such report")
        kind = REPORT_TYPES.get(PurePosixPath(name).suffix.lower(), b"application/octet-stream")
        # The name is one the manifest lists, but it goes into a header: keep it plain.
        plain = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
        disposition = f'attachment; filename="{plain}"'.encode()
        return Reply(200, kind, body, ((b"content-disposition", disposition),))
