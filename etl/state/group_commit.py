"""Group commit: a durable step asked for by many threads at once, done once for all of them.

The receiver answers OK only after an order is on disk: its spool file's folder fsync'd and its
ledger row committed with `synchronous=FULL`, and each of those waits for the disk. Under
concurrent senders they would queue one behind another; here the first caller to find nobody
at work takes everything queued so far and does it in one go (one folder fsync, one
transaction), while the callers that arrive meanwhile queue up for the next one. Nobody waits
longer than one round before its own, and every caller still returns only once its own item is
durable.

A finished round wakes only its own callers, and hands the lead to the first caller queued for
the next round: waking every waiter after each round (a condition's `notify_all`) made each of
the twenty receiver threads wake, take the GIL and go back to sleep about once a round for
nothing, some ten context switches an order (measured by bench/receiver.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Ticket(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None
    # Held from the start; released once, by whoever wakes this caller: the leader of the
    # round that committed its item, or the one that hands it the lead of the next round.
    # A bare lock is the cheapest one-shot wake-up there is (one futex, no condition).
    wake: threading.Lock = field(default_factory=_held_lock)


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
        self._lock = threading.Lock()
        self._queue: list[_Ticket[T, R]] = []
        self._leading = False

    def submit(self, item: T) -> R:
        """Commit `item` (with whatever else is queued); its result once it is durable."""
        ticket: _Ticket[T, R] = _Ticket(item)
        with self._lock:
            self._queue.append(ticket)
            follows, self._leading = self._leading, True
        if follows:
            ticket.wake.acquire()  # until its round is done, or it is handed the lead
        if not ticket.done:
            self._lead(ticket)
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]  # set with done, error unset

    def _lead(self, own: _Ticket[T, R]) -> None:
        """Commit everything queued (`own` among it), wake its callers, hand on the lead."""
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            self._run(batch)
        finally:
            with self._lock:
                successor = self._queue[0] if self._queue else None
                self._leading = successor is not None
            for ticket in batch:
                if ticket is not own:
                    ticket.wake.release()
            if successor is not None:
                successor.wake.release()  # it finds its item not done and leads

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
