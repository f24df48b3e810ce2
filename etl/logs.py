"""Log lines that cannot be forged or turned into terminal commands.

An order reference, a file name or a reason quoted in a message comes from outside (Norce,
the ERP, a hostile sender). A newline in it would start a fake log line; an escape sequence
would be run by the terminal of whoever reads the log. One filter, installed on every
handler of the root logger by the CLI's logging setup (every process, the receiver
included, starts there), escapes control characters in the rendered message as `\\x1b`,
`\\n`... Tracebacks are left as they are: their line breaks are the log's own.
"""

from __future__ import annotations

import logging

from etl.transport.names import one_line


class EscapeControls(logging.Filter):
    """Renders each record's message once, with control characters escaped."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record; its message is rendered and escaped in place."""
        message = record.getMessage()
        escaped = one_line(message)
        if escaped != message or record.args:
            # Rendered now, so a handler formatting it later cannot bring the raw text back.
            record.msg, record.args = escaped, None
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Add the filter to every handler of `logger` (the root logger) that lacks it."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, EscapeControls) for f in handler.filters):
            handler.addFilter(EscapeControls())
