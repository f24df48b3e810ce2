"""The commands. `run.py` parses nothing itself; everything starts here."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from etl.alert_jobs import alert_pass
from etl.commands.check import add_check_command
from etl.commands.json_views import dump, problem_json
from etl.commands.migrate_state import add_migrate_state_command
from etl.commands.orders import add_order_commands
from etl.commands.parties import add_party_commands
from etl.commands.privacy import add_privacy_commands
from etl.commands.replay import add_replay_command
from etl.commands.status_command import show_status
from etl.commands.trace import add_trace_command
from etl.commands.worker import add_worker_command
from etl.config.contract_files import load_contracts
from etl.config.contracts import FeedContract
from etl.config.settings import (
    DEFAULT_SETTINGS_FILE,
    HOME_ENV,
    Settings,
    home_given,
    load_settings,
)
from etl.configuration_alert import configuration_failed, configuration_loaded
from etl.console.configuration_problems import unreadable_now
from etl.console.problems import Problem
from etl.errors import ConfigError, EtlError
from etl.jobs import chosen_feeds, feed_job, one_pass, run_jobs
from etl.lazy import imported_when_called
from etl.logs import install as install_log_escaping
from etl.norce.check import check_tenant
from etl.retention.purge import describe, purge_all, strays
from etl.runtime import Runtime, utc_now
from etl.state.private_files import keep_private
from etl.to_erp.files.layouts import load_every_layout
from etl.to_norce.masterdata.approve import approve
from etl.transport.names import one_line

if TYPE_CHECKING:
    from etl.scheduler import serve
else:  # APScheduler's scheduler, executors and multiprocessing: only the scheduler needs them
    serve = imported_when_called("etl.scheduler", "serve")

log = logging.getLogger("etl")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the process exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    install_log_escaping()  # every process starts here, the receiver too
    try:
        settings = _settings(args.config, home_given(args.home, os.environ))
        _usable_home(settings.home)
        keep_private(settings.home)
        contracts = _contracts(args, settings)
        code = _handle(args, settings, contracts)
        sys.stdout.flush()  # a reader that went away (`| head`) shows here, not at exit
        return code
    except BrokenPipeError:
        # As the Python docs advise for SIGPIPE: the rest of the output goes nowhere, quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return 2
    except EtlError as exc:
        log.error("%s", exc)
        return 1


def _contracts(args: argparse.Namespace, settings: Settings) -> dict[str, FeedContract]:
    """The feed contracts; a contract or layout that fails to load is alerted first.

    Recorded and alerted only by `once` and the scheduler's start; `status` only shows it.
    The settings loaded, so the channels are known; the ConfigError still ends the process
    (exit 2). A start whose contracts and layouts load resolves the alert of one whose did not.
    """
    # `status` shows the problem but records nothing: it is not a start, and a scheduler
    # that is running keeps the contracts it loaded (found by review).
    watched = args.handler in (_serve, _once)
    try:
        contracts = load_contracts(settings)
        if args.handler in (_serve, _status):
            # The scheduler reads them as it starts; `once` only after the ERP's files.
            load_every_layout(settings)
    except ConfigError as exc:
        if watched:
            configuration_failed(settings, exc, utc_now())
        if args.handler is _status:
            now = utc_now().isoformat(timespec="seconds")
            _show_configuration_problem(unreadable_now(one_line(str(exc)), now), args.json)
        raise
    if args.handler is _serve:
        configuration_loaded(settings, utc_now())
    return contracts


def _handle(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    """Run the command; `once` then settles the configuration problem (its layouts too)."""
    if args.handler is not _once:
        return int(args.handler(args, settings, contracts))
    try:
        code = int(args.handler(args, settings, contracts))
    except ConfigError as exc:  # a layout, read after the ERP's files
        configuration_failed(settings, exc, utc_now())
        raise
    try:
        load_every_layout(settings)  # `once --feed` reads none: a broken one keeps it open
    except ConfigError as exc:
        configuration_failed(settings, exc, utc_now())
        return code
    configuration_loaded(settings, utc_now())
    return code


def _show_configuration_problem(problem: Problem, as_json: bool) -> None:
    """`status` when the contracts do not load: that problem first, nothing else is known."""
    if as_json:
        print(dump({"needs_a_person": True, "problems": [problem_json(problem)]}))
    else:
        print(f"configuration error: {problem.what}")
        print(f"    done: {problem.did}")
        print(f"    helps: {problem.command}")


def _usable_home(home: Path) -> None:
    """ConfigError when `home` is a file, or lies below one (nothing is created here)."""
    probe = home
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(
            str(home),
            "home",
            f"cannot be the home folder: {probe} is not a folder (--home, ${HOME_ENV} or the "
            "settings file's home)",
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_program(), description="ERP <-> Norce Commerce batch integration"
    )
    parser.add_argument(
        "--config",
        type=Path,
        help=f"settings file (default: HOME/{DEFAULT_SETTINGS_FILE} if present, else $ETL_CONFIG, "
        "else the embedded default)",
    )
    parser.add_argument(
        "--home",
        type=Path,
        help=f"folder for state/, inbox/, outbox/ and archive/ (default: ${HOME_ENV}, else the "
        "settings file's home or its folder, else the current directory)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.set_defaults(handler=_serve)
    sub = parser.add_subparsers(title="commands")
    once = sub.add_parser(
        "once", help="run every feed (or one) once and exit; non-zero if any failed"
    )
    once.add_argument("--feed", help="only this feed")
    once.set_defaults(handler=_once)
    add_check_command(sub)
    status = sub.add_parser(
        "status",
        help="whether anything needs a person (exit 1 when something does) and each problem, "
        "then the last runs of each feed, holds, jobs, orders and documents",
    )
    status.add_argument("--feed", help="only this feed's runs (the problems are all shown)")
    status.add_argument("--limit", type=int, default=5, help="runs per feed (default 5)")
    status.add_argument("--json", action="store_true", help="one JSON document on stdout")
    status.set_defaults(handler=_status)
    appr = sub.add_parser("approve", help="release the removals a run's deletion guard held")
    appr.add_argument("run")
    appr.set_defaults(handler=_approve)
    feeds = sub.add_parser("feeds", help="list the feed contracts and where they pick up files")
    feeds.set_defaults(handler=_feeds)
    purging = sub.add_parser(
        "purge",
        help="personal data past its retention goes: archive folders keep only their manifest; "
        "snapshots, spools, ledger bodies and outbox files are reduced too",
    )
    purging.add_argument(
        "--dry-run", action="store_true", help="list what would be removed; remove nothing"
    )
    purging.set_defaults(handler=_purge)
    norce_check = sub.add_parser(
        "norce-check",
        help="before go-live: fetch a token and read one product, order and customer from the "
        "configured Norce tenant (writes nothing); non-zero if a step failed",
    )
    norce_check.set_defaults(handler=_norce_check)
    add_order_commands(sub)
    add_party_commands(sub)
    add_replay_command(sub)
    add_trace_command(sub)
    add_privacy_commands(sub)
    add_worker_command(sub)
    add_migrate_state_command(sub)
    return parser


def _program() -> str:
    """The name usage lines give: run.py, erp-norce-etl or `python -m etl`, as started."""
    name = Path(sys.argv[0]).name
    return "python -m etl" if name == "__main__.py" else name or "erp-norce-etl"


def _settings(path: Path | None, home: Path | None) -> Settings:
    """--config, else HOME/etl.toml, else ETL_CONFIG, else the embedded default."""
    # A home given (--home or its variable) is where a service keeps its etl.toml too, and it
    # wins over the file's own `home`; without one, HOME is the current directory as before.
    local = (home or Path()) / DEFAULT_SETTINGS_FILE
    if path is None and local.is_file():
        path = local
    if path is None and os.environ.get("ETL_CONFIG"):
        path = Path(os.environ["ETL_CONFIG"])
    return load_settings(path, os.environ, home)


def _serve(args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]) -> int:

    rt = Runtime.open(settings)
    try:
        serve(rt, contracts)
    finally:
        rt.close()
    return 0


def _once(args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]) -> int:
    chosen = chosen_feeds(contracts, args.feed)
    rt = Runtime.open(settings)
    try:
        jobs = one_pass(rt, contracts) if args.feed is None else [feed_job(chosen[0], chosen)]
        report = run_jobs(rt, jobs, emit=print)
        for line in alert_pass(rt, contracts, rt.clock()):  # cron users get alerts too
            print(line)
    finally:
        rt.close()
    # 1: something failed and will be retried; 3: a whole file was rejected (needs a person).
    return 1 if "failed" in report.outcomes else 3 if "rejected" in report.outcomes else 0


def _status(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    rt = Runtime.open(settings)
    try:
        return show_status(rt, contracts, args.feed, args.limit, args.json)
    finally:
        rt.close()


def _approve(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    rt = Runtime.open(settings)
    try:
        run_id = approve(rt, contracts, args.run)
    finally:
        rt.close()
    print(f"approved: removals held by {args.run} were sent in run {run_id}")
    return 0


def _feeds(args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]) -> int:
    for c in contracts.values():
        when = c.schedule.cron or f"every {c.schedule.interval_minutes:g} min"
        where = f"{c.source.store}:{c.source.folder}/{c.source.pattern}"
        if c.source.from_feed is not None:
            where, when = f"the files of feed {c.source.from_feed}", "in its runs"
        print(f"{c.name:<12} {c.entity.name:<8} {where}  ({c.format.type}, {when})  {c.path}")
    return 0


def _purge(args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]) -> int:
    """Remove personal data past its retention everywhere it rests; manifests keep hashes."""
    purged = purge_all(settings, contracts, utc_now(), dry_run=args.dry_run)
    for summary in purged.archive:
        for removal in summary.removals if args.dry_run else ():
            print(f"would remove {removal.path} ({removal.size:,} bytes)")
        print(describe(summary, dry_run=args.dry_run))
    for name in strays(settings, contracts):
        print(f"archive/{name}: no feed contract names it; left alone")
    for place in purged.places:
        print(place.line(dry_run=args.dry_run))
    print(purged.line())
    return 0


def _norce_check(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    report = check_tenant(settings, contracts)
    print("\n".join(report.lines()))
    return 1 if report.failed else 0
