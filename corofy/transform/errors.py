"""The one error the transform raises: a refusal or a syntax error, with its position."""

from __future__ import annotations


class CorofyError(Exception):
    """A source corofy cannot (or will not) rewrite, at a 1-based line and column.

    ``str()`` reads ``path:line:col: error: message``, as compilers and linters print it.
    """

    def __init__(self, filename: str, line: int, col: int, message: str) -> None:
        self.filename = filename
        self.line = line
        self.col = col
        self.message = message
        super().__init__(f"{filename}:{line}:{col}: error: {message}")
