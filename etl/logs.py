"""Log lines that cannot be forged, turned into terminal commands or name a person.

An order reference, a file name or a reason quoted in a message comes from outside (Norce,
the ERP, a hostile sender). A newline in it would start a fake log line; an escape sequence
would be run by the terminal of whoever reads the log. One filter, installed on every
handler of the root logger by the CLI's logging setup (every process, the receiver
included, starts there), escapes control characters in the rendered message as `\\x1b`,
`\\n`... Tracebacks are left as they are: their line breaks are the log's own.

Our own messages name keys and counts, never people; but a library or a quoted text may. So
the same filter masks what still looks personal (`mask_personal`: e-mail addresses, checked
Nordic identity numbers, written phone numbers), the last line of defence. The libraries that
log request URLs, query strings or bodies are kept to warnings: httpx would log every Query
URL, and the ERP-number write-back looks buyers up by e-mail in the URL.
"""

from __future__ import annotations

import logging

from etl.personal_data import mask_personal
from etl.transport.names import one_line

# Loggers that log URLs (with their query strings), bodies or file paths at INFO or DEBUG.
QUIET_LIBRARIES = ("httpx", "httpcore", "paramiko", "uvicorn.access")


class EscapeControls(logging.Filter):
    """Renders each record's message once, control characters escaped, personal data masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record; its message is rendered, escaped and masked in place."""
        message = record.getMessage()
        escaped = mask_personal(one_line(message))
        if escaped != message or record.args:
            # Rendered now, so a handler formatting it later cannot bring the raw text back.
            record.msg, record.args = escaped, None
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Add the filter to every handler of `logger` (the root logger) that lacks it, and keep
    the libraries that log URLs and bodies to warnings, even with -v."""
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, EscapeControls) for f in handler.filters):
            handler.addFilter(EscapeControls())
