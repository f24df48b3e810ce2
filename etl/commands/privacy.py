"""The privacy command of `run.py`: forget (erasure on request)."""

from __future__ import annotations

import argparse

from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.privacy.forget import Erasure, forget
from etl.privacy.person import Request
from etl.runtime import utc_now


def add_privacy_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `forget` on the CLI's subparsers."""
    parser = sub.add_parser(
        "forget",
        help="erase one person (customer, e-mail or a company's contacts) from every file, "
        "snapshot and ledger row; says what must be erased elsewhere",
    )
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--customer", metavar="CODE", help="the customer's number in the ERP")
    who.add_argument("--email", metavar="ADDRESS", help="the person's e-mail address")
    who.add_argument("--company", metavar="CODE", help="every contact of this company")
    parser.add_argument(
        "--dry-run", action="store_true", help="list the places and counts; change nothing"
    )
    parser.set_defaults(handler=forget_command)


def forget_command(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    """`run.py forget`: the places with counts, then what could not be erased here."""
    request = (
        Request("customer", args.customer)
        if args.customer
        else Request("email", args.email)
        if args.email
        else Request("company", args.company)
    )
    erasure = forget(settings, contracts, request, utc_now(), dry_run=args.dry_run)
    print(
        f"forget {request.kind}: "
        + (f"request {erasure.request}" if erasure.request else "dry run")
    )
    if not erasure.found.person().found:
        print("nothing found: no customer snapshot row, rejected row or order names the person")
        for line in erasure.not_erased:  # an archived input that could not be searched
            print(f"  - {line}")
    else:
        _print_places(erasure, "would mask" if args.dry_run else "masked")
    if erasure.log is not None:
        print(f"Recorded in {erasure.log.relative_to(settings.home)} (no personal values)")
    return 0


def _print_places(erasure: Erasure, verb: str) -> None:
    for place in erasure.places:
        print(f"  {place.name}: {verb} {place.values} value(s) in {place.files} {place.unit}(s)")
    if not erasure.places:
        print("  no place holds the person's values any more")
    print("Not erased here (act there):")
    for line in erasure.not_erased:
        print(f"  - {line}")
