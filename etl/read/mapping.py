"""Map a parsed file's ERP columns onto the entity's canonical fields (still text).

A field is copied from its column, or derived from one ([derive]); its values may then be
mapped to canonical ones ([values]). Such a field also carries the cell as the ERP wrote
it (`received_column`), for the report, and the check its conversion failed, if any (`failed_column`),
for validation to reject the row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import polars as pl

from etl.config.contracts import FeedContract
from etl.errors import SchemaMismatch
from etl.models import LINE, ParsedFile, given
from etl.read.value_maps import Conversion, conversions

log = logging.getLogger(__name__)


def received_column(field: str) -> str:
    """The mapped frame's column with a converted field's cell as the ERP wrote it."""
    return f"_received:{field}"


def failed_column(field: str) -> str:
    """The mapped frame's column with the check a converted cell failed (null: none)."""
    return f"_failed:{field}"


def has_cell(field: str, columns: Sequence[str]) -> pl.Expr:
    """Whether a mapped row has a value or a file cell for `field` (one its conversion refused).

    A cell that [derive] or [values] refused leaves the field null, yet the file said something
    there: such a row is about the field's entity and must be rejected, not skipped.
    """
    said = [pl.col(field).is_not_null()]
    said += [
        pl.col(c).is_not_null()
        for c in (received_column(field), failed_column(field))
        if c in columns
    ]
    return pl.any_horizontal(said)


def map_columns(parsed: ParsedFile, contract: FeedContract) -> pl.DataFrame:
    """Canonical-named string frame with every entity field; a missing mapped column rejects the file.

    An optional column that vanished from a full export must not read as "every value was
    removed": only a field with a contract default may be absent from the file.
    """
    _check_columns(parsed, contract)
    converting, sources = conversions(contract), contract.field_sources()
    exprs: list[pl.Expr] = []
    for field in contract.entity.fields():
        erp = sources.get(field)
        column = parsed.frame.get_column(erp) if erp in parsed.columns else None
        exprs += _field(contract, field, column, converting.get(field))
    return parsed.frame.select(*exprs, pl.col(LINE))


def _check_columns(parsed: ParsedFile, contract: FeedContract) -> None:
    """SchemaMismatch for a column that is missing, or (XML) that no record holds."""
    entity = contract.entity
    present = set(parsed.columns)
    sources = contract.field_sources()
    missing = _once(
        erp
        for field, erp in sources.items()
        if erp not in present and field not in contract.defaults
    )
    if missing:
        found = ", ".join(repr(c) for c in parsed.columns[:12]) or "none"
        if entity.personal is not None:
            # A file without its header row shows its first record here: a person's name,
            # e-mail and personal number, on their way to the log and the manifest.
            found = f"{len(parsed.columns)} columns, not shown for a feed about people"
        raise SchemaMismatch(
            f"{parsed.path.name}: missing column(s) {', '.join(repr(m) for m in missing)} (found: {found})",
            column=missing[0],
        )
    required = set(entity.required_fields()) - set(contract.defaults)
    absent = _once(
        erp for field, erp in sources.items() if erp in parsed.absent and field in required
    )
    if absent:
        raise SchemaMismatch(
            f"{parsed.path.name}: {', '.join(repr(a) for a in absent)} occurs in no record "
            "(renamed in the export, or a wrong path or namespace in the contract?)",
            column=absent[0],
        )
    for path in parsed.absent:
        log.warning(
            "%s: %r occurs in no record; the field is empty in every row", parsed.path.name, path
        )


def _once(columns: Iterable[str]) -> list[str]:
    """The columns in order, each once (one column may feed several fields)."""
    return list(dict.fromkeys(columns))


def _field(
    contract: FeedContract, field: str, column: pl.Series | None, conversion: Conversion | None
) -> list[pl.Expr]:
    """The field's expression from its file column (None: absent), with the columns it adds."""
    value = pl.lit(None, dtype=pl.String) if column is None else pl.col(column.name)
    exprs: list[pl.Expr] = []
    refused: pl.Expr | None = None
    if conversion is not None and column is not None:
        results, checks = _tables(column, conversion)
        refused = value.replace_strict(checks, default=None, return_dtype=pl.String)
        exprs += [value.alias(received_column(field)), refused.alias(failed_column(field))]
        value = value.replace_strict(results, default=None, return_dtype=pl.String)
    default = contract.defaults.get(field)
    if default is not None:
        if field in contract.key_fields:
            # A default is not evidence: a rejected row's key part names an old row
            # only when the file itself said it (see validate's rejected keys).
            exprs.append(value.is_not_null().alias(given(field)))
        value = value.fill_null(pl.lit(default))
        if refused is not None:
            # A cell that failed its conversion is not empty: no default stands in for it.
            value = pl.when(refused.is_null()).then(value)
    exprs.append(value.alias(field))
    return exprs


def _tables(
    cells: pl.Series, conversion: Conversion
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """(distinct cell -> the field's text, distinct cell -> the check it failed)."""
    distinct = cells.drop_nulls().unique()
    texts, failed = conversion.convert(distinct)
    cells_seen = distinct.to_list()
    return dict(zip(cells_seen, texts, strict=True)), dict(zip(cells_seen, failed, strict=True))
