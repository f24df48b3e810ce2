"""The exception tree. Each branch tells the caller what to do next.

    EtlError
    ├── ConfigError          bad settings or contract -> refuse to start, say which key
    ├── TransportError       SFTP connect/auth/IO -> files stay where they are, retry next tick
    │   └── HostKeyRejected  unknown or changed host key -> fix known_hosts, never auto-accept
    ├── FileRejected         whole file unusable -> archive/<feed>/rejected/ + report, never retried
    │   ├── ParseError       not CSV/XML/XLSX, hostile content
    │   │   └── EncodingError    bytes that are not the declared encoding
    │   ├── SchemaMismatch   missing or unexpected columns
    │   ├── Truncated        trailer missing, or its count or control sum disagrees
    │   └── SuspectFile      more rows rejected than the contract allows: nothing applied
    └── NorceError
        ├── NorceUnavailable 429, 5xx, timeouts -> retry with backoff, then next tick
        └── NorceRejected    other 4xx, job Failed/Validation failed -> run fails, snapshot unchanged

Bad rows are data (see etl.read.validate), not exceptions; so are removals held by the deletion
guard (a hold in the ledger, released with `run.py approve`). Library exceptions are translated in
exactly one place each: paramiko in etl.transport.sftp, httpx in etl.norce.client.

A Rust panic in Polars (pyo3's PanicException) derives from BaseException, so `except
Exception` lets it by and it would end the process: where a bug is caught (a feed's run,
a job), UNEXPECTED is caught instead, and a job re-raises the panic as Panicked.
"""

from __future__ import annotations

from polars.exceptions import PanicException

UNEXPECTED: tuple[type[BaseException], ...] = (Exception, PanicException)


class EtlError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(EtlError):
    """Settings or a feed contract are wrong; the process must not start."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        super().__init__(f"{source}: {key}: {problem}")


class TransportError(EtlError):
    """The file store could not be reached or read; nothing moved, retry later."""


class HostKeyRejected(TransportError):
    """The SFTP server's host key is unknown or does not match the pinned one."""


class FileRejected(EtlError):
    """The whole file is unusable; it is archived as rejected and never retried."""

    code = "file"

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None) -> None:
        self.line = line
        self.column = column
        where = "".join(
            [f", line {line}" if line is not None else "", f", column {column!r}" if column else ""]
        )
        super().__init__(f"{message}{where}")


class Quarantined(FileRejected):
    """The process died while reading this file, again: it is set aside so the feed goes on."""

    code = "quarantined"


class ParseError(FileRejected):
    """The file cannot be read as its declared format (syntax, encoding, hostile content)."""

    code = "parse"


class EncodingError(ParseError):
    """The file's bytes are not in the encoding its contract declares."""

    code = "encoding"


class SchemaMismatch(FileRejected):
    """The file's columns do not match the feed contract."""

    code = "missing_column"


class Truncated(FileRejected):
    """The file's trailer is missing, or its record count or control sum disagrees.

    The file was cut short (or cannot be shown complete); applying it as a full export
    would deactivate whatever the missing part held. The message names the trailer's
    line itself, so `line` is kept for reports without being appended again.
    """

    code = "truncated"

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class SuspectFile(FileRejected):
    """More of the file's rows failed than `checks.max_rejected_ratio` allows.

    Half a file is worse than none (a price list with half its rows is a price list that
    is wrong), so nothing of it is applied. `rejections` carries the row-level failures
    (a polars frame) so the report can still list every bad cell, `rows_read` how many
    rows the file had, and `parts` the files of a zip of several (etl.models.Part).
    """

    code = "too_many_rejects"

    def __init__(
        self,
        message: str,
        rejections: object,
        *,
        rows_read: int | None = None,
        parts: tuple[object, ...] = (),
    ) -> None:
        super().__init__(message)
        self.rejections = rejections
        self.rows_read = rows_read
        self.parts = parts


class NorceError(EtlError):
    """Norce Commerce did not accept a call."""


class NorceUnavailable(NorceError):
    """Norce is busy or down (429, 5xx, timeout); retrying later is the right answer."""


class NorceRejected(NorceError):
    """Norce refused the call or the import job failed; the run fails, nothing advances.

    An HTTP refusal carries its `status` and Norce's own message (`detail`), so a caller
    can tell "this order is unknown" from "this body is wrong".
    """

    def __init__(
        self, message: str, *, status: int | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class Panicked(Exception):
    """A library panicked (a Rust assertion in Polars): a bug, handled as any other."""
