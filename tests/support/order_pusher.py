"""Norce's side of the order push: POST an OrderRequest to a receiver the way Norce does.

Norce posts the OrderRequest (JSON or XML) with Basic auth and counts only HTTP 200 with
`StatusCode: "OK"` as delivered; anything else (another status, a Failed answer, a body
that is not JSON, no answer at all) is retried with backoff for a limited period
(reference sections 10-11). Each POST gives up after 5 seconds, as Norce's Event pushes do
(section 17; [I] assumed for the order push too). Every attempt and its answer is
recorded, so a test can say exactly what Norce would have seen.

    result = push_order(url, body, ("norce", "pw"), retries=3, backoff=0, sleep=lambda s: None)
    assert result.delivered and len(result.attempts) == 1
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

NORCE_TIMEOUT_SECONDS = 5.0
NORCE_BACKOFF_SECONDS = (5.0, 10.0, 15.0, 30.0, 60.0)  # the Event docs' schedule, section 17


@dataclass(frozen=True)
class Attempt:
    """One POST: the HTTP status and parsed answer, or the error when none came."""

    number: int
    status: int | None
    answer: Any
    error: str | None

    @property
    def ok(self) -> bool:
        """What Norce counts as delivered: 200 and StatusCode OK."""
        return (
            self.status == 200
            and isinstance(self.answer, dict)
            and self.answer.get("StatusCode") == "OK"
        )


@dataclass
class PushResult:
    """Every attempt of one push, oldest first."""

    attempts: list[Attempt] = field(default_factory=list)
    slept: list[float] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        """Whether the last attempt was accepted."""
        return bool(self.attempts) and self.attempts[-1].ok


def push_order(
    url: str,
    body: bytes,
    auth: tuple[str, str] | None,
    retries: int = 3,
    backoff: float | Sequence[float] = NORCE_BACKOFF_SECONDS,
    *,
    content_type: str = "application/json",
    timeout: float = NORCE_TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> PushResult:
    """POST `body` until it is accepted or `retries` retries are spent."""
    result = PushResult()
    for number in range(1, retries + 2):
        attempt = _post(number, url, body, auth, content_type, timeout)
        result.attempts.append(attempt)
        if attempt.ok or number == retries + 1:
            break
        delay = _delay(backoff, number)
        result.slept.append(delay)
        sleep(delay)
    return result


def _post(
    number: int,
    url: str,
    body: bytes,
    auth: tuple[str, str] | None,
    content_type: str,
    timeout: float,
) -> Attempt:
    try:
        # A fresh connection per attempt, as a retry after a failure would open one.
        response = httpx.post(
            url, content=body, auth=auth, headers={"Content-Type": content_type}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        return Attempt(number, None, None, f"{type(exc).__name__}: {exc}")
    try:
        answer = response.json()
    except ValueError:
        return Attempt(number, response.status_code, None, f"not JSON: {response.text[:200]!r}")
    return Attempt(number, response.status_code, answer, None)


def _delay(backoff: float | Sequence[float], attempt: int) -> float:
    if isinstance(backoff, int | float):
        return float(backoff)
    return float(backoff[min(attempt - 1, len(backoff) - 1)])
