"""Dates and date-times written as text, read in a feed's own format and time zone.

Formats are strftime patterns read by polars (chrono), so the example a message shows is
rendered by the same engine that parses the cells. A date-time without an offset in its
format is a wall-clock time in the feed's `time_zone`; it is converted to UTC. At a
daylight-saving change a wall-clock time can be missing (spring forward: 02:30 never
happened) or happen twice (autumn: 02:30 comes round again); neither is ever guessed or
shifted: the cell is refused and `local_time_problem` says which of the two it was.

A format reads a cell only into a plausible year (FIRST_YEAR..LAST_YEAR): chrono's `%Y`
takes any number of digits, so "03/04/26" is the year 26 to it, and that read must neither
win over a later `%y` in the list nor reach Norce. A list may not hold two formats that read
one text as two different moments (`%d/%m/%Y` and `%m/%d/%Y`): `ambiguity` finds them, so
the order of a list never decides what a date means.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo

import polars as pl

# Afternoon, so no offset moves it to another day; seconds, so a format that drops them shows.
_SAMPLE = dt.datetime(2026, 11, 20, 14, 30, 45)
# %z, %:z, %::z and %#z (the last also reads "Z"), and %s (seconds since 1970 in UTC);
# "%%z" is a literal percent sign and a z.
_OFFSET = re.compile(r"(?<!%)(?:%%)*%(?:[:#]*z|s)")
GAP, AMBIGUOUS, YEAR = "dst_gap", "dst_ambiguous", "implausible_year"
# No export means a year outside these: Excel and the ERPs count from 1900, and a year of
# four digits beyond 2999 is a typo. A year of 26 is chrono reading "26" through %Y.
FIRST_YEAR, LAST_YEAR = 1900, 2999
# Day and month both 12 or less and different, a time with every part different: whatever
# a format writes of it, another format that reads it another way shows.
_PROBE = dt.datetime(2026, 3, 4, 13, 5, 6)


def has_offset(fmt: str) -> bool:
    """Whether cells written in `fmt` say their own UTC offset (so `time_zone` plays no part)."""
    return _OFFSET.search(fmt) is not None


# The checks below run polars on one-row series (a dozen small queries for a list of
# formats), once per contract and key as the contracts load, at every start: most contracts
# keep the default formats and zone, so each distinct one is judged once per process.
@functools.cache
def zone_problem(name: str) -> str | None:
    """Why `name` is not a usable IANA time zone, or None when it is."""
    try:
        zoneinfo.ZoneInfo(name)
        # polars has its own zone database: a name only the system knows would fail mid-file.
        pl.Series([_SAMPLE]).dt.replace_time_zone(name)
    # ZoneInfoNotFoundError is a KeyError; a malformed key ("../x", "") a ValueError.
    except (KeyError, ValueError, pl.exceptions.PolarsError):
        return f"unknown time zone {name!r}: use an IANA name such as 'Europe/Stockholm' or 'UTC'"
    return None


@functools.cache
def format_problem(fmt: str, with_time: bool) -> str | None:
    """Why `fmt` cannot read dates (or date-times), or None when it reads back its own example.

    chrono reads a pattern with no date in it ("%H:%M", or plain text) as year 1, so the
    check is that the example comes back as the same calendar day, not merely that it parses.
    """
    try:
        text = example(fmt, "UTC")
        cell = pl.Series([text])
        read = cell.str.to_datetime if with_time else cell.str.to_date
        day = read(fmt, strict=False).dt.date()[0]
    except pl.exceptions.PolarsError:
        return f"{fmt!r} is not a usable strftime format"
    if day != _SAMPLE.date():
        return f"{fmt!r} does not read a whole date back from its own example {text!r}"
    return None


def example(fmt: str, zone: str) -> str:
    """20 November 2026, 14:30:45 in `zone`, written in `fmt` (the way a cell must look)."""
    # chrono reads %#z ("+01:00" or "Z") but cannot write it; show the colon form.
    shown = fmt.replace("%#z", "%:z")
    sample = pl.Series([_SAMPLE]).dt.replace_time_zone(zone)
    return str(sample.dt.strftime(shown)[0])


def to_date(col: pl.Expr, fmts: tuple[str, ...]) -> pl.Expr:
    """Text to Date by the first of `fmts` that reads it into a plausible year; else null."""
    return pl.coalesce([_plausible(col.str.to_date(fmt, strict=False)) for fmt in fmts])


def _plausible(read: pl.Expr) -> pl.Expr:
    """`read` where its year is one an export can mean; null (not read) elsewhere."""
    return pl.when(read.dt.year().is_between(FIRST_YEAR, LAST_YEAR)).then(read)


def to_datetime(col: pl.Expr, fmts: tuple[str, ...], zone: str, dtype: pl.Datetime) -> pl.Expr:
    """Text to `dtype` (UTC) by the first of `fmts` that reads it: by its own offset, else as
    a wall-clock time in `zone`.

    A time that does not exist or exists twice in `zone` becomes null, like any bad cell;
    it is not handed to the next format, which would read the same text another way.
    """
    tried = [_datetime(col, fmt, zone, dtype) for fmt in fmts]
    chosen: pl.Expr = pl.lit(None, dtype)
    for read, value in reversed(tried):
        chosen = value if len(tried) == 1 else pl.when(read).then(value).otherwise(chosen)
    return chosen


def _datetime(col: pl.Expr, fmt: str, zone: str, dtype: pl.Datetime) -> tuple[pl.Expr, pl.Expr]:
    """(whether `fmt` reads the text, the instant it reads in UTC) for one format."""
    target = dtype.time_zone or "UTC"
    if has_offset(fmt):
        read = col.str.to_datetime(fmt, time_unit=dtype.time_unit, time_zone=target, strict=False)
        read = _plausible(read)
        return read.is_not_null(), read
    local = _plausible(col.str.to_datetime(fmt, time_unit=dtype.time_unit, strict=False))
    zoned = local.dt.replace_time_zone(zone, ambiguous="null", non_existent="null")
    return local.is_not_null(), zoned.dt.convert_time_zone(target)


def local_time_problem(col: pl.Expr, fmts: tuple[str, ...], zone: str) -> pl.Expr:
    """Why a date-time cell failed: GAP, AMBIGUOUS, `year_problem`'s, or "type".

    GAP and AMBIGUOUS mean the first format that read the text found a fine wall-clock time
    that the zone's daylight-saving change made impossible or double. Meant for the few
    failed cells only.
    """
    problem = year_problem(col, fmts, with_time=True)
    for fmt in reversed(fmts):
        local = _plausible(col.str.to_datetime(fmt, strict=False))
        problem = (
            pl.when(local.is_not_null()).then(_zone_problem(local, fmt, zone)).otherwise(problem)
        )
    return problem


def year_problem(col: pl.Expr, fmts: tuple[str, ...], with_time: bool) -> pl.Expr:
    """`implausible_year(26)` when a format read the failed cell only into such a year, else
    "type" (no format read it at all)."""
    problem: pl.Expr = pl.lit("type")
    for fmt in reversed(fmts):
        cell = col.str
        read = cell.to_datetime(fmt, strict=False) if with_time else cell.to_date(fmt, strict=False)
        year = read.dt.year()
        problem = (
            pl.when(year.is_not_null()).then(pl.format(YEAR + "({})", year)).otherwise(problem)
        )
    return problem


@functools.cache
def ambiguity(fmts: tuple[str, ...], with_time: bool) -> tuple[int, str] | None:
    """(index, why) of the first format whose text an earlier format reads as another moment.

    A probe with day and month both 12 or less is written in each format, then read by that
    format and by each one before it, as a cell would be; None when all of them agree.
    """
    probe = pl.Series([_PROBE]).dt.replace_time_zone("UTC")
    for j, later in enumerate(fmts):
        text = str(probe.dt.strftime(later.replace("%#z", "%:z"))[0])
        meant = _read_one(text, later, with_time)
        for i, earlier in enumerate(fmts[:j]):
            got = _read_one(text, earlier, with_time)
            if got is None or meant is None or got == meant:
                continue
            shown = got.strftime("%Y-%m-%d %H:%M:%S" if with_time else "%Y-%m-%d")
            return j, (
                f"{text} would be read by [{i}] {earlier} as {shown}: a list may not hold "
                "formats that read the same text two ways; keep the one the ERP writes"
            )
    return None


def _read_one(text: str, fmt: str, with_time: bool) -> dt.date | None:
    """What `fmt` reads `text` as, as a cell (in UTC when it is a wall-clock time)."""
    cell = pl.col("cell")
    kind = pl.Datetime("us", "UTC")
    read = _datetime(cell, fmt, "UTC", kind)[1] if with_time else to_date(cell, (fmt,))
    value = pl.DataFrame({"cell": [text]}).select(read).item()
    return value if isinstance(value, dt.date) else None


def _zone_problem(local: pl.Expr, fmt: str, zone: str) -> pl.Expr:
    """GAP or AMBIGUOUS for a wall-clock time `fmt` read that failed in `zone`."""
    if has_offset(fmt):
        return pl.lit("type")  # an instant with its offset never fails for the zone's sake
    # With the doubled hour resolved, only a time in the skipped hour is still null.
    skipped = local.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null").is_null()
    return pl.when(skipped).then(pl.lit(GAP)).otherwise(pl.lit(AMBIGUOUS))


def utc(moment: dt.datetime) -> dt.datetime:
    """`moment` in UTC; a time without zone is taken as UTC (how the ledger writes them)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def moment(value: object) -> dt.datetime | None:
    """An ISO-8601 time from the ledger or a manifest, in UTC; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return utc(dt.datetime.fromisoformat(value))
    except ValueError:
        return None
