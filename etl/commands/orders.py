"""The order commands of `run.py`: receive, orders (and `orders show`), release, resend, retake."""

from __future__ import annotations

import argparse
import getpass
from typing import TYPE_CHECKING

from etl.alert_jobs import alerts_beside
from etl.commands.json_views import dump, orders_document, refused_json
from etl.commands.order_views import render_refused, render_story
from etl.commands.status import render_order_counts, render_order_list, render_orders
from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.errors import EtlError
from etl.lazy import imported_when_called
from etl.receiver.refused import find, refused_bodies, retake
from etl.runtime import ledger_at, utc_now
from etl.state.areas import Areas
from etl.state.blob_refused import open_refused
from etl.state.blob_spool import open_spool
from etl.state.refused_base import RefusedBodies
from etl.state.spool_base import BodySpool
from etl.to_erp.orders.book import Body, OrderBook
from etl.to_erp.orders.history import order_story
from etl.to_erp.orders.inbound import open_inbound
from etl.transport.names import one_line, printable

if TYPE_CHECKING:
    from etl.console.page_route import console_routes
    from etl.receiver.app import serve_receiver
else:  # uvicorn and h11, the console and prometheus_client: only `receive` needs them
    console_routes = imported_when_called("etl.console.page_route", "console_routes")
    serve_receiver = imported_when_called("etl.receiver.app", "serve_receiver")

STATES = ["spooled", "held", "exported", "refused"]


def add_order_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the order commands on the CLI's subparsers."""
    receive = sub.add_parser(
        "receive", help="serve the endpoint Norce pushes orders to (its own long-lived process)"
    )
    receive.set_defaults(handler=receive_command)
    orders = sub.add_parser(
        "orders",
        help="list orders, newest first, with their state (spooled, held, exported), or the "
        "bodies the receiver refused (--state refused); `orders show REF` for one order whole",
    )
    orders.add_argument("--state", choices=STATES)
    orders.add_argument("--limit", type=int, default=200, help="at most this many (default 200)")
    orders.add_argument("--json", action="store_true", help="one JSON document on stdout")
    orders.set_defaults(handler=orders_command)
    one = orders.add_subparsers(title="one order", metavar="show REF")
    show = one.add_parser(
        "show", help="how and when it came, its bodies, holds, exports, documents"
    )
    show.add_argument("order", help="the order's ClientOrderRef")
    show.set_defaults(handler=show_command)
    release = sub.add_parser("release", help="let a held order go to the ERP")
    release.add_argument("order", help="the order's ClientOrderRef")
    release.set_defaults(handler=release_command)
    resend = sub.add_parser("resend", help="export an order to the ERP again, on purpose")
    resend.add_argument("order", help="the order's ClientOrderRef")
    resend.add_argument(
        "--variant",
        help="send this body instead of the order's own, this time only: its number or the "
        "start of its sha256, as `run.py orders show REF` lists them",
    )
    resend.set_defaults(handler=resend_command)
    again = sub.add_parser(
        "retake", help="read refused order bodies again with the current code and take them in"
    )
    again.add_argument("names", nargs="*", metavar="NAME", help="files in archive/orders/rejected/")
    again.add_argument("--all", action="store_true", help="every refused body")
    again.set_defaults(handler=retake_command)


def receive_command(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    """`run.py receive`: blocks until SIGTERM; beside it, its heartbeat and the alerts."""
    with alerts_beside(settings, contracts, "receiver"):
        serve_receiver(settings, console_routes(settings, contracts))
    return 0


def orders_command(args: argparse.Namespace, settings: Settings, contracts: object) -> int:
    """`run.py orders`: one line per order, newest first (or per refused body)."""
    if args.state == "refused":
        bodies = refused_bodies(_rejected(settings))
        if args.json:
            listed = [refused_json(b) for b in bodies[: args.limit]]
            print(dump({"state": "refused", "matching": len(bodies), "refused_bodies": listed}))
        else:
            print(render_refused(bodies, args.limit))
        return 0
    book = _book(settings)
    try:
        orders = book.latest(args.state, args.limit)
        exported = {o.ref: sorted({e.layout for e in book.exports(o.ref)}) for o in orders}
        matching, everything = book.count(args.state), book.count()
    finally:
        book.close()
    refused = len(refused_bodies(_rejected(settings))) if args.state is None else 0
    if args.json:
        print(dump(orders_document(orders, exported, args.state, (matching, everything), refused)))
        return 0
    print(render_order_list(orders, exported, matching, everything, args.state))
    if refused:
        print(
            f"and {refused} refused bod{'ies' if refused > 1 else 'y'}: `run.py orders --state refused`"
        )
    return 0


def show_command(args: argparse.Namespace, settings: Settings, contracts: object) -> int:
    """`run.py orders show REF`: one order whole."""
    book = _book(settings)
    try:
        story = order_story(book, args.order)
    finally:
        book.close()
    if story is None:
        raise EtlError(f"no order {args.order!r} (see `run.py orders`)")
    print(render_story(story))
    spool = _spool(settings)
    for body in story.bodies:
        if (gone := _purged(spool, body)) is not None:
            print(f"body {body.number}: {gone}")
    return 0


def release_command(args: argparse.Namespace, settings: Settings, contracts: object) -> int:
    """`run.py release REF`: a held order becomes due for export."""
    book = _book(settings)
    try:
        order = book.order(args.order)
        if order is None:
            raise EtlError(f"no order {args.order!r} (see `run.py orders`)")
        if not book.release(args.order, utc_now().isoformat(timespec="seconds"), _operator()):
            raise EtlError(
                f"order {args.order!r} is not held: it is {order.state} "
                "(see `run.py orders --state held`)"
            )
    finally:
        book.close()
    print(f"released: order {printable(args.order)} goes to the ERP with the next export")
    return 0


def resend_command(args: argparse.Namespace, settings: Settings, contracts: object) -> int:
    """`run.py resend REF [--variant N]`: the order is exported again to every layout."""
    book = _book(settings)
    try:
        bodies = book.bodies(args.order)
        if not bodies:
            raise EtlError(f"no order {args.order!r} (see `run.py orders`)")
        body = _variant(bodies, args.variant, args.order) if args.variant else None
        gone = _purged(_spool(settings), body or bodies[0])
        if gone is not None:
            raise EtlError(f"order {args.order!r} cannot be exported again: {gone}")
        book.resend(args.order, utc_now().isoformat(timespec="seconds"), body)
    finally:
        book.close()
    which = f" with body {body.number} ({body.sha256[:16]})" if body else ""
    print(
        f"order {printable(args.order)} will be exported again{which} with the next export, "
        "under a new name"
    )
    return 0


def _variant(bodies: list[Body], chosen: str, ref: str) -> Body:
    """The body an operator named by its number in `orders show` or a prefix of its sha256."""
    if chosen.isdigit() and 1 <= int(chosen) <= len(bodies):
        return bodies[int(chosen) - 1]
    prefix = chosen.lower()
    matches = [b for b in bodies if len(prefix) >= 4 and b.sha256.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(f"{b.number} ({b.sha256[:16]})" for b in bodies)
    raise EtlError(
        f"order {ref!r} has no single body {chosen!r}: its bodies are {listed} "
        f"(see `run.py orders show {ref}`)"
    )


def retake_command(args: argparse.Namespace, settings: Settings, contracts: object) -> int:
    """`run.py retake NAME... | --all`: refused bodies read again; those that parse are taken."""
    kept = _rejected(settings)
    if args.all == bool(args.names):
        raise EtlError("name the refused bodies to take again, or give --all")
    chosen = refused_bodies(kept) if args.all else [find(kept, n) for n in args.names]
    if None in chosen:
        unknown = [n for n, b in zip(args.names, chosen, strict=True) if b is None]
        raise EtlError(
            f"not a refused order body: {', '.join(map(repr, unknown))} "
            "(see `run.py orders --state refused`)"
        )
    if not chosen:
        print("no refused order bodies to take again")
        return 0
    inbound = open_inbound(settings)
    refused = 0
    try:
        for body in chosen:
            if body is None:
                continue
            outcome = retake(inbound, kept, body)
            verb = "taken" if outcome.taken else "still refused"
            refused += not outcome.taken
            print(f"{printable(outcome.name)}: {verb}: {one_line(outcome.detail)}")
    finally:
        inbound.book.close()
    return 1 if refused else 0


def order_status_lines(settings: Settings) -> str:
    """For `run.py status`: orders per state, the held ones with why, the refused bodies."""
    book = _book(settings)
    try:
        lines = [render_order_counts(book.counts())]
        held = book.latest("held", 20)
        if held:
            lines.append("Held orders (release with `run.py release ORDER`):")
            lines.append(render_orders(held, {}))
            if book.count("held") > len(held):
                lines.append(
                    f"the newest {len(held)} of {book.count('held')}: `run.py orders --state held`"
                )
    finally:
        book.close()
    refused = refused_bodies(_rejected(settings))
    if refused:
        lines.append(
            f"Refused order bodies: {len(refused)} (once the cause is fixed, take them again "
            "with `run.py retake NAME` or `run.py retake --all`):"
        )
        lines.append(render_refused(refused, 10))
    return "\n".join(lines)


def _operator() -> str:
    """Who runs the command, for the record of a release."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def _rejected(settings: Settings) -> RefusedBodies:
    """The refused order bodies: this machine's folder, or the bucket's (`[storage]`)."""
    return open_refused(settings.storage, Areas(settings.home), "orders")


def _spool(settings: Settings) -> BodySpool:
    return open_spool(settings.storage, Areas(settings.home), "orders")


def _purged(spool: BodySpool, body: Body) -> str | None:
    """What became of a body `run.py purge` removed, in words; None while it is kept."""
    gone = spool.purged(body.spool_name)
    if gone is None or spool.exists(body.spool_name):
        return None
    return (
        f"its body was removed by `run.py purge` on {gone.get('purged_at')} (kept "
        f"{gone.get('retention_days')} days after its export); only its hash "
        f"{body.sha256[:16]} is left"
    )


def _book(settings: Settings) -> OrderBook:
    return OrderBook(ledger_at(settings))
