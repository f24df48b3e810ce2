"""One log line per kind of event and time window, however often the event repeats.

A flood of hostile connections (or a process out of file descriptors, where asyncio retries
`accept()` and reports every failure) would otherwise write the same line thousands of times
a second and fill the disk. The first occurrence of a kind is logged at once; repeats within
the window are counted and logged as one line with the count when the window ends.
"""

from __future__ import annotations

import asyncio
import logging


class RepeatedLog:
    """Logs each kind of event once per `window` seconds, then how many more came."""

    def __init__(self, logger: logging.Logger, window: float = 60.0) -> None:
        self.logger = logger
        self.window = window
        self._repeats: dict[str, int] = {}

    def report(self, level: int, message: str) -> None:
        """Log `message` now, or count it if it was already logged in this window.

        Runs on the event loop thread: the end of the window is a timer on that loop.
        """
        if message in self._repeats:
            self._repeats[message] += 1
            return
        self._repeats[message] = 0
        self.logger.log(level, message)
        asyncio.get_running_loop().call_later(self.window, self._close_window, level, message)

    def _close_window(self, level: int, message: str) -> None:
        count = self._repeats.pop(message, 0)
        if count:
            self.logger.log(
                level, "%s (%d more times in the last %g s)", message, count, self.window
            )
