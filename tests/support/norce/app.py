"""A local Norce Commerce stand-in: a real HTTP server on loopback that checks what it gets.

This module assembles the services (auth: the OAuth2 token endpoint; connect: the asynchronous
imports with jobs; and, plugged in as extensions, query and orders) behind one lock, with
failure injection, and serves them. It speaks the contract in
/work/shared/reference/norce-connect.md. Anything the contract forbids (a multi-line or
malformed `X-StormConnect-Header`, `FullFile: true`, an enum value the reference does not
list, a body that is not an array of objects carrying the match keys, a null anywhere in the
body) is answered 400 with `{"Message": "..."}` saying what was wrong.

Accepted imports are recorded (`calls`) and applied to an in-memory `NorceState` keyed by the
documented match keys. Like Norce, every import only changes fields whose number is listed in
the header's `*FieldsThatAreSet` (per level for products); a listed field left out of an item
is emptied ([I] Connect is .NET: it reads the missing field as null), except on prices, where
null and 0 never overwrite (reference section 4). Products are applied item by item, level by
level (`products.ProductImport`); tests seed a SKU "made in Norce" with `NorceState.add_sku`.

Customers and companies (sections 7, 8) are applied item by item, as Norce's workers do: an
item matches on Code, else Id, else EmailAddress / OrganizationNo (only Code with
`SearchOnlyByCode` listed and set); an item Norce would not import (an insert missing a required
field, an unknown company or price list, a key held by another record) is logged with SeverityId
3 and counted in the job's `Fail`, while the job still ends StatusId 2. Every record gets a
stand-in `Id` and `Created`/`Updated` stamps; a customer's companies are kept on it as
`Companies: [{"Id", "IsPrimary"}]`. Tests seed and change records "in Norce" with
`add_customer`, `add_company`, `add_price_list`, `change_customer` and `change_company`, and
read `state.customers["C-1"]` (or `[10001]`), `state.company_contacts(...)` and
`state.customer_companies(...)`.

    with run_norce_standin() as norce:
        settings = norce.settings()            # NorceSettings(mode="http", ...) for tests
        norce.fail_next(2, status=429, retry_after=3, path="Product/ImportProducts")
        norce.finish_next_jobs(1, status_id=3, messages=["Sku 42 missing"])
        web_id = norce.add_customer(first_name="Eva", email="eva@example.com")
        ...
        norce.calls, norce.state, norce.token_requests, norce.hits("Job/Get")
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import SecretStr

from etl.config.settings import NorceSettings
from tests.support.norce.answers import Answer, Extension, Json
from tests.support.norce.auth import TOKEN_PATH, Tokens
from tests.support.norce.connect import Connect
from tests.support.norce.jobs import Jobs, RecordedCall
from tests.support.norce.state import NorceState


@dataclass
class _Fault:
    remaining: int
    path: str | None
    status: int | None
    retry_after: float | None
    delay: float
    message: str | None = None  # Norce's Message; "injected <status>" when None

    def matches(self, path: str) -> bool:
        return self.remaining > 0 and (self.path is None or path.endswith(self.path))


class NorceStandin:
    """The stand-in's behaviour and records; `run_norce_standin` serves it over HTTP."""

    def __init__(
        self,
        *,
        client_id: str = "etl-test-client",
        client_secret: str = "standin-secret-do-not-leak",
        scope: str = "playground",
        token_lifetime: int = 3600,
        polls_before_finish: int = 1,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.base_url = ""  # set once the server is listening
        self.auth = Tokens(client_id, client_secret, scope, token_lifetime)
        self.jobs = Jobs(polls_before_finish)
        self._lock = threading.Lock()
        self._requests: list[tuple[str, str]] = []
        self._state = NorceState() if now is None else NorceState(now=now)
        self.connect = Connect(self._state, self.auth, self.jobs)
        self._faults: list[_Fault] = []
        # Further APIs (Query, the Order service) plug in here; each answers its own paths
        # (returning None for others) and runs under the stand-in's lock, after the faults.
        self.extensions: list[Extension] = []

    # -- the client Norce knows, and how jobs are reported (tests may change the last two)

    @property
    def client_id(self) -> str:
        """The OAuth2 client id the token endpoint accepts."""
        return self.auth.client_id

    @property
    def client_secret(self) -> str:
        """The OAuth2 client secret the token endpoint accepts."""
        return self.auth.client_secret

    @property
    def scope(self) -> str:
        """The OAuth2 scope the token endpoint accepts."""
        return self.auth.scope

    @property
    def polls_before_finish(self) -> int:
        """How many `Job/Get` polls a job answers as running before it is finished."""
        return self.jobs.polls_before_finish

    @polls_before_finish.setter
    def polls_before_finish(self, polls: int) -> None:
        self.jobs.polls_before_finish = polls

    @property
    def insert_key(self) -> str:
        """How `Job/Get` spells the insert count: "Insert" (the docs) or "Inserts" (C#)."""
        return self.jobs.insert_key

    @insert_key.setter
    def insert_key(self, key: str) -> None:
        self.jobs.insert_key = key

    # -- what tests read

    @property
    def calls(self) -> list[RecordedCall]:
        """Accepted imports, in arrival order."""
        with self._lock:
            return list(self.connect.calls)

    @property
    def state(self) -> NorceState:
        """A copy of what Norce would hold now."""
        with self._lock:
            return copy.deepcopy(self._state)

    @property
    def live_state(self) -> NorceState:
        """The state itself, for extensions: they run under the lock, so must not take it."""
        return self._state

    @property
    def issued_tokens(self) -> list[str]:
        """Every access token handed out, oldest first (to check none leaks)."""
        with self._lock:
            return list(self.auth.issued)

    @property
    def token_requests(self) -> int:
        """How many times the token endpoint was asked."""
        return self.auth.requests

    def hits(self, path: str | None = None) -> int:
        """Requests received whose path ends with `path` (all requests when None)."""
        with self._lock:
            return sum(1 for _, p in self._requests if path is None or p.endswith(path))

    def settings(self, **overrides: Any) -> NorceSettings:
        """NorceSettings pointing here, with test-speed timeouts, polling and backoff."""
        values: dict[str, Any] = {
            "mode": "http",
            "base_url": self.base_url,
            "client_id": self.client_id,
            "client_secret": SecretStr(self.client_secret),
            "scope": self.scope,
            "account_id": 1001,
            "request_timeout_seconds": 2.0,
            "max_attempts": 3,
            "backoff_seconds": 0.0,
            "job_poll_seconds": 0.0,
            "job_timeout_seconds": 5.0,
        }
        return NorceSettings(**{**values, **overrides})

    # -- records changed "in Norce" (web shop, Admin); see the NorceState methods

    def add_customer(self, **fields: Any) -> int:
        """Seed a customer, by default without a Code as the web shop makes one; its Id."""
        with self._lock:
            return self._state.add_customer(**fields)

    def add_company(self, **fields: Any) -> int:
        """Seed a company, by default without a Code as a web order makes one; its Id."""
        with self._lock:
            return self._state.add_company(**fields)

    def add_price_list(self, code: str, **fields: Any) -> None:
        """Seed a price list as if made in Norce Admin."""
        with self._lock:
            self._state.add_price_list(code, **fields)

    def change_customer(self, key: str | int, **fields: Any) -> Json:
        """Change a customer (Code or Id) in Norce; bumps its Updated; returns a copy."""
        with self._lock:
            return self._state.change_customer(key, **fields)

    def change_company(self, key: str | int, **fields: Any) -> Json:
        """Change a company (Code or Id) in Norce; bumps its Updated; returns a copy."""
        with self._lock:
            return self._state.change_company(key, **fields)

    # -- failure injection

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 503,
        path: str | None = None,
        retry_after: float | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next `count` requests whose path ends with `path` with `status` (and
        `message` as Norce's Message)."""
        with self._lock:
            self._faults.append(_Fault(count, path, status, retry_after, 0.0, message))

    def slow_next(self, count: int = 1, *, seconds: float, path: str | None = None) -> None:
        """Sleep `seconds` before answering the next `count` matching requests normally."""
        with self._lock:
            self._faults.append(_Fault(count, path, None, None, seconds))

    def finish_next_jobs(
        self,
        count: int = 1,
        *,
        status_id: int = 2,
        messages: Sequence[str] = (),
        severity: int = 3,
        validation_messages: Sequence[str] = (),
    ) -> None:
        """Shape the next `count` jobs: final StatusId, log `messages`, validation messages.

        With StatusId 2 the messages count as failed rows (`Fail`); with 3 or 4 the import
        changes nothing in the state.
        """
        with self._lock:
            self.jobs.plan(count, status_id, messages, severity, validation_messages)

    def expire_tokens(self) -> None:
        """Forget every issued token, as if they had all expired on Norce's side."""
        with self._lock:
            self.auth.expire()

    # -- request handling (called from server threads)

    def handle(self, verb: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """Answer one HTTP request."""
        url = urlsplit(target)
        with self._lock:
            self._requests.append((verb, url.path))
            fault = next((f for f in self._faults if f.matches(url.path)), None)
            if fault:
                fault.remaining -= 1
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status:
            wait = fault.retry_after
            extra = {} if wait is None else {"Retry-After": f"{wait:g}"}
            said = fault.message or f"injected {fault.status}"
            return Answer(fault.status, {"Message": said}, extra)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self._lock:
            return self._route(verb, url.path, query, headers, body)

    def _route(
        self,
        verb: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer:
        if verb == "POST" and path == TOKEN_PATH:
            return self.auth.answer(headers, body)
        for extension in self.extensions:
            answer = extension(verb, path, query, headers, body)
            if answer is not None:
                return answer
        return self.connect.answer(verb, path, query, headers, body)

    def authorized(self, headers: Mapping[str, str]) -> bool:
        """Whether the request carries a bearer token this stand-in issued (extensions use it)."""
        return self.auth.authorized(headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: NorceStandin


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes; avoid the 40 ms stall
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, verb: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.server.standin.handle(verb, self.path, headers, body)
        raw = json.dumps(answer.body).encode()
        try:
            self.send_response(answer.status)
            for name, value in {"Content-Type": "application/json", **answer.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


@contextmanager
def run_norce_standin(**options: Any) -> Iterator[NorceStandin]:
    """Serve a NorceStandin on 127.0.0.1 for the duration of the block."""
    standin = NorceStandin(**options)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.standin = standin
    standin.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll interval keeps shutdown (and so each test's teardown) fast.
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.02},
        name="norce-standin",
        daemon=True,
    )
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
