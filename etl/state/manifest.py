"""manifest.json: what an archive folder held and what became of it, read and written only here.

A feed's run folder gets one when the run commits (master data, documents, an approval, a file
refused whole); purge adds what it removed (and writes one for an export day folder, the refused
bodies folder and a file-mode outbox feed folder); an erasure adds what it masked.

Manifests outlive the code that wrote them, so reading is lenient: every field may be absent, a
field a later version added is optional, and keys this version does not know are kept and
written back unchanged (`extra="allow"`): a rewrite by purge or an erasure never drops what an
earlier version recorded. Writing is strict: `Manifest.new` refuses a key no model declares, so
a misspelt key fails the run that would write it, not the reader a year later. Only the keys a
writer gave are written (`exclude_unset`), so each kind of manifest keeps its own keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, model_validator

from etl.state.atomic import write_text_atomically

MANIFEST = "manifest.json"
# A new manifest is checked key by key; one read back keeps what it does not know.
_NEW = "new"


class ManifestError(ValueError):
    """A manifest.json that cannot be read as one: bad JSON, not an object, a wrong type."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


class _Record(BaseModel):
    """A part of a manifest: frozen, lenient when read, strict when new (see the module)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys_when_new(cls, data: Any, info: ValidationInfo) -> Any:
        """A manifest this version writes uses only keys it declares."""
        if isinstance(data, dict) and info.context and info.context.get(_NEW):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise ValueError(f"{cls.__name__}: unknown key(s) {', '.join(unknown)}")
        return data


class InputPart(_Record):
    """One file of a compressed input, and the line its numbering continues after."""

    name: str
    lines_after: int


class InputFile(_Record):
    """The file a run took, as the store listed it (early versions wrote no mtime)."""

    name: str
    remote_path: str
    size: int
    mtime: float | None = None
    sha256: str
    parts: list[InputPart] | None = None


class Removals(_Record):
    """Why the run's removals go: missing from the file, or marked inactive (first lines)."""

    missing_from_file: int
    marked_inactive: int
    marked_inactive_lines: list[int]


class SnapshotPair(_Record):
    """The snapshot the run diffed against and the one it made."""

    base: str | None
    new: str


class CallRecord(_Record):
    """One Norce call as etl.entities.calls.CallResult describes it."""

    label: str
    method: str
    items: int
    bytes: int
    job_id: str | None = None
    status: str | None = None
    inserts: int | None = None
    updates: int | None = None
    failures: int | None = None
    warnings: list[str] | None = None
    location: str | None = None


class Delivery(_Record):
    """Where the run's calls went (documents record only the mode)."""

    mode: str
    calls: list[CallRecord] | None = None
    bytes: int | None = None


class MergedExample(_Record):
    """Rows taken once as an identical earlier row (etl.models.Merge)."""

    key: str
    line: int
    merged_lines: list[int]
    merged: int


class DocumentEntry(_Record):
    """One document of a document feed's run and what became of it."""

    kind: str
    number: str
    lines: list[int]
    outcome: str
    message: str | None = None
    location: str | None = None
    sha256: str | None = None


class FileRecord(_Record):
    """A file by name (relative to the folder), size and SHA-256."""

    name: str
    size: int
    sha256: str | None


class PurgedFile(FileRecord):
    """A file purge removed; `purged_at` when the folder's files go one by one."""

    purged_at: str | None = None


class Erasure(_Record):
    """An erasure request that masked files of this folder, and their new hashes."""

    at: str
    request: str
    files: list[FileRecord]


class Manifest(_Record):
    """Every key any manifest.json holds, in the order they are written; all optional."""

    run_id: str | None = None
    feed: str | None = None
    entity: str | None = None
    outcome: Literal["committed", "rejected"] | None = None
    approves: str | None = None  # an approval run: the run whose held removals it sends
    finished_at: str | None = None  # ISO-8601 as written; purge ages a run by it
    contract: str | None = None
    input: InputFile | None = None
    counts: dict[str, int] | None = None
    held_reason: str | None = None
    removals: Removals | None = None
    attention: str | None = None  # documents: what needs someone's eyes
    reports: list[str] | None = None
    snapshot: SnapshotPair | None = None
    delivery: Delivery | None = None
    documents: list[DocumentEntry] | None = None
    replay_of: str | None = None
    timings_seconds: dict[str, float] | None = None
    peak_rss_mb: dict[str, float] | None = None
    rows_merged: int | None = None
    merged_examples: list[MergedExample] | None = None
    # A file refused whole: why.
    error: str | None = None
    code: str | None = None
    line: int | None = None
    column: str | None = None
    # An export day folder purge wrote a manifest for.
    layout: str | None = None
    day: str | None = None
    # What purge removed, and what erasures masked.
    purged_at: str | None = None
    retention_days: int | None = None
    purged: list[PurgedFile] | None = None
    erasures: list[Erasure] | None = None

    @classmethod
    def new(cls, **fields: Any) -> Self:
        """A manifest this version writes: every key (nested too) must be one declared here."""
        return cls.model_validate(fields, context={_NEW: True})

    def updated(self, **changes: Any) -> Self:
        """This manifest with `changes` (checked as `new` checks); what it held otherwise stays.

        Entries read from the file may be passed back as the models they were read into: those
        are not checked again, so keys a later version wrote in them are kept.
        """
        checked = type(self).new(**changes)
        return type(self).model_validate(self.as_json() | checked.as_json())

    def as_json(self) -> dict[str, Any]:
        """The keys it was given (and any it did not know), as JSON values."""
        return self.model_dump(mode="json", exclude_unset=True)


def read_manifest(path: Path) -> Manifest:
    """The manifest at `path`; ManifestError when it is not one (OSError when unreadable)."""
    try:
        document = json.loads(path.read_bytes())
    except ValueError as exc:
        raise ManifestError(path, f"unreadable ({exc})") from exc
    if not isinstance(document, dict):
        raise ManifestError(path, "not a JSON object")
    try:
        return Manifest.model_validate(document)
    except ValidationError as exc:
        raise ManifestError(path, f"unreadable ({_first_error(exc)})") from exc


def write_manifest(path: Path, manifest: Manifest) -> None:
    """Write `manifest` at `path` atomically and durably, owner-only."""
    text = json.dumps(manifest.as_json(), indent=2, ensure_ascii=False)
    write_text_atomically(path, text)


def _first_error(exc: ValidationError) -> str:
    """`counts.rows: Input should be a valid integer` and how many more there are."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"
