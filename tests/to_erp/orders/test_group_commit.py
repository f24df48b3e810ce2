"""Group commit: bookings from many threads go to the ledger together, each answered as its own."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from etl.state.group_commit import GroupCommit
from etl.to_erp.orders.book import OrderBook

SENDERS = 20


def test_concurrent_bookings_share_commits_and_each_gets_its_own_answer(tmp_path: Path) -> None:
    book = OrderBook(tmp_path / "ledger.sqlite")
    start = threading.Barrier(SENDERS)
    answers: dict[int, str] = {}

    def send(n: int) -> None:
        start.wait()
        ref = str(1000 + n % 10)  # two senders per ref: one is new, the other is a retry
        answers[n] = book.receive(ref, "same-hash", f"{ref}.json", "json", "push", "t")

    threads = [threading.Thread(target=send, args=(n,)) for n in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    book.close()
    assert sorted(answers.values()) == ["again"] * 10 + ["new"] * 10
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 10


def test_one_failing_item_fails_only_its_caller_and_later_batches_go_on() -> None:
    batches: list[list[int]] = []
    first = threading.Event()

    def commit(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            first.set()
            time.sleep(0.2)  # a slow commit: the others queue up behind it
        if 13 in items:
            raise ValueError("item 13 is refused")
        return [i * 2 for i in items]

    group: GroupCommit[int, int] = GroupCommit(commit)
    results: dict[int, int | str] = {}

    def submit(n: int) -> None:
        try:
            results[n] = group.submit(n)
        except ValueError as exc:
            results[n] = str(exc)

    leader = threading.Thread(target=submit, args=(0,))
    leader.start()
    assert first.wait(5)
    followers = [threading.Thread(target=submit, args=(n,)) for n in range(1, SENDERS)]
    for t in followers:
        t.start()
    for t in [leader, *followers]:
        t.join()
    assert results == {n: "item 13 is refused" if n == 13 else n * 2 for n in range(SENDERS)}
    # The nineteen that queued behind the slow first commit went in one batch (then, as it
    # failed for item 13, one by one).
    assert batches[0] == [0]
    assert sorted(batches[1]) == list(range(1, SENDERS))


@pytest.mark.parametrize("error", [ValueError("x"), KeyboardInterrupt()])
def test_a_caller_alone_gets_its_own_error(error: BaseException) -> None:
    def commit(items: Sequence[int]) -> list[int]:
        raise error

    group: GroupCommit[int, int] = GroupCommit(commit)
    with pytest.raises(type(error)):
        group.submit(1)
    with pytest.raises(type(error)):  # nothing stuck: the next call commits again
        group.submit(2)


def test_without_retry_alone_every_caller_of_a_failed_batch_gets_its_error() -> None:
    # The spool's folder fsync: one that failed must not be tried again (the second fsync
    # reports success with the data lost), so every body of the batch is refused.
    calls: list[list[int]] = []
    first = threading.Event()

    def commit(items: Sequence[int]) -> list[None]:
        calls.append(list(items))
        if len(calls) == 1:
            first.set()
            time.sleep(0.2)  # the others queue up behind the first into one batch
            return [None]
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        return [None for _ in items]

    group: GroupCommit[int, None] = GroupCommit(commit, retry_alone=False)
    errors: dict[int, str] = {}

    def submit(n: int) -> None:
        try:
            group.submit(n)
        except OSError as exc:
            errors[n] = exc.strerror or ""

    leader = threading.Thread(target=submit, args=(0,))
    leader.start()
    assert first.wait(5)
    followers = [threading.Thread(target=submit, args=(n,)) for n in range(1, 5)]
    for t in followers:
        t.start()
    for t in [leader, *followers]:
        t.join()
    assert len(calls) == 2, "the failed batch was tried again"
    assert errors == {n: "Input/output error" for n in range(1, 5)}


def test_many_rounds_from_many_threads_each_caller_gets_its_own_result_and_none_hangs() -> None:
    # A round wakes only its own callers and hands the lead to the first one queued: no
    # caller may be left waiting for a wake-up that never comes, none may get another's result.
    rounds: list[int] = []

    def commit(items: Sequence[int]) -> list[int]:
        rounds.append(len(items))
        time.sleep(0.0005)  # long enough for others to queue behind it
        return [i * 3 for i in items]

    group: GroupCommit[int, int] = GroupCommit(commit)
    wrong: list[int] = []

    def submit_many(first: int) -> None:
        for n in range(first, first + 100):
            if group.submit(n) != n * 3:
                wrong.append(n)

    threads = [threading.Thread(target=submit_many, args=(k * 1000,)) for k in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a caller was never woken"
    assert wrong == []
    assert sum(rounds) == SENDERS * 100
    assert len(rounds) < SENDERS * 100 / 2, "callers waiting together were not committed together"
