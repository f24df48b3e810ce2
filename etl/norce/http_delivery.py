"""HTTP delivery: post each call to Norce Connect, then wait for every import job to finish."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence

from etl.config.settings import NorceSettings
from etl.entities.calls import CallResult, NorceCall
from etl.errors import NorceRejected, NorceUnavailable
from etl.norce.base import Delivery
from etl.norce.client import (
    ImportAccepted,
    JobLogEntry,
    JobStatus,
    NorceClient,
    is_personal,
    scrubber,
)

log = logging.getLogger(__name__)

SUCCEEDED = 2
FAILED_STATUSES = {3: "failed", 4: "failed validation"}
LOG_MESSAGES_IN_ERROR = 3
ROW_CHARS = 120  # ImportedRow excerpt kept with a warning, enough to find the record


class HttpDelivery(Delivery):
    """A `Delivery` that sends calls over HTTP and reports each job's counts."""

    def __init__(
        self,
        client: NorceClient,
        settings: NorceSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._settings = settings
        self._sleep = sleep
        self._clock = clock

    def close(self) -> None:
        """Close the client (its connection pool, and a shared token's ledger session)."""
        self._client.close()

    def deliver(self, calls: Sequence[NorceCall], batch: str) -> list[CallResult]:
        """Post every call in order, then wait for each job; raise NorceError if one fails."""
        posted = [(call, self._client.post_import(call)) for call in calls]
        deadline = self._clock() + self._settings.job_timeout_seconds
        results = [self._finish(call, accepted, deadline) for call, accepted in posted]
        log.info("batch %s: %d calls delivered to Norce", batch, len(results))
        return results

    def _finish(self, call: NorceCall, accepted: ImportAccepted, deadline: float) -> CallResult:
        status = self._wait(call, accepted.job_id, deadline)
        # A job that "succeeded" with failed rows did not import those rows: committing would
        # record them in the snapshot as sent, and they would never be sent again.
        if status.status_id != SUCCEEDED or status.failures > 0:
            raise self._rejected(call, status)
        warnings = list(accepted.messages)
        return CallResult(
            label=call.label,
            method=call.method,
            items=len(call.items),
            bytes=len(call.body_bytes()),
            job_id=status.job_id,
            status="succeeded",
            inserts=status.inserts,
            updates=status.updates,
            failures=status.failures,
            warnings=tuple(warnings),
            location=self._client.url(call.method),
        )

    def _wait(self, call: NorceCall, job_id: str, deadline: float) -> JobStatus:
        while True:
            status = self._client.get_job(job_id)
            if status.is_finished or status.status_id in FAILED_STATUSES:
                return status
            if self._clock() >= deadline:
                raise NorceUnavailable(
                    f"{call.label}: Norce job {job_id} ({call.method}) not finished within "
                    f"{self._settings.job_timeout_seconds:g}s"
                )
            self._sleep(self._settings.job_poll_seconds)

    def _rejected(self, call: NorceCall, status: JobStatus) -> NorceRejected:
        outcome = FAILED_STATUSES.get(status.status_id, f"ended with StatusId {status.status_id}")
        if status.status_id == SUCCEEDED:
            outcome = f"finished with {status.failures} of {status.totals} rows not imported"
        entries = self._client.get_job_log(status.job_id)
        # Errors first; a job may fail with only warnings logged.
        worst = [e for e in entries if e.severity_id >= 3] or [
            e for e in entries if e.severity_id == 2
        ]
        scrub = scrubber(call)
        about_people = is_personal(call)
        shown = "; ".join(_describe(e, scrub, about_people) for e in worst[:LOG_MESSAGES_IN_ERROR])
        messages = shown or "no log messages"
        return NorceRejected(f"{call.label}: Norce job {status.job_id} {outcome}: {messages}")


def _describe(entry: JobLogEntry, scrub: Callable[[str], str], about_people: bool) -> str:
    """Norce's message (scrubbed) and the row it is about; about people, only the row's Code.

    The message lands in the log, the ledger and the CLI: a customer import's row and any
    value of it Norce quotes (an e-mail address "already in use") stay out.
    """
    if not about_people:
        row = f" [{entry.imported_row[:ROW_CHARS]}]" if entry.imported_row else ""
        return scrub(entry.message + row)
    return scrub(entry.message) + _row_code(entry.imported_row)


def _row_code(row: str | None) -> str:
    try:
        code = json.loads(row or "").get("Code")
    except (ValueError, AttributeError):
        return ""
    return f" [Code {code}]" if isinstance(code, str | int) else ""
