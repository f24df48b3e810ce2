"""Strings in, typed valid rows and rejected cells out. Bad rows are data, not exceptions.

pandera's own coercion hides failures (after one bad cell the column's other checks do not
run), so casting is done here first: a cell that does not convert becomes null and is
recorded as a `type` failure; then the schema runs with coerce off and lazy on, and every
failure comes back with its row index. Valid and rejected rows are split on those indexes.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation

import pandera.backends.polars.builtin_checks  # registers the checks run on PolarsData
import pandera.errors
import pandera.polars as pa
import polars as pl

from etl.config.contract_fields import FieldChecks, RoundingSpec
from etl.config.contract_format import FormatSpec
from etl.config.contracts import FeedContract
from etl.dates import local_time_problem, to_date, to_datetime, year_problem
from etl.entities.checks import relaxed
from etl.models import LINE, RAGGED_SCHEMA, Part, Validated, given, line_name
from etl.read.check_flags import ROW_CHECKS, check_flags, flagged, plain_columns
from etl.read.deactivations import take_deactivations
from etl.read.mapping import failed_column, received_column
from etl.read.messages import DECIMALS, FIELD_COUNT, FRACTION, IDENTICAL, describe, field_count
from etl.read.same_rows import Copies, same_fields, take_once
from etl.read.value_maps import read_from

REJECTION_SCHEMA = {
    "line": pl.Int64,
    "key": pl.String,
    "field": pl.String,
    "source_column": pl.String,
    "code": pl.String,
    "message": pl.String,
    "value": pl.String,
}


def validate(
    text: pl.DataFrame,
    contract: FeedContract,
    parts: tuple[Part, ...] = (),
    ragged: pl.DataFrame | None = None,
) -> Validated:
    """Cast, check and split one mapped frame; duplicates of a key are all rejected.

    `parts`: the file was a zip of several (see ParsedFile.parts); messages name lines by part.
    `ragged`: CSV records of another width than the header's (ParsedFile.ragged), rejected
    whole as rows whose key could not be read.
    """
    entity = contract.entity
    key = list(contract.key_fields)
    fields = entity.fields()
    ragged = pl.DataFrame(schema=RAGGED_SCHEMA) if ragged is None else ragged
    rows_read = text.height + ragged.height
    copies = Copies()
    if contract.checks.same_key_rows == "merge_identical":
        # The first of rows that agree on every field stands for all; the others share its fate.
        text, copies = take_once(text, key)
    index = text.with_row_index("_row")
    typed = index.select(
        pl.col("_row"),
        pl.col(LINE),
        *(
            _cast(pl.col(f), f, dtype, contract.format, contract.rounding.get(f)).alias(f)
            for f, dtype in fields.items()
        ),
    )
    markers = [given(k) for k in key if given(k) in text.columns]
    failures = [
        _conversion_failures(index),  # first: the cell's own failure, not its emptiness
        _type_failures(index, typed, fields, contract),
        _schema_failures(typed, contract),
        _duplicates(typed, key, same_fields(text)),
    ]
    failed = (
        pl.concat([f for f in failures if f.height], how="vertical")
        if any(f.height for f in failures)
        else _empty()
    )
    # A type failure also makes the cell null; report it once, as `type`.
    failed = failed.unique(subset=["_row", "field"], keep="first", maintain_order=True)
    # A row marked inactive whose key read cleanly is a deactivation all the same.
    failed, forgiven, typed = take_deactivations(failed, typed, key)
    # A mask, not an anti and a semi join: at 1M rows the join's copy of the valid rows
    # peaked ~45 MB higher. With no failure the typed rows are the valid ones, uncopied.
    bad = pl.col("_row").is_in(failed.get_column("_row").unique().implode())
    valid = typed.filter(~bad).drop("_row") if failed.height else typed.drop("_row")
    rejected = typed.filter(bad)
    explained = _explain(failed, index, rejected, contract, parts, copies)
    rejections = _with_ragged(explained, ragged)
    rejections, merged = copies.share_outcome(rejections)
    evidence = _key_evidence(rejected.join(index.select("_row", *markers), on="_row"), key)
    # The key's first part names the record (the SKU, the customer number); the others only
    # qualify it (price list, warehouse). Without it a row may be any record that left.
    readable = pl.col(key[0]).is_not_null()
    unkeyed = evidence.filter(~readable)[LINE].to_list()
    return Validated(
        valid=valid,
        rejections=rejections,
        rejected_keys=evidence.filter(readable).unique(
            subset=key, keep="first", maintain_order=True
        ),
        rows_read=rows_read,
        parts=parts,
        unkeyed_lines=tuple(sorted(unkeyed + copies.of(unkeyed) + ragged[LINE].to_list())),
        merged=merged,
        forgiven=_explain(forgiven, index, typed, contract, parts, copies),
        copies=copies.frame,
    )


def _with_ragged(rejections: pl.DataFrame, ragged: pl.DataFrame) -> pl.DataFrame:
    """The rejected cells and one rejection per ragged record (no key, field or value)."""
    if not ragged.height:
        return rejections
    none = pl.lit(None, pl.String)
    extra = ragged.select(
        pl.col(LINE).alias("line"),
        none.alias("key"),
        none.alias("field"),
        none.alias("source_column"),
        pl.lit(FIELD_COUNT).alias("code"),
        field_count(pl.col("fields"), pl.col("width")).alias("message"),
        none.alias("value"),
    )
    return pl.concat([rejections, extra]).sort("line", "field", nulls_last=True)


def _key_evidence(rejected: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Rejected rows' key parts that the file said (a defaulted part is null), with LINE.

    Partly readable keys are kept: the diff spares every old row of that record they may
    stand for (a price row with a bad quantity break spares that SKU's prices in its list).
    """
    parts = []
    for k in key:
        read = pl.col(k)
        if given(k) in rejected.columns:
            read = pl.when(pl.col(given(k))).then(read)
        parts.append(read.alias(k))
    return rejected.select(*parts, pl.col(LINE))


def _cast(
    col: pl.Expr, field: str, dtype: pl.DataType, fmt: FormatSpec, rounding: RoundingSpec | None
) -> pl.Expr:
    """Text to the field's type following the dialect; anything else becomes null.

    A field the contract rounds takes any number of decimals, rounded as declared.
    """
    if dtype == pl.String:
        return col
    if dtype == pl.Boolean:
        return _boolean(col)
    if isinstance(dtype, pl.Datetime):
        return to_datetime(col, fmt.time_formats(field, dtype), fmt.time_zone, dtype)
    if dtype == pl.Date:
        return to_date(col, fmt.time_formats(field, dtype))
    places = dtype.scale if isinstance(dtype, pl.Decimal) else 0
    # Exact: a value with more decimals than the type keeps (unless the contract rounds it),
    # or separators the dialect does not use ("1.500" in a decimal-comma file), is refused,
    # never silently rounded or guessed.
    pattern = number_pattern(fmt, None if rounding else places)
    number: pl.Expr = pl.when(col.str.contains(pattern)).then(col)
    if not isinstance(dtype, pl.Decimal):
        # Whole numbers: ERPs and UBL writers (Odoo) put `1.0` for 1; zeros after the point
        # say nothing, so they go before the cast. `1.5` still fails the pattern above.
        number = number.str.replace(_zero_decimals(fmt), "")
    if fmt.thousands:
        number = number.str.replace_all(_group_separator(fmt), "")
    if fmt.decimal != ".":
        number = number.str.replace(fmt.decimal, ".", literal=True)
    if rounding:
        number = _rounded(number, rounding)
    return number.cast(dtype, strict=False)


# The spellings a Boolean cell is read in, any letter case; the ERP's own (J/N, Yes/No) are
# translated by the contract's [values] maps before this, anything else is a `type` failure.
TRUE_TEXTS, FALSE_TEXTS = ("true", "1"), ("false", "0")


def _boolean(col: pl.Expr) -> pl.Expr:
    """true/false (any letter case) or 1/0 to a Boolean; anything else becomes null."""
    lower = col.str.to_lowercase()
    return (
        pl.when(lower.is_in(TRUE_TEXTS))
        .then(pl.lit(True))
        .when(lower.is_in(FALSE_TEXTS))
        .then(pl.lit(False))
        .otherwise(pl.lit(None, pl.Boolean))
    )


_MODES = {"half_even": ROUND_HALF_EVEN, "half_up": ROUND_HALF_UP}
# Room for any number a cell may hold; digits beyond a field's precision fail its cast.
_EXACT = Context(prec=200)


def _rounded(number: pl.Expr, rounding: RoundingSpec) -> pl.Expr:
    """Plain number text (`-495.79831932773`) rounded as declared, with exact decimals.

    Never through a float: 2.675 is 2.67499999... as a float and would round down.
    """
    step = Decimal(1).scaleb(-rounding.places)
    mode = _MODES[rounding.mode]

    def one(text: str) -> str | None:
        try:
            return str(Decimal(text).quantize(step, rounding=mode, context=_EXACT))
        except InvalidOperation:  # longer than any field holds: its cast fails as `type`
            return None

    return number.map_elements(one, return_dtype=pl.String)


# What Excel writes for a space between digit groups depends on the locale and version:
# a plain space, a no-break space (U+00A0, Swedish) or a narrow no-break space (U+202F, French).
_SPACES = "[ \u00a0\u202f]"


def _group_separator(fmt: FormatSpec) -> str:
    """The regex of one thousands separator the dialect accepts in a cell."""
    return _SPACES if fmt.thousands == " " else re.escape(fmt.thousands)


def _zero_decimals(fmt: FormatSpec) -> str:
    """The regex of a decimal point followed by zeros only, at the end of a cell."""
    return rf"{re.escape(fmt.decimal)}0*$"


def number_pattern(fmt: FormatSpec, places: int | None) -> str:
    """The regex a number cell must match: sign, digits (grouped or not), up to `places` decimals.

    With no places (a whole number) the digits may be followed by the point and zeros: `1.0`.
    `places` None: any number of decimals.
    """
    whole = r"[0-9]+"
    if fmt.thousands:
        whole = rf"(?:[0-9]{{1,3}}(?:{_group_separator(fmt)}[0-9]{{3}})+|[0-9]+)"
    point = re.escape(fmt.decimal)
    if places == 0:
        return rf"^[+-]?{whole}(?:{point}0*)?$"
    upto = "" if places is None else str(places)
    return rf"^[+-]?(?:{whole}(?:{point}[0-9]{{0,{upto}}})?|{point}[0-9]{{1,{upto}}})$"


def _type_failures(
    text: pl.DataFrame, typed: pl.DataFrame, fields: dict[str, pl.DataType], contract: FeedContract
) -> pl.DataFrame:
    """Cells that held text but did not convert to the field's type.

    A date-time that failed only because of a daylight-saving change gets its own check
    name, so its message can say so; its code is still `type`.
    """
    cast = {f: dtype for f, dtype in fields.items() if dtype != pl.String}
    failed = text.select((pl.col(f).is_not_null() & typed[f].is_null()).alias(f) for f in cast)
    # The rows with any failed cast are found in one pass; each field is read on those only,
    # and a field none failed costs nothing more (most fields, most batches).
    some = failed.select(pl.any_horizontal(pl.all())).to_series() if cast else None
    if some is None or not some.any():
        return _empty()
    rows, marks = text.filter(some), failed.filter(some)
    frames = [
        rows.filter(marks[f]).select(
            "_row", pl.lit(f).alias("field"), _type_check(f, dtype, contract).alias("check")
        )
        for f, dtype in cast.items()
        if marks[f].any()
    ]
    return pl.concat(frames)


def _type_check(field: str, dtype: pl.DataType, contract: FeedContract) -> pl.Expr:
    """The check name of a failed cast: "type", or what is wrong with the number or time."""
    fmt = contract.format
    if isinstance(dtype, pl.Decimal) and field not in contract.rounding:
        # A number with more decimals than the field keeps: the message says how to round it.
        places = dtype.scale or 0
        cell = pl.col(field).str
        # (a number within its decimals that still failed is too big: plain `type`)
        longer = cell.contains(number_pattern(fmt, None)) & ~cell.contains(
            number_pattern(fmt, places)
        )
        return pl.when(longer).then(pl.lit(DECIMALS)).otherwise(pl.lit("type"))
    if isinstance(dtype, pl.Datetime):
        return local_time_problem(pl.col(field), fmt.time_formats(field, dtype), fmt.time_zone)
    if dtype == pl.Date:
        return year_problem(pl.col(field), fmt.time_formats(field, dtype), with_time=False)
    if dtype.is_integer():
        # A number with a real fraction is not "not a number": say what is wrong with it.
        fraction = pl.col(field).str.contains(number_pattern(fmt, None))
        return pl.when(fraction).then(pl.lit(FRACTION)).otherwise(pl.lit("type"))
    return pl.lit("type")


def _schema_failures(typed: pl.DataFrame, contract: FeedContract) -> pl.DataFrame:
    """Every failed pandera check as (_row, field, check).

    pandera runs each check as a query of its own over every row, and costs about as much
    again to gather its failure cases. Where every check judges a row by its own cells
    (etl.read.check_flags), the checks run in one lazy plan and the failures are read off its
    flags, in pandera's order and with pandera's check names. Otherwise pandera
    runs on every row.
    """
    schema = contract_schema(contract)
    flags = check_flags(typed, schema)
    if flags is not None and plain_columns(typed, schema):
        return flagged(typed, flags)
    checked = typed  # pandera says what is wrong with a column of another type
    try:
        schema.validate(checked, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = pl.DataFrame(exc.failure_cases)
        whole = cases.filter(pl.col("index").is_null())
        if whole.height:
            # A check that failed on a whole column (it could not run) names no row:
            # dropping it would let every row pass that check unchecked.
            said = "; ".join(f"{c}: {k}" for c, k in whole.select("column", "check").iter_rows())
            raise RuntimeError(f"{contract.name}: checks failed without a row: {said}") from exc
        rows = checked["_row"].gather(cases["index"].cast(pl.UInt32))
        return pl.DataFrame({"_row": rows, "field": cases["column"], "check": cases["check"]})
    return _empty()


def rows_checked_alone(contract: FeedContract) -> bool:
    """Whether every check of the contract judges a row by its own cells (none looks at
    other rows), so a file's rows may be validated a batch at a time; keys apart."""
    schema = contract_schema(contract)
    if schema.checks or any(c.unique or c.regex for c in schema.columns.values()):
        return False
    checks = [check for column in schema.columns.values() for check in column.checks]
    return all(c.name in ROW_CHECKS and c.groupby is None for c in checks)


def whole_key_hashes(text: pl.DataFrame, contract: FeedContract) -> pl.Series:
    """A hash of each typed key with no part missing: the keys the duplicate check counts."""
    key, fields, fmt = list(contract.key_fields), contract.entity.fields(), contract.format
    typed = text.select(
        _cast(pl.col(k), k, fields[k], fmt, contract.rounding.get(k)).alias(k) for k in key
    )
    return typed.drop_nulls(key).select(pl.struct(key).hash().alias("_key")).to_series()


def contract_schema(contract: FeedContract) -> pa.DataFrameSchema:
    """The entity's schema with the contract's extra field checks added on top."""
    schema = contract.entity.schema
    for field, extra in contract.checks.fields.items():
        column = schema.columns[field]
        own = (relaxed(column.checks) if extra.code == "norce" else None) or column.checks
        checks = [*own, *_field_checks(extra)]
        schema = schema.update_column(
            field, checks=checks, nullable=column.nullable and not extra.required
        )
    return schema


def _field_checks(extra: FieldChecks) -> list[pa.Check]:
    """pandera checks for one [checks.fields.<name>] table; their names become error codes."""
    checks = []
    if extra.pattern is not None:
        checks.append(pa.Check.str_matches(extra.pattern))
    if extra.min is not None:
        checks.append(pa.Check.ge(extra.min))
    if extra.max is not None:
        checks.append(pa.Check.le(extra.max))
    if extra.min_length is not None or extra.max_length is not None:
        checks.append(pa.Check.str_length(extra.min_length, extra.max_length))
    if extra.allowed is not None:
        checks.append(pa.Check.isin(list(extra.allowed)))
    return checks


def _duplicates(typed: pl.DataFrame, key: list[str], same: pl.Series) -> pl.DataFrame:
    """Every row whose key appears more than once: neither copy is applied.

    `same`: per row, its fields as `same_key_rows = "merge_identical"` compares them; a key
    whose rows are all identical gets the IDENTICAL check, so its message can name that key.
    """
    # Only the columns the check reads: a filter of every column copies every row's cells.
    # And only the rows whose key hash repeats are grouped on the key itself: grouping
    # every row on a three-part text key took ~270 MB at 1M rows, the hashes ~10 MB.
    rows = typed.select("_row", *key).with_columns(same.alias("_same"))
    rows = rows.filter(_key_hash_repeats(typed, key))
    dup = rows.drop_nulls(key).filter(pl.len().over(key) > 1)
    copies = pl.col("_same").n_unique().over(key) == 1
    check = pl.when(copies).then(pl.lit(IDENTICAL)).otherwise(pl.lit("duplicate_key"))
    return dup.select("_row", pl.lit(key[0]).alias("field"), check.alias("check"))


def _key_hash_repeats(typed: pl.DataFrame, key: list[str]) -> pl.Series:
    """Per row: whether the hash of its whole key occurs more than once.

    Every duplicate key passes (a collision too: the grouping after sorts it out); sorted
    hashes find the repeats without a hash table of every row.
    """
    whole = pl.all_horizontal(pl.col(key).is_not_null())
    hashed = pl.col(key[0]).hash(0)
    for seed, part in enumerate(key[1:], 1):
        hashed = hashed ^ pl.col(part).hash(seed)
    hashes = typed.select(pl.when(whole).then(hashed)).to_series()
    ordered = hashes.drop_nulls().sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    return hashes.is_in(repeated.implode()).fill_null(False)


def _conversion_failures(text: pl.DataFrame) -> pl.DataFrame:
    """Cells their [derive] pattern or [values] map refused, as mapping marked them."""
    prefix = failed_column("")
    frames = [
        text.filter(pl.col(c).is_not_null()).select(
            "_row", pl.lit(c.removeprefix(prefix)).alias("field"), pl.col(c).alias("check")
        )
        for c in text.columns
        if c.startswith(prefix)
    ]
    return pl.concat(frames) if frames else _empty()


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"_row": pl.UInt32, "field": pl.String, "check": pl.String})


def _explain(
    failed: pl.DataFrame,
    text: pl.DataFrame,
    rejected: pl.DataFrame,
    contract: FeedContract,
    parts: tuple[Part, ...],
    copies: Copies,
) -> pl.DataFrame:
    """One row per failed cell with line, key, ERP column, error code and a plain message."""
    if not failed.height:
        return pl.DataFrame(schema=REJECTION_SCHEMA)
    key = list(contract.key_fields)
    sources = contract.field_sources()
    keys = rejected.select(
        "_row",
        pl.concat_str(
            [pl.col(k).cast(pl.String).fill_null("") for k in key], separator=" / "
        ).alias("key"),
    )
    lines_by_key = _duplicate_lines(rejected, key, parts, copies)
    # `_row` is the position in `text`: the failed rows are gathered, not joined (a join
    # hashes every row of the file for the few that failed).
    cells = text.drop("_row")[failed.get_column("_row")]
    rows = pl.concat([failed, cells], how="horizontal").join(keys, on="_row", how="left")
    fields = contract.entity.fields()
    fmt = contract.format
    out = []
    personal = contract.entity.personal or frozenset()
    for r in rows.iter_rows(named=True):
        field = r["field"]
        # A derived or mapped field: the report shows what the ERP wrote, to find it there.
        value, raw = r.get(field), r.get(received_column(field))
        # On a feed about people, a cell a field is derived from is free text that may
        # hold anything about the person (an e-mail, a personal number): masked as well.
        if field in personal or (personal and field in contract.derive):
            value, raw = (None if v is None else masked(v) for v in (value, raw))
        code, message = describe(
            r["check"],
            field,
            raw if value is None else value,
            contract.entity,
            lines_by_key.get(r["key"], ""),
            decimal=fmt.decimal,
            date_formats=fmt.time_formats(field, fields[field]),
            time_zone=fmt.time_zone,
        )
        out.append(
            (
                r[LINE],
                r["key"],
                field,
                sources.get(field, f"(default) {field}"),
                code,
                message + read_from(contract, field, value, raw),
                value if raw is None else raw,
            )
        )
    return pl.DataFrame(out, schema=REJECTION_SCHEMA, orient="row").sort("line", "field")


def masked(value: str) -> str:
    """Personal data as a report shows it: only the last four characters, the rest starred."""
    return "*" * max(len(value) - 4, 4) + value[-4:] if len(value) > 4 else "*" * len(value)


def _duplicate_lines(
    rejected: pl.DataFrame, key: list[str], parts: tuple[Part, ...], copies: Copies
) -> dict[str, str]:
    """For duplicate keys: key text -> the lines it appears on (copies taken once too)."""
    dup = rejected.drop_nulls(key).filter(pl.len().over(key) > 1)
    if not dup.height:
        return {}
    grouped = dup.group_by(key).agg(pl.col(LINE).sort())
    joined = grouped.select(
        pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator=" / "), pl.col(LINE)
    )
    return {
        k: ", ".join(line_name(parts, n) for n in sorted(lines + copies.of(lines)))
        for k, lines in joined.iter_rows()
    }
