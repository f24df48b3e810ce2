"""Validated rows -> documents: one per document number, head and lines, or reasons why not.

A document goes to Norce whole or not at all: an invoice missing a rejected line would
capture the wrong amount. So a document with any rejected row is held back entirely (its
other rows are reported as `document_incomplete`), and so is one whose rows disagree on a
head field (`head_mismatch`). A rejected line whose document number is empty cannot be
placed at all: some invoice in the file may be missing it, so the whole file is refused
before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from etl.config.contracts import FeedContract
from etl.entities.document import Document, DocumentEntity
from etl.errors import FileRejected
from etl.models import LINE, Validated
from etl.read.messages import FIELD_COUNT
from etl.read.validate import REJECTION_SCHEMA


class OrphanLines(FileRejected):
    """Rejected lines with no document number: no document of the file can be trusted whole."""

    code = "orphan_line"

    def __init__(self, message: str, rejections: pl.DataFrame) -> None:
        super().__init__(message)
        self.rejections = rejections  # every row-level rejection, for the report


INCOMPLETE = (
    "not sent: another line of this document was rejected; a document goes to Norce whole "
    "or not at all"
)


@dataclass(frozen=True)
class Grouped:
    """The documents to send, in file order, and the rows held back with why."""

    documents: list[Document]
    rejections: pl.DataFrame  # REJECTION_SCHEMA
    held: int  # documents not sent because of their rows


def document_entity(contract: FeedContract) -> DocumentEntity:
    """The contract's entity as a document entity (the flow only runs for those)."""
    entity = contract.entity
    if not isinstance(entity, DocumentEntity):
        raise TypeError(f"{contract.name}: {entity.name} is not a document entity")
    return entity


def group(validated: Validated, contract: FeedContract) -> Grouped:
    """Documents from the valid rows; rows of documents that cannot go whole are reported."""
    entity = document_entity(contract)
    numbers = entity.number_fields(contract.key_fields)
    if entity.line_key is not None:
        _refuse_orphans(validated, numbers)
    options = entity.parse_options(contract.options)
    broken = _numbers_with_rejected_rows(validated, numbers)
    documents, notes, held = [], [], 0
    for rows in _documents_rows(validated.valid, numbers):
        number = _number(rows[0], numbers)
        if number in broken:
            notes += [_note(r, contract, None, "document_incomplete", INCOMPLETE) for r in rows]
            held += 1
            continue
        mismatch = _head_mismatch(rows, entity, contract, number)
        if mismatch:
            notes += mismatch
            held += 1
            continue
        document = _document(rows, entity, number)
        problems = entity.check(document, options)
        if problems:
            notes += [
                _note(rows[0], contract, p.field, p.code, p.message, rows[0].get(p.field or ""))
                for p in problems
            ]
            notes += [
                _note(r, contract, None, "document_incomplete", _see(rows[0])) for r in rows[1:]
            ]
            held += 1
            continue
        documents.append(document)
    frame = pl.DataFrame(notes, schema=REJECTION_SCHEMA, orient="row")
    return Grouped(documents, frame, held)


def all_rejections(validated: Validated, *more: pl.DataFrame) -> pl.DataFrame:
    """The file's rejected cells and the rows held back with their documents, by line."""
    frames = [validated.rejections.select(REJECTION_SCHEMA.keys()), *more]
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame(schema=REJECTION_SCHEMA)
    return pl.concat(frames).sort("line", "key", nulls_last=True, maintain_order=True)


def _refuse_orphans(validated: Validated, numbers: Sequence[str]) -> None:
    rejections = validated.rejections
    # A CSV row of the wrong width has no number that can be read either.
    no_number = pl.col("field").is_in(numbers) & (pl.col("code") == "required")
    orphans = rejections.filter(no_number | (pl.col("code") == FIELD_COUNT))
    if not orphans.height:
        return
    lines = ", ".join(str(n) for n in orphans["line"].unique().sort().to_list()[:10])
    raise OrphanLines(
        f"line(s) {lines} have no {' / '.join(numbers)}, so it cannot be told which document "
        "they belong to and any document of the file may be missing them; nothing of the file "
        "is sent: fix the export and send it again",
        rejections,
    )


def _numbers_with_rejected_rows(validated: Validated, numbers: Sequence[str]) -> set[str]:
    """Numbers of the documents with a rejected row."""
    if not validated.rejections.height:
        return set()
    keys = validated.rejected_keys.drop_nulls(list(numbers))
    return {_number(row, numbers) for row in keys.iter_rows(named=True)}


def _documents_rows(valid: pl.DataFrame, numbers: Sequence[str]) -> list[list[dict[str, Any]]]:
    """The valid rows grouped by document number, documents in order of first appearance."""
    by_number: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in valid.iter_rows(named=True):
        by_number.setdefault(tuple(row[f] for f in numbers), []).append(row)
    return list(by_number.values())


def _number(row: Mapping[str, Any], numbers: Sequence[str]) -> str:
    return " / ".join(str(row[f]) for f in numbers)


def _head_mismatch(
    rows: list[dict[str, Any]], entity: DocumentEntity, contract: FeedContract, number: str
) -> list[tuple[Any, ...]]:
    """Report rows for head fields that differ between the document's rows, if any."""
    first = rows[0]
    differing = [f for f in entity.head_fields if any(r[f] != first[f] for r in rows[1:])]
    if not differing:
        return []
    notes = []
    for row in rows:
        fields = [f for f in differing if row[f] != first[f]]
        for f in fields:
            label = entity.labels.get(f, f)
            message = (
                f"{label} is {_shown(row[f])} here but {_shown(first[f])} on line {first[LINE]}: "
                f"all rows of {entity.name} {number} must agree on it, so none of it is sent"
            )
            notes.append(_note(row, contract, f, "head_mismatch", message, row[f]))
        if not fields:
            notes.append(_note(row, contract, None, "document_incomplete", _see(first)))
    return notes


def _document(rows: list[dict[str, Any]], entity: DocumentEntity, number: str) -> Document:
    head = {f: rows[0][f] for f in entity.head_fields}
    line_key = entity.line_key
    if line_key is None:
        return Document(entity.name, number, head, (), (rows[0][LINE],))
    ordered = sorted(rows, key=lambda r: r[line_key])
    lines = tuple({f: r[f] for f in entity.line_fields()} for r in ordered)
    return Document(entity.name, number, head, lines, tuple(r[LINE] for r in ordered))


def _see(first: Mapping[str, Any]) -> str:
    return f"not sent with the rest of its document: see line {first[LINE]}"


def _shown(value: object) -> str:
    return "(empty)" if value is None else repr(str(value))


def _note(
    row: Mapping[str, Any],
    contract: FeedContract,
    field: str | None,
    code: str,
    message: str,
    value: object = None,
) -> tuple[Any, ...]:
    """One report row in REJECTION_SCHEMA order."""
    key = " / ".join("" if row[k] is None else str(row[k]) for k in contract.key_fields)
    source = contract.field_sources().get(field, f"(default) {field}") if field else None
    shown = None if value is None else str(value)
    return (row[LINE], key, field, source, code, message, shown)
