"""The order commands of `run.py`: receive, orders, release, resend."""

from __future__ import annotations

import argparse

from etl.errors import EtlError
from etl.flows.runtime import utc_now
from etl.orders.book import OrderBook
from etl.settings import Settings
from etl.status import render_order_counts, render_orders


def add_order_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the order commands on the CLI's subparsers."""
    receive = sub.add_parser(
        "receive", help="serve the endpoint Norce pushes orders to (its own long-lived process)"
    )
    receive.set_defaults(handler=receive_command)
    orders = sub.add_parser("orders", help="list orders with their state (spooled, held, exported)")
    orders.add_argument("--state", choices=["spooled", "held", "exported"])
    orders.add_argument("--limit", type=int, default=200)
    orders.set_defaults(handler=orders_command)
    release = sub.add_parser("release", help="let a held order go to the ERP")
    release.add_argument("order", help="the order's ClientOrderRef")
    release.set_defaults(handler=release_command)
    resend = sub.add_parser("resend", help="export an order to the ERP again, on purpose")
    resend.add_argument("order", help="the order's ClientOrderRef")
    resend.set_defaults(handler=resend_command)


def receive_command(args: argparse.Namespace, settings: Settings, contracts: object) -> int:
    """`run.py receive`: blocks until SIGTERM."""
    from etl.orders.receiver import serve_receiver

    serve_receiver(settings)
    return 0


def orders_command(args: argparse.Namespace, settings: Settings, contracts: object) -> int:
    """`run.py orders`: one line per order."""
    book = _book(settings)
    try:
        orders = book.orders(args.state, args.limit)
        exported = {o.ref: sorted({e.layout for e in book.exports(o.ref)}) for o in orders}
        print(render_orders(orders, exported))
    finally:
        book.close()
    return 0


def release_command(args: argparse.Namespace, settings: Settings, contracts: object) -> int:
    """`run.py release REF`: a held order becomes due for export."""
    book = _book(settings)
    try:
        if not book.release(args.order, utc_now().isoformat(timespec="seconds")):
            raise EtlError(f"order {args.order!r} is not held (see `run.py orders --state held`)")
    finally:
        book.close()
    print(f"released: order {args.order} goes to the ERP with the next export")
    return 0


def resend_command(args: argparse.Namespace, settings: Settings, contracts: object) -> int:
    """`run.py resend REF`: the order is exported again to every layout."""
    book = _book(settings)
    try:
        if not book.resend(args.order, utc_now().isoformat(timespec="seconds")):
            raise EtlError(f"no order {args.order!r} (see `run.py orders`)")
    finally:
        book.close()
    print(f"order {args.order} will be exported again with the next export, under a new name")
    return 0


def order_status_lines(settings: Settings) -> str:
    """For `run.py status`: orders per state, and the held ones with why they wait."""
    book = _book(settings)
    try:
        lines = [render_order_counts(book.counts())]
        held = book.orders("held", 20)
        if held:
            lines.append("Held orders (release with `run.py release ORDER`):")
            lines.append(render_orders(held, {}))
    finally:
        book.close()
    return "\n".join(lines)


def _book(settings: Settings) -> OrderBook:
    return OrderBook(settings.folder("state") / "ledger.sqlite")
