"""A progress line on a terminal, for builds that take more than a moment (SPEC §5).

Shown only on a terminal (stderr isatty, TERM not "dumb"), never with -q, and only once a
build has run for `DELAY` seconds, so quick runs and logs stay as they were. The line
rewrites itself in place ("\\r", then erase to the end of line) and is erased before
anything else is printed.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

DELAY = 0.5  # seconds before the line first appears
INTERVAL = 0.1  # seconds between redraws


class Progress:
    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = _is_terminal(self.stream) and os.environ.get("TERM") != "dumb"
        self.enabled = enabled
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False

    def update(self, what: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < DELAY or (now - self.last < INTERVAL and done < total):
            return
        self.last = now
        self.stream.write(f"\r\033[Kcorofy: {what} {done}/{total} files")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
