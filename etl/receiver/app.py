"""`run.py receive`: the HTTP endpoint Norce pushes OrderRequests (and Norce Events) to.

A plain ASGI application served by uvicorn (a well-kept server with HTTP/1.1 keep-alive,
graceful shutdown on SIGTERM and optional TLS), so no HTTP parsing is ours. The app does
four things: checks Basic auth in constant time, refuses bodies over the size limit
(413, counted while reading, not trusted from Content-Length alone), hands the body to
`OrderInbound` in a worker thread (the spool's fsync and SQLite must not block the event
loop), and writes the OrderResponse. Norce may post to the configured URL or to
`<url>/CreateOrder` (the reference is not sure which): both are accepted. What uvicorn
lacks against abusive connections (a header timeout, a connection bound that pushes out
anonymous sockets first, one log line for repeated accept failures) is added by
etl.receiver.guarded_server; the body timeout is here, where the request is known.

Norce Events (customer and company changes, etl.to_erp.parties.events) come to the same process
on paths of their own, `<events path>/<EventType>`, with their own token in a static
header. They are told apart by the path alone, before anything of the order path runs,
and go to `PartyInbound` the same way: spooled and booked before 200 is answered.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hmac
import json
import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from etl.config.settings import EventSettings, ReceiverSettings, Settings
from etl.errors import ConfigError
from etl.privacy.rejected_rows import remove_leftover_reads
from etl.receiver.guarded_server import (
    BACKLOG,
    WORKER_THREADS,
    ConnectionGuard,
    accept_errors,
    connection_limit,
    guarded_protocol,
)
from etl.receiver.log_repeats import RepeatedLog
from etl.state.areas import SPOOL_LOCK, Areas
from etl.state.blobs import StorageError
from etl.state.locks import feed_lock
from etl.state.migrate.moving import UNFINISHED, unfinished_move
from etl.state.spool_copies import remove_leftover_copies
from etl.to_erp.orders.inbound import Answer, OrderInbound, failed, open_inbound
from etl.to_erp.parties.events import EVENT_KINDS, PartyInbound, open_party_inbound
from etl.to_erp.parties.events import answer as event_answer

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _TooLarge(Exception):
    pass


class _HungUp(Exception):
    """The sender went away before the whole body arrived: nothing to take in, nobody to answer."""


class _TooSlow(Exception):
    """The body did not arrive whole within body_timeout_seconds."""


def order_paths(path: str) -> set[str]:
    """The paths an OrderRequest may be posted to."""
    base = path.rstrip("/") or ""
    return {base or "/", f"{base}/CreateOrder"}


def event_paths(events: EventSettings) -> dict[str, str]:
    """The paths Norce Events are posted to, with the type each takes (none without a token)."""
    if events.token is None:
        return {}
    base = events.path.rstrip("/")
    return {f"{base}/{event}": event for event in EVENT_KINDS}


class SideRoutes(Protocol):
    """Paths served beside the orders and events, with their own auth (etl.console.page_route).

    Handed in by `run.py receive`, so the receiver imports nothing of what they show.
    """

    def serves(self, path: str) -> bool:
        """True when `path` is one of these routes."""
        ...

    async def respond(self, scope: Scope, send: Send) -> None:
        """Answer one request to such a path."""
        ...


class ReceiverApp:
    """The ASGI app; one `OrderInbound` per worker thread (SQLite connections are per thread)."""

    def __init__(self, settings: Settings, side: SideRoutes | None = None) -> None:
        config = settings.receiver
        if config.password is None:
            raise ConfigError(
                "settings",
                "receiver.password_env",
                "the receiver needs a password for Basic auth (password_env or password_file)",
            )
        self.config = config
        self.settings = settings
        self.paths = order_paths(config.path)
        expected = f"{config.username}:{config.password.get_secret_value()}".encode()
        self._credentials = base64.b64encode(expected)
        self.event_paths = event_paths(config.events)
        self._event_header = config.events.header.lower()
        token = config.events.token
        self._event_token = token.get_secret_value().encode() if token is not None else b""
        self._local = threading.local()
        self._inbounds: list[OrderInbound] = []
        self._party_inbounds: list[PartyInbound] = []
        self._lock = threading.Lock()
        self._booking = threading.Lock()
        self._workers = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="receiver")
        # The read-only console and /metrics (etl.console.page_route), when handed in.
        self.side = side

    def _accept(self, body: bytes, content_type: str) -> Answer:
        """On a worker thread: parse and spool side by side, book through the shared inbound.

        Worker threads run `accept` at once: the spool's fsyncs overlap (the file system
        journals them together) and the book commits the orders that arrive together in one
        transaction (group commit in OrderBook.receive), instead of one order at a time with
        three fsyncs each in a row (measured by bench/receiver.py).
        """
        try:
            return self.inbound().accept(body, content_type, "push")
        except OSError as exc:
            # The disk refused the spool file or its folder's fsync: the order may not be
            # kept, so no OK; Norce retries a Failed answer.
            log.error("an order could not be spooled (%s); answered 503", exc.strerror or exc)
            return failed(503, "the order could not be stored; try again")
        except StorageError as exc:
            # Object storage failed or is out of reach (etl.state.blob_spool): the same.
            log.error("an order could not be spooled (%s); answered 503", exc)
            return failed(503, "the order could not be stored; try again")

    def inbound(self) -> OrderInbound:
        """The one order inbound of the process (its book takes bookings from every thread)."""
        with self._lock:
            if not self._inbounds:
                self._inbounds.append(open_inbound(self.settings))
            return self._inbounds[0]

    def _accept_event(self, event: str, body: bytes) -> Answer:
        """On a worker thread: that thread's party inbound, bookings serialised as for orders."""
        inbound = self.party_inbound()
        try:
            with self._booking:
                return inbound.accept(event, body)
        except OSError as exc:
            # As for an order: the spool file or its folder's fsync failed, the event may
            # not be kept, so no OK; Norce retries a Failed answer.
            log.error("an event could not be spooled (%s); answered 503", exc.strerror or exc)
            return event_answer(503, "the event could not be stored; try again")
        except StorageError as exc:
            log.error("an event could not be spooled (%s); answered 503", exc)
            return event_answer(503, "the event could not be stored; try again")

    def party_inbound(self) -> PartyInbound:
        """This thread's party inbound (own SQLite connection)."""
        found: PartyInbound | None = getattr(self._local, "party_inbound", None)
        if found is None:
            found = open_party_inbound(self.settings)
            self._local.party_inbound = found
            with self._lock:
                self._party_inbounds.append(found)
        return found

    def close(self) -> None:
        """Let the order threads finish, then close every book."""
        self._workers.shutdown(wait=True)
        with self._lock:
            for inbound in self._inbounds:
                inbound.book.close()
            self._inbounds.clear()
            for party in self._party_inbounds:
                party.book.close()
            self._party_inbounds.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if self.side is not None and self.side.serves(scope["path"]):
            await self.side.respond(scope, send)
            return
        answer = await self._handle(scope, receive)
        if answer is None:
            return
        body = json.dumps(answer.body).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if answer.status != 200:
            # The body may be unread (401, 404, 408, 413): a sender that goes on trickling
            # it must not keep the connection; Norce opens a new one for its retry.
            headers.append((b"connection", b"close"))
        if answer.status == 401 and scope["path"] in self.paths:
            headers.append((b"www-authenticate", b'Basic realm="orders"'))
        elif answer.status == 401 and self._event_header == "authorization":
            headers.append((b"www-authenticate", b'Bearer realm="events"'))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if await asyncio.to_thread(self._move_unfinished):
                    log.error("the receiver does not start: %s", UNFINISHED)
                    await send({"type": "lifespan.startup.failed", "message": UNFINISHED})
                    return
                await asyncio.to_thread(self._remove_killed_forgets_copies)
                await asyncio.to_thread(self._recover)
                # What is loaded by now (modules, settings, books) lives as long as the
                # process: out of the collector's sight, the full collections that each
                # order's garbage sets off no longer walk it (3 % of the CPU, measured).
                gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _move_unfinished(self) -> bool:
        """Whether a move of state into the bucket has not finished (etl.state.migrate.moving).

        Its spooled orders are in the bucket before its ledger is in PostgreSQL: recovery now
        would book (and the workers export) the VM's orders again. A store that cannot be
        reached cannot tell: the receiver starts and answers 503 until it is back.
        """
        return unfinished_move(self.settings.storage, self.settings.home)

    def _remove_killed_forgets_copies(self) -> None:
        """The copies a killed `forget` left, of bodies (etl.state.spool_copies) and of the
        archived inputs it read for rejected rows (etl.privacy.rejected_rows): gone, unless a
        `forget` running now holds their lock; never waited for, the receiver starts anyway."""
        areas = Areas(self.settings.home)
        with feed_lock(areas.locks, SPOOL_LOCK) as taken:
            if taken:
                remove_leftover_copies(areas)
                remove_leftover_reads(areas)

    def _recover(self) -> None:
        """Book what was spooled and never booked (the process died in between).

        Object storage down at start: one line, and the receiver starts anyway, answering 503
        while the store is down (the spool put fails); recovery runs again at the next start.
        """
        try:
            recovered = self.inbound().recover()
            if recovered:
                log.warning("recorded %d spooled order(s) the ledger did not know", recovered)
            if self.event_paths:
                events = self.party_inbound().recover()
                if events:
                    log.warning("booked %d spooled event(s) the ledger did not know", events)
        except StorageError as exc:
            log.error(
                "spooled orders not recovered at start: object storage failed (%s); orders are "
                "answered 503 while it is down, recovery runs again at the next start",
                exc,
            )

    def _authorised(self, header: bytes) -> bool:
        """Basic auth, the scheme in any case (RFC 7617), the credentials in constant time."""
        scheme, _, credentials = header.partition(b" ")
        return scheme.lower() == b"basic" and hmac.compare_digest(
            credentials.strip(), self._credentials
        )

    def _event_authorised(self, headers: dict[str, bytes]) -> bool:
        """The static header set in Norce Admin, compared in constant time.

        In Authorization it reads `Bearer <token>` (the scheme in any case); in a header of
        its own, the token itself.
        """
        value = headers.get(self._event_header, b"")
        if self._event_header == "authorization":
            scheme, _, value = value.partition(b" ")
            if scheme.lower() != b"bearer":
                return False
        return hmac.compare_digest(value.strip(), self._event_token)

    async def _handle(self, scope: Scope, receive: Receive) -> Answer | None:
        if scope["path"] not in self.paths:
            event = self.event_paths.get(scope["path"])
            if event is not None:
                return await self._event(event, scope, receive)
            # Not naming the order path: the caller is not authenticated.
            return failed(404, "no such path")
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        if not self._authorised(headers.get("authorization", b"")):
            return failed(401, "authentication required")
        if scope["method"] != "POST":
            return failed(405, "use POST")
        try:
            body = await self._body(receive, headers)
        except _TooLarge:
            return failed(413, f"body larger than {self.config.max_body_bytes} bytes")
        except _TooSlow:
            return failed(408, f"body not complete in {self.config.body_timeout_seconds:g} s")
        except _HungUp:
            # Half a body is not a refused order; Norce retries it whole.
            log.info("an order sender hung up before its body was complete; nothing kept")
            return None
        content_type = headers.get("content-type", b"").decode("latin-1")
        # Its own pool: every sender's order in flight at once, so the spool's and the book's
        # fsyncs are shared by as many as are waiting (the default pool has cpu + 4 threads).
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(self._workers, self._accept, body, content_type)
        if self.config.pause_before_answer_seconds:
            await asyncio.sleep(self.config.pause_before_answer_seconds)
        return answer

    async def _event(self, event: str, scope: Scope, receive: Receive) -> Answer | None:
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        if not self._event_authorised(headers):
            return event_answer(401, "authentication required")
        if scope["method"] != "POST":
            return event_answer(405, "use POST")
        try:
            body = await self._body(receive, headers)
        except _TooLarge:
            return event_answer(413, f"body larger than {self.config.max_body_bytes} bytes")
        except _TooSlow:
            return event_answer(408, f"body not complete in {self.config.body_timeout_seconds:g} s")
        except _HungUp:
            log.info("an event sender hung up before its body was complete; nothing kept")
            return None
        return await asyncio.to_thread(self._accept_event, event, body)

    async def _body(self, receive: Receive, headers: dict[str, bytes]) -> bytes:
        """The whole body within body_timeout_seconds (a sender may trickle it forever)."""
        try:
            async with asyncio.timeout(self.config.body_timeout_seconds):
                return await _read_body(receive, headers, self.config.max_body_bytes)
        except TimeoutError:
            log.info("a sender's body was not complete in time; answered 408")
            raise _TooSlow from None


async def _read_body(receive: Receive, headers: dict[str, bytes], limit: int) -> bytes:
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _HungUp
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def serve_receiver(settings: Settings, side: SideRoutes | None = None) -> None:
    """Run the receiver until SIGTERM or SIGINT (uvicorn finishes requests in flight)."""
    import uvicorn

    config: ReceiverSettings = settings.receiver
    app = ReceiverApp(settings, side)
    repeats = RepeatedLog(log)
    limit = connection_limit(config.max_connections)
    if limit < config.max_connections:
        log.warning(
            "serving at most %d connections at once: the file descriptor limit allows no "
            "more than that (max_connections is %d)",
            limit,
            config.max_connections,
        )
    guard = ConnectionGuard(limit, config.header_timeout_seconds, repeats)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            lifespan="on",
            # uvicorn's own logging config would add handlers past our filter (masking,
            # escaping) and an access log that writes every URL with its query string: its
            # loggers go to the root handlers instead, and the receiver logs each order itself.
            log_config=None,
            access_log=False,
            ssl_certfile=str(config.tls_certfile) if config.tls_certfile else None,
            ssl_keyfile=str(config.tls_keyfile) if config.tls_keyfile else None,
            timeout_graceful_shutdown=10,
            http=guarded_protocol(guard),
            backlog=BACKLOG,
        )
    )
    asyncio.run(_serve(server, repeats))


async def _serve(server: uvicorn.Server, repeats: RepeatedLog) -> None:
    # The handler must be set on the loop uvicorn runs on, before it starts accepting.
    asyncio.get_running_loop().set_exception_handler(accept_errors(repeats))
    await server.serve()
