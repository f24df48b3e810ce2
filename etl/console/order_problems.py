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

_HELD_LISTED = 1000  # more held orders than this is one incident, not a thousand alerts


def order_problems(areas: Areas) -> list[Problem]:
    """One `order_held` problem per held order, one `order_refused` per order body refused."""
    book = OrderBook(areas.ledger)
    try:
        held = book.orders("held", _HELD_LISTED)
    finally:
        book.close()
    refused = refused_bodies(areas.refused("orders"))
    return [*(_held(o) for o in held), *(_refused(b) for b in refused)]


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
