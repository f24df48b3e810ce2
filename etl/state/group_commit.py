"""Group commit: a durable step asked for by many threads at once, done once for all of them.

The receiver answers OK only after an order is on disk: its spool file's folder fsync'd and its
ledger row committed with `synchronous=FULL`, and each of those waits for the disk. Under
concurrent senders they would queue one behind another; here the first caller to find nobody
at work takes everything queued so far and does it in one go (one folder fsync, one
transaction), while the callers that arrive meanwhile queue up for the next one. Nobody waits
longer than one round before its own, and every caller still returns only once its own item is
durable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Ticket(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """Runs `commit(items)` for batches of items submitted from any thread; one batch at a time.

    `commit` returns one result per item, in order. If a batch raises, each of its items is
    tried again alone, so one bad item fails only its own caller; with `retry_alone=False`
    every caller of the batch gets its error (an fsync that failed must not be tried again:
    the second one reports success without the data being on disk).
    """

    def __init__(
        self, commit: Callable[[Sequence[T]], list[R]], *, retry_alone: bool = True
    ) -> None:
        self._commit = commit
        self._retry_alone = retry_alone
        self._ready = threading.Condition()
        self._queue: list[_Ticket[T, R]] = []
        self._leading = False

    def submit(self, item: T) -> R:
        """Commit `item` (with whatever else is queued); its result once it is durable."""
        ticket: _Ticket[T, R] = _Ticket(item)
        with self._ready:
            self._queue.append(ticket)
            while not ticket.done:
                if self._leading:
                    self._ready.wait()
                    continue
                self._lead()
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]  # set with done, error unset

    def _lead(self) -> None:
        """With the condition held: take the queue, commit it unlocked, wake everyone."""
        self._leading = True
        batch, self._queue = self._queue, []
        self._ready.release()
        try:
            self._run(batch)
        finally:
            self._ready.acquire()
            self._leading = False
            self._ready.notify_all()

    def _run(self, batch: list[_Ticket[T, R]]) -> None:
        try:
            results = self._commit([t.item for t in batch])
        except Exception as exc:
            for ticket in batch:
                if self._retry_alone:
                    _alone(ticket, self._commit)
                else:
                    ticket.error, ticket.done = exc, True
            return
        except BaseException as exc:
            for ticket in batch:  # nobody may wait for a batch that will never end
                ticket.error, ticket.done = exc, True
            raise
        for ticket, result in zip(batch, results, strict=True):
            ticket.result, ticket.done = result, True


def _alone(ticket: _Ticket[T, R], commit: Callable[[Sequence[T]], list[R]]) -> None:
    """Commit one item by itself; its result or its error goes to its caller."""
    try:
        ticket.result = commit([ticket.item])[0]
    except Exception as exc:  # re-raised by the caller, in its own thread
        ticket.error = exc
    ticket.done = True
