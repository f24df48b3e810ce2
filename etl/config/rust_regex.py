"""Contract patterns as polars runs them: Rust regex syntax, linear time, no look-around.

Python's `re` backtracks, so one pattern like '^(?:\\w+\\s?)+\\[x\\]$' and one long cell
without the brackets hang a run for ever. Every pattern a contract applies to cells
([derive], [values] patterns, [checks.fields] pattern) is run by polars instead; these helpers
check such a pattern when the contract loads and translate a `to` template into polars' form.
"""

from __future__ import annotations

import re

import polars as pl

# A Python-style template piece: \g<name or number>, \number, \\, or a character to keep.
_PIECE = re.compile(r"\\g<([^>]*)>|\\([0-9]{1,2})|\\(.)|(\$)|([^\\$]+)|(\\)$", re.DOTALL)
_ESCAPES = {"\\": "\\", "n": "\n", "t": "\t"}


def problem(pattern: str) -> str | None:
    """Why polars cannot run `pattern` (None: it can), in one line."""
    try:
        pl.Series([], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.ComputeError as exc:
        lines = [s.strip() for s in str(exc).splitlines()]
        said = next((s for s in lines if s.startswith("error:")), lines[0] if lines else "")
        return said.removeprefix("error:").strip() or "refused"
    return None


def groups(pattern: str) -> list[str]:
    """The capturing groups of a pattern polars can run: a name, or the group's number."""
    extracted = pl.Series([], dtype=pl.String).str.extract_groups(pattern)
    return list(extracted.struct.fields)


def replacement(to: str, pattern: str) -> str:
    """A `to` of \\1 and \\g<name> as polars' ${1} and ${name}; ValueError for a wrong group."""
    names = groups(pattern)
    out: list[str] = []
    for named, number, escaped, dollar, text, trailing in _PIECE.findall(to):
        if named or number:
            group = named or number
            if not (group.isdigit() and int(group) <= len(names)) and group not in names:
                raise ValueError(f"`to` {to!r} does not fit `match`: no group {group!r} in it")
            out.append(f"${{{group}}}")
        elif escaped:
            if escaped not in _ESCAPES:
                raise ValueError(f"`to` {to!r}: \\{escaped} is no group: write \\1 or \\g<name>")
            out.append(_ESCAPES[escaped])
        elif trailing:
            raise ValueError(f"`to` {to!r} ends in a lone backslash")
        else:
            out.append("$$" if dollar else text)
    return "".join(out)


def searched(pattern: str, ignore_case: bool = False) -> str:
    """`pattern` as a whole-cell pattern whose match is where a search finds `pattern` first.

    polars replaces only the matched part; a map's `to` is the whole new value, so the cell's
    text around the match is matched too, and dropped.
    """
    inner = f"(?i:{pattern})" if ignore_case else f"(?:{pattern})"
    return f"^(?s:.*?){inner}(?s:.*)$"
