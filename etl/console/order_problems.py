"""Problems on the orders' side: orders held from the ERP and bodies the receiver refused.

A held order lasts until `run.py release`; a refused body until `run.py retake` takes it
(its copy then moves to archive/orders/retaken/).
"""

from __future__ import annotations

from etl.console.problems import Problem
from etl.receiver.refused import RefusedBody, refused_bodies
from etl.state.areas import Areas
from etl.to_erp.orders.book import OrderBook, OrderRow
from etl.transport.names import one_line, printable

# Up to this many held orders are one problem each; more are one incident (a systemic cause
# such as a check every order fails), told once, not one message per order and channel.
HELD_ONE_BY_ONE = 10
_REASONS_TOLD = 3  # the distinct reasons of the oldest held orders the one problem names


def order_problems(areas: Areas) -> list[Problem]:
    """`order_held` problems (one per order, or one for them all) and one `order_refused` per
    order body refused."""
    book = OrderBook(areas.ledger)
    try:
        held_count = book.count("held")  # all of them, however many
        oldest = book.orders("held", HELD_ONE_BY_ONE)
    finally:
        book.close()
    refused = [_refused(b) for b in refused_bodies(areas.refused("orders"))]
    if held_count > HELD_ONE_BY_ONE:
        return [_many_held(held_count, oldest), *refused]
    return [*(_held(o) for o in oldest), *refused]


def _held(order: OrderRow) -> Problem:
    ref = printable(order.ref)
    return Problem(
        key=f"order-held:{order.ref}",
        kind="order_held",
        subject=f"order {ref}",
        what=f"held: {one_line(order.reason or '')}",
        did="kept it from the ERP; every other order goes on",
        command=f"run.py release {ref}",
        since=order.received_at,
    )


def _many_held(count: int, oldest: list[OrderRow]) -> Problem:
    first = oldest[0]
    reasons = list(dict.fromkeys(one_line(o.reason or "") for o in oldest))
    told = "; ".join(reasons[:_REASONS_TOLD])
    more = f" (and {len(reasons) - _REASONS_TOLD} more)" if len(reasons) > _REASONS_TOLD else ""
    return Problem(
        key="orders-held",  # one key however many: the count changes, the incident does not
        kind="order_held",
        subject=f"{count} orders",
        what=f"{count} orders held, oldest {printable(first.ref)} since {first.received_at}; "
        f"reasons of the oldest {len(oldest)}: {told}{more}",
        did="kept them from the ERP; every other order goes on",
        command="run.py orders --state held, then run.py release REF for each",
        since=first.received_at,
    )


def _refused(body: RefusedBody) -> Problem:
    return Problem(
        key=f"refused-body:{body.name}",
        kind="order_refused",
        subject=f"order body {body.name}",
        what=f"the receiver refused it: {one_line(body.reason)}",
        did="answered Norce with an error and kept the body in archive/orders/rejected/",
        command=f"run.py retake {body.name}",
        since=body.refused_at,
    )
