"""Map a parsed file's ERP columns onto the entity's canonical fields (still text)."""

from __future__ import annotations

import logging

import polars as pl

from etl.contracts import FeedContract
from etl.errors import SchemaMismatch
from etl.models import LINE, ParsedFile, given

log = logging.getLogger(__name__)


def map_columns(parsed: ParsedFile, contract: FeedContract) -> pl.DataFrame:
    """Canonical-named string frame with every entity field; a missing mapped column rejects the file.

    An optional column that vanished from a full export must not read as "every value was
    removed": only a field with a contract default may be absent from the file.
    """
    entity = contract.entity
    present = set(parsed.columns)
    sources = contract.field_sources()
    missing = [
        erp
        for field, erp in sources.items()
        if erp not in present and field not in contract.defaults
    ]
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
    absent = [erp for field, erp in sources.items() if erp in parsed.absent and field in required]
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
    exprs: list[pl.Expr] = []
    for field in entity.fields():
        default = contract.defaults.get(field)
        erp = sources.get(field)
        value = pl.col(erp) if erp in present else pl.lit(None, dtype=pl.String)
        if default is not None:
            if field in contract.key_fields:
                # A default is not evidence: a rejected row's key part names an old row
                # only when the file itself said it (see validate's rejected keys).
                exprs.append(value.is_not_null().alias(given(field)))
            value = value.fill_null(pl.lit(default))
        exprs.append(value.alias(field))
    return parsed.frame.select(*exprs, pl.col(LINE))
