"""The exception tree. Each branch tells the caller what to do next.

    EtlError
    ├── ConfigError          bad settings or contract -> refuse to start, say which key
    ├── TransportError       SFTP connect/auth/IO -> files stay where they are, retry next tick
    │   └── HostKeyRejected  unknown or changed host key -> fix known_hosts, never auto-accept
    ├── FileRejected         whole file unusable -> archive/<feed>/rejected/ + report, never retried
    │   ├── ParseError       not CSV/XML/XLSX, hostile content
    │   │   └── EncodingError    bytes that are not the declared encoding
    │   ├── SchemaMismatch   missing or unexpected columns
    │   └── SuspectFile      more rows rejected than the contract allows: nothing applied
    └── NorceError
        ├── NorceUnavailable 429, 5xx, timeouts -> retry with backoff, then next tick
        └── NorceRejected    other 4xx, job Failed/Validation failed -> run fails, snapshot unchanged

Bad rows are data (see etl.validate), not exceptions; so are removals held by the deletion
guard (a hold in the ledger, released with `run.py approve`). Library exceptions are translated in
exactly one place each: paramiko in etl.transport.sftp, httpx in etl.norce.client.
"""

from __future__ import annotations


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


class ParseError(FileRejected):
    """The file cannot be read as its declared format (syntax, encoding, hostile content)."""

    code = "parse"


class EncodingError(ParseError):
    """The file's bytes are not in the encoding its contract declares."""

    code = "encoding"


class SchemaMismatch(FileRejected):
    """The file's columns do not match the feed contract."""

    code = "missing_column"


class SuspectFile(FileRejected):
    """More of the file's rows failed than `checks.max_rejected_ratio` allows.

    Half a file is worse than none (a price list with half its rows is a price list that
    is wrong), so nothing of it is applied. `rejections` carries the row-level failures
    (a polars frame) so the report can still list every bad cell.
    """

    code = "too_many_rejects"

    def __init__(self, message: str, rejections: object) -> None:
        super().__init__(message)
        self.rejections = rejections


class NorceError(EtlError):
    """Norce Commerce did not accept a call."""


class NorceUnavailable(NorceError):
    """Norce is busy or down (429, 5xx, timeout); retrying later is the right answer."""


class NorceRejected(NorceError):
    """Norce refused the call or the import job failed; the run fails, nothing advances."""
