"""The HTTP edge to Norce Commerce Connect: OAuth2 token, import posts, job status.

Every httpx response and exception goes through `NorceClient._classify`, the one place
where it becomes an answer, a retry, a token refresh or a refusal. `_send` turns the last
two into NorceUnavailable / NorceRejected. Neither the client secret nor the bearer token
ever reaches a log line or an exception message; nor do the personal values of a customer
or company import (Norce's answers and job logs may quote them): see `scrubber`.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from etl.config.settings import NorceSettings
from etl.entities.calls import NorceCall
from etl.errors import ConfigError, NorceError, NorceRejected, NorceUnavailable
from etl.personal_data import scrubber_for
from etl.state.ledger.norce_tokens import SharedTokens

if TYPE_CHECKING:
    # Imported where a request is made: every process imports this module (the runtime
    # does), most never talk to Norce over HTTP (file mode), and httpx is a tenth of a
    # second of every start (a third with rich installed: it loads its command line then).
    import httpx

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_BACKOFF_SECONDS = 60.0
MAX_RETRY_AFTER_SECONDS = 300.0
TOKEN_MARGIN_SECONDS = 60.0  # refresh this long before expiry, as Norce's own samples do
EXCERPT_CHARS = 300
# Keys of Norce's error bodies that hold its own message ({"Message": ...} in ASP.NET).
_MESSAGE_KEYS = ("Message", "message", "ExceptionMessage", "error_description", "Description")
# Imports whose items describe people: every text in them but the keys is personal data.
PERSONAL_METHODS = frozenset({"Customer/ImportCustomers", "Customer/ImportCompanies"})
_KEYS = frozenset({"Code", "ApplicationKey"})  # an ERP number says which record, not who


@dataclass(frozen=True)
class ImportAccepted:
    """Norce's immediate answer to an import: the job to poll and the validation summary."""

    job_id: str
    total: int
    validation_failures: int
    messages: tuple[str, ...]


@dataclass(frozen=True)
class JobStatus:
    """One `Job/Get` answer."""

    job_id: str
    status_id: int  # 1 Initialized, 2 Succeeded, 3 Failed, 4 Validation failed
    is_finished: bool
    totals: int
    inserts: int
    updates: int
    failures: int
    run_time: str | None


@dataclass(frozen=True)
class JobLogEntry:
    """One `Job/GetLog` line; SeverityId 1 info, 2 warning, 3 error."""

    severity_id: int
    message: str
    imported_row: str | None


@dataclass(frozen=True)
class _Verdict:
    """What one HTTP attempt came to."""

    kind: Literal["ok", "retry", "reauth", "reject"]
    reason: str
    payload: Any = None
    retry_after: float | None = None
    cause: BaseException | None = None
    status: int | None = None
    detail: str | None = None  # Norce's own message, when its answer carries one
    never_sent: bool = False  # a retry verdict for a request Norce surely did not process


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float


class NorceClient:
    """Talks to Norce Connect over HTTPS with a cached client-credentials token."""

    def __init__(
        self,
        settings: NorceSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedTokens | None = None,
    ) -> None:
        self._settings = settings
        self._base_url = _required(settings.base_url, "base_url").rstrip("/")
        self._client_id = _required(settings.client_id, "client_id")
        secret = settings.client_secret
        self._secret = _required(secret.get_secret_value() if secret else None, "client_secret")
        self._sleep = sleep
        self._clock = clock
        self._token: _Token | None = None
        self._token_lock = threading.Lock()
        # On a PostgreSQL ledger the processes of every machine share one token (the token
        # endpoint allows 3 requests a minute per IP); else this client's own is enough.
        self._shared = shared
        import httpx

        self._http = httpx.Client(transport=transport, timeout=settings.request_timeout_seconds)

    def __enter__(self) -> NorceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (and the shared token's ledger connection)."""
        self._http.close()
        if self._shared is not None:
            self._shared.close()

    @property
    def settings(self) -> NorceSettings:
        """The settings this client was made with (a Query client over it needs them)."""
        return self._settings

    @property
    def base_url(self) -> str:
        """Scheme and host of the tenant, without a trailing slash."""
        return self._base_url

    def url(self, method: str) -> str:
        """The absolute URL of a Connect method such as `Product/ImportProducts`."""
        return f"{self._base_url}{self._settings.connect_path}/{method}"

    def post_import(self, call: NorceCall) -> ImportAccepted:
        """Post one import call; return the job Norce queued for it."""
        headers = {
            "X-StormConnect-Header": call.header_line(),
            "Content-Type": "application/json",
        }
        try:
            payload = self._api(call.method, "POST", headers=headers, content=call.body_bytes())
        except NorceError as exc:
            raise _scrubbed(exc, scrubber(call)) from exc.__cause__
        accepted = _parse(call.method, payload, _accepted)
        if accepted.messages:
            scrub = scrubber(call)
            accepted = replace(accepted, messages=tuple(scrub(m) for m in accepted.messages))
        log.info(
            "posted %s (%s): %d items, job %s",
            call.method,
            call.label,
            len(call.items),
            accepted.job_id,
        )
        return accepted

    def post_json(self, method: str, body: Mapping[str, Any]) -> Any:
        """Post one JSON object to a synchronous Connect method; its answer (None if empty).

        For calls that must not happen twice (an invoice captures a payment): a failure after
        which Norce may have processed the request (a timeout waiting for the answer, a 5xx)
        is not retried here but raised as NorceUnavailable, for the caller to look up first.
        """
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        return self._api(method, "POST", headers=headers, content=content, repeatable=False)

    def get_job(self, job_id: str) -> JobStatus:
        """The current state of an import job."""
        payload = self._api("Job/Get", "GET", params={"id": job_id})
        return _parse("Job/Get", payload, lambda p: _job_status(job_id, p))

    def get_job_log(self, job_id: str) -> list[JobLogEntry]:
        """The log lines of an import job, oldest first."""
        payload = self._api("Job/GetLog", "GET", params={"id": job_id})
        return _parse("Job/GetLog", payload, _job_log)

    def request_json(
        self,
        what: str,
        verb: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        repeatable: bool = True,
    ) -> Any:
        """Call any Norce API with the cached bearer token and the retry rules; the JSON answer.

        `what` names the call in every error (say "Query Orders/Orders page 2").
        """

        def build() -> httpx.Request:
            # Built per attempt: a refreshed token must replace the refused one.
            auth = {"Authorization": f"Bearer {self._bearer()}"}
            return self._http.build_request(
                verb, url, headers={**(headers or {}), **auth}, content=content, params=params
            )

        return self._send(what, build, may_reauth=True, repeatable=repeatable)

    def _api(
        self,
        method: str,
        verb: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        repeatable: bool = True,
    ) -> Any:
        extra = dict(headers or {})
        if self._settings.application_id is not None:
            extra["application-id"] = str(self._settings.application_id)
        return self.request_json(
            method,
            verb,
            self.url(method),
            headers=extra,
            content=content,
            params=params,
            repeatable=repeatable,
        )

    def _bearer(self) -> str:
        # Feeds run in parallel threads and share this client: one token fetch at a time,
        # or a burst of them would hit the token endpoint's 3-per-minute limit.
        with self._token_lock:
            if self._token is None or self._clock() >= self._token.refresh_at:
                shared = self._shared
                self._token = self._fetch_token() if shared is None else self._from(shared)
            return self._token.value

    def _refused(self, used: str) -> None:
        # Only the token the refused request carried: another thread may have fetched a new
        # one meanwhile, and dropping that would fetch again for every thread and process.
        with self._token_lock:
            if self._token is not None and self._token.value == used:
                self._token = None
            if self._shared is not None and used:
                self._shared.refused(self._shared_client, used)

    def _from(self, shared: SharedTokens) -> _Token:
        # The ledger keeps wall-clock times (other machines read them); this client its clock's.
        def fetch() -> tuple[str, float]:
            token = self._fetch_token()
            return token.value, time.time() + token.refresh_at - self._clock()

        value, refresh_at = shared.token(self._shared_client, fetch)
        return _Token(value, self._clock() + refresh_at - time.time())

    @property
    def _shared_client(self) -> str:
        # A row per tenant and API client: two shops on one ledger never swap tokens.
        return f"{self._base_url} {self._client_id}"

    def _fetch_token(self) -> _Token:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret,
            "scope": self._settings.scope,
        }
        url = f"{self._base_url}{self._settings.token_path}"
        asked_at = self._clock()
        payload = self._send(
            "token request",
            lambda: self._http.build_request("POST", url, data=form),
            may_reauth=False,
        )
        token = _parse("token request", payload, lambda p: _token(p, asked_at))
        log.debug("fetched a Norce token, refresh due at %.0f", token.refresh_at)
        return token

    def _send(
        self,
        what: str,
        build: Callable[[], httpx.Request],
        *,
        may_reauth: bool,
        repeatable: bool = True,
    ) -> Any:
        """Send with retries as `_classify` decides; return the parsed JSON answer.

        Not `repeatable`: only failures that prove the request never arrived are retried.
        """
        import httpx

        attempt, reauthed = 1, False
        while True:
            request = build()
            try:
                verdict = self._classify(self._http.send(request))
            except httpx.HTTPError as exc:
                verdict = self._classify(exc)
            if verdict.kind == "ok":
                return verdict.payload
            if verdict.kind == "reauth" and may_reauth and not reauthed:
                log.debug("%s: token refused, fetching a new one", what)
                self._refused(request.headers.get("Authorization", "").removeprefix("Bearer "))
                reauthed = True
                continue
            if verdict.kind != "retry":
                raise NorceRejected(
                    f"Norce refused {what}: {verdict.reason}",
                    status=verdict.status,
                    detail=verdict.detail,
                ) from verdict.cause
            if not repeatable and not verdict.never_sent:
                raise NorceUnavailable(
                    f"no clear answer from Norce to {what} ({verdict.reason}): it may or may "
                    "not have been processed, so it is looked up before it is sent again"
                ) from verdict.cause
            if attempt >= self._settings.max_attempts:
                raise NorceUnavailable(
                    f"Norce unavailable for {what} after {attempt} attempts; last: {verdict.reason}"
                ) from verdict.cause
            delay = self._delay(attempt, verdict.retry_after)
            log.debug("%s: %s, retry %d in %.2fs", what, verdict.reason, attempt, delay)
            self._sleep(delay)
            attempt += 1

    def _classify(self, outcome: httpx.Response | httpx.HTTPError) -> _Verdict:
        """The one place an httpx response or exception is judged."""
        import httpx

        # Timeouts and dropped connections are worth another try; a malformed URL or request
        # is not.
        retryable = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
        # Failures that prove the request never reached Norce, so even a call that must not
        # happen twice (an invoice captures money) can be sent again at once.
        never = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
        if isinstance(outcome, retryable):
            never_sent = isinstance(outcome, never)
            return _Verdict("retry", type(outcome).__name__, cause=outcome, never_sent=never_sent)
        if isinstance(outcome, httpx.HTTPError):
            detail = self._redact(str(outcome))
            return _Verdict("reject", f"{type(outcome).__name__}: {detail}", cause=outcome)
        status = outcome.status_code
        if status in (408, 429) or status >= 500:
            # 429: refused by the rate limiter before any processing.
            return _Verdict(
                "retry",
                f"HTTP {status}",
                retry_after=_retry_after(outcome),
                never_sent=status == 429,
            )
        if status == 401:
            # The status goes with the error a second 401 raises: a caller tells a refused
            # document (400, a failed job: no status) from a refused setup by it (party_codes).
            reason = f"HTTP 401: {self._excerpt(outcome)}"
            return _Verdict("reauth", reason, status=401, detail=self._message(outcome))
        if not outcome.is_success:
            reason = f"HTTP {status}: {self._excerpt(outcome)}"
            return _Verdict("reject", reason, status=status, detail=self._message(outcome))
        if not outcome.content:
            return _Verdict("ok", f"HTTP {status}")  # a void method such as SendOrderStatus
        try:
            return _Verdict("ok", f"HTTP {status}", payload=outcome.json())
        except ValueError as exc:
            reason = f"HTTP {status} but the body is not JSON: {self._excerpt(outcome)}"
            return _Verdict("reject", reason, cause=exc)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_SECONDS)
        base = min(self._settings.backoff_seconds * 2.0 ** (attempt - 1), MAX_BACKOFF_SECONDS)
        # Jitter keeps parallel runs from retrying in lockstep; not a security use.
        return base + random.uniform(0, base / 10)  # noqa: S311

    def _excerpt(self, response: httpx.Response) -> str:
        text = " ".join(response.text.split())
        return self._redact(text)[:EXCERPT_CHARS] or "(empty body)"

    def _message(self, response: httpx.Response) -> str:
        """Norce's own message from an error answer, else the answer's text."""
        try:
            body = response.json()
        except ValueError:
            return self._excerpt(response)
        if isinstance(body, dict):
            for key in _MESSAGE_KEYS:
                if isinstance(body.get(key), str) and body[key].strip():
                    return self._redact(" ".join(body[key].split()))[:EXCERPT_CHARS]
        return self._excerpt(response)

    def _redact(self, text: str) -> str:
        # Redact before any truncation so no prefix of a secret survives.
        for secret in (self._secret, self._token.value if self._token else ""):
            if secret:
                text = text.replace(secret, "***")
        return text


def is_personal(call: NorceCall) -> bool:
    """Whether the call's items describe people (customer and company imports)."""
    return call.method in PERSONAL_METHODS


def _personal_values(call: NorceCall) -> Iterator[str]:
    """The texts of a customer or company import that are about people (all but the keys).

    None for any other call: a product's name is no secret, and its messages need it.
    """
    if is_personal(call):
        for item in call.items:
            yield from _texts(item)


def _texts(value: object, key: str = "") -> Iterator[str]:
    if isinstance(value, Mapping):
        for name, inner in value.items():
            yield from _texts(inner, str(name))
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _texts(inner, key)
    elif isinstance(value, str) and key not in _KEYS:
        yield value


def scrubber(call: NorceCall) -> Callable[[str], str]:
    """Takes a customer or company call's personal values (whole words) out of a text, and
    from any call's text whatever still looks personal (`mask_personal`): Norce may quote a
    person the call never named, an earlier record with the same e-mail or personnummer.
    """
    return scrubber_for(_personal_values(call))


def _scrubbed(exc: NorceError, scrub: Callable[[str], str]) -> NorceError:
    """The same error with personal values taken out of its message and Norce's detail."""
    if isinstance(exc, NorceRejected):
        detail = scrub(exc.detail) if exc.detail else exc.detail
        return NorceRejected(scrub(str(exc)), status=exc.status, detail=detail)
    return type(exc)(scrub(str(exc)))


def _required(value: str | None, key: str) -> str:
    if not value:
        raise ConfigError("settings", f"norce.{key}", "required when norce.mode is 'http'")
    return value


def _retry_after(response: httpx.Response) -> float | None:
    # Only the numeric form; an HTTP-date falls back to our own backoff.
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _parse(what: str, payload: Any, parser: Callable[[Any], T]) -> T:
    """Apply `parser` to a 2xx JSON answer; an unexpected shape means Norce refused."""
    try:
        return parser(payload)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise NorceRejected(f"unexpected answer to {what}: {type(exc).__name__} {exc}") from exc


def _token(payload: Any, asked_at: float) -> _Token:
    value = payload["access_token"]
    if not isinstance(value, str) or not value:
        raise ValueError("no access_token")
    lifetime = float(payload.get("expires_in") or 3600)
    return _Token(value, asked_at + lifetime - min(TOKEN_MARGIN_SECONDS, lifetime / 2))


def _accepted(payload: Any) -> ImportAccepted:
    job_id = payload["JobId"]
    if job_id in (None, ""):
        raise ValueError("no JobId")
    summary = payload.get("ValidationSummary") or {}
    return ImportAccepted(
        job_id=str(job_id),
        total=int(summary.get("NrOfItemsInTotal") or 0),
        validation_failures=int(summary.get("NrOfValidationFailures") or 0),
        messages=tuple(str(m) for m in summary.get("Messages") or ()),
    )


def _job_status(job_id: str, payload: Any) -> JobStatus:
    # Norce's docs spell it "Insert", the C# contract "Inserts".
    inserts = payload.get("Insert", payload.get("Inserts"))
    run_time = payload.get("RunTime")
    return JobStatus(
        job_id=job_id,
        status_id=int(payload["StatusId"]),
        is_finished=bool(payload["IsFinished"]),
        totals=int(payload.get("Totals") or 0),
        inserts=int(inserts or 0),
        updates=int(payload.get("Updates") or 0),
        failures=int(payload.get("Fail") or 0),
        run_time=None if run_time is None else str(run_time),
    )


def _job_log(payload: Any) -> list[JobLogEntry]:
    entries = []
    for entry in payload:
        row = entry.get("ImportedRow")
        entries.append(
            JobLogEntry(
                severity_id=int(entry["SeverityId"]),
                message=str(entry.get("Message") or ""),
                imported_row=None if row is None else str(row),
            )
        )
    return entries
