"""`run.py migrate-state`: move a one-VM home's state to the PostgreSQL ledger and the bucket.

The settings already say where state goes now (`[state] backend = "postgresql"`, `[storage]
backend = "s3"`); the home's SQLite ledger and folders are where it was. Exit codes:
0 moved (or already moved, or a dry run); 1 a failure half-way, safe to run again; 2 the
settings name nothing to move to; 3 refused before anything was written (the home in use,
the target holding another installation's rows).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import Path

from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.config.state_settings import StateSettings
from etl.errors import ConfigError, EtlError
from etl.runtime import ledger_at, utc_now
from etl.state.blobs import Blobs, open_blobs
from etl.state.ledger.postgres import PostgresAt
from etl.state.migrate.move import Move, move_state
from etl.state.migrate.refused import MoveRefused

log = logging.getLogger(__name__)

REFUSED = 3


def add_migrate_state_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `migrate-state` on the CLI's subparsers."""
    command = sub.add_parser(
        "migrate-state",
        help="move this one-VM home's state (the SQLite ledger; archive, snapshots, spool and "
        "outbox) to the PostgreSQL ledger and the bucket the settings name; refused while "
        "the scheduler, a run or the receiver uses the home",
    )
    command.add_argument(
        "--dry-run",
        action="store_true",
        help="say what would move (tables and rows, folders, files and bytes); move nothing",
    )
    command.set_defaults(handler=migrate_state_command)


def migrate_state_command(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    """Move (or describe) the state; the exit code says what the operator does next."""
    move = Move(
        home=settings.home,
        source=_vm_ledger(settings),
        target=_target_ledger(settings),
        blobs=_bucket(settings),
        now=utc_now(),
        quiet_after=dt.timedelta(minutes=settings.alerts.stale_after_minutes),
    )
    if move.target is None and move.blobs is None:
        raise ConfigError(
            "settings",
            "state.backend / storage.backend",
            'nothing to move to: set [state] backend = "postgresql" and/or [storage] '
            'backend = "s3" first, then run migrate-state',
        )
    try:
        move_state(move, print, dry_run=args.dry_run)
    except MoveRefused as exc:
        log.error("refused: %s", exc)
        return REFUSED
    except EtlError as exc:
        if args.dry_run:  # it only looked: there is no half of a move to speak of
            log.error("dry run stopped: %s; nothing was moved: fix the cause and run it again", exc)
        else:
            log.error("stopped half-way: %s; %s", exc, _what_now(move))
        return 1
    if not args.dry_run:
        print(
            "moved: start the workers on these settings; never start run.py on this VM again; "
            "then delete the VM's copies named above"
        )
    return 0


def _vm_ledger(settings: Settings) -> Path:
    """Where a one-VM home keeps its ledger: the settings' home with [state] as it was."""
    at = ledger_at(settings.model_copy(update={"state": StateSettings()}))
    if not isinstance(at, Path):  # the default [state] is SQLite: never reached
        raise EtlError("the one-VM ledger is a SQLite file under the home")
    return at


def _target_ledger(settings: Settings) -> PostgresAt | None:
    at = ledger_at(settings)
    return at if isinstance(at, PostgresAt) else None


def _bucket(settings: Settings) -> Blobs | None:
    """The whole bucket prefix (areas put their own names in each key), or None when local."""
    if settings.storage.backend != "s3":
        return None
    return open_blobs(settings.storage, "", settings.home)


def _what_now(move: Move) -> str:
    """What a failure half-way left, and what to do, for the parts this move has."""
    left = []
    if move.target is not None:
        left.append("the PostgreSQL ledger got nothing (it is copied last, all or nothing)")
    if move.blobs is not None:
        left.append("objects already in the bucket are skipped when migrate-state runs again")
    return "; ".join([*left, "keep run.py stopped, fix the cause and run migrate-state again"])
