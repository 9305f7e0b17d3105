"""Lines of generated code, each with the original line it came from.

``Writer`` collects the lines of a wrapper, a class or a resume function at an indentation
level, and for each the line of user source it was printed from (0: generated), which the
line map and tracebacks use. User code keeps its own text: a statement written over several
lines is re-indented line by line, except the lines that start inside a string literal
(re-indenting those would change the string).
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Collection

from corofy.transform.ir import Raw

BREAKS = re.compile(r"\r\n|\r|\n")
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


def leading_lines_dropped(text: str, n: Raw) -> tuple[str, int]:
    """A compound statement's printed text without the blank lines around it, and the
    original line of its first line: its leading lines (blank and comment lines, printed
    with it) start that many lines above the statement, less the blank ones dropped."""
    body = text.lstrip("\r\n")
    dropped = len(BREAKS.findall(text[: len(text) - len(body)]))
    lead = len(n.stmt.leading_lines) if hasattr(n.stmt, "leading_lines") else 0
    return body.rstrip("\r\n"), n.line - lead + dropped


def one_line(text: str) -> str:
    """``text`` (source written over several lines) on one line, for a comment: each line
    break and the indentation after it become one space. Python ends a comment at any of
    ``\n``, ``\r\n`` or a lone ``\r``."""
    if "\n" not in text and "\r" not in text:
        return text
    return " ".join(part.strip() for part in BREAKS.split(text)).strip()


def string_lines(text: str) -> set[int]:
    """Lines (1-based) of ``text`` that start inside a string literal: never re-indent them."""
    if '"""' not in text and "'''" not in text and "\\\n" not in text:
        return set()
    inside: set[int] = set()
    fstrings = 0  # f-strings open (3.12+ tokenizes an f-string as FSTRING_START ... END)
    first = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == _FSTRING_START:
                fstrings += 1
                first = tok.start[0] if fstrings == 1 else first
            elif tok.type == _FSTRING_END:
                fstrings -= 1
                if not fstrings:  # its lines after the first, fields' lines too, as 3.11
                    inside.update(range(first + 1, tok.end[0] + 1))
            elif tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return inside


class Writer:
    def __init__(self, unit: str, base: str = "") -> None:
        self.unit = unit
        self.base = base
        self.prefix = base  # base + unit * level
        self._level = 0
        self.lines: list[str] = []
        self.origin: list[int] = []

    @property
    def level(self) -> int:
        return self._level

    @level.setter
    def level(self, level: int) -> None:
        self._level = level
        self.prefix = self.base + self.unit * level

    def line(self, text: str, origin: int = 0) -> None:
        if "\n" in text or "\r" in text:  # user code over several lines
            self.text(text, origin, exact=False)
            return
        self.lines.append(self.prefix + text if text else "")
        self.origin.append(origin)

    def text(self, text: str, origin: int = 0, exact: bool = True) -> None:
        """Several lines of code; ``exact``: line k of it came from ``origin + k``."""
        prefix = self.prefix
        if "\r" in text:  # a line ends at \r\n or \r too: one style inside generated code
            text = BREAKS.sub("\n", text)
        parts = text.split("\n")
        if not prefix and all(part.strip() or not part for part in parts):
            skip: Collection[int] = ()  # nothing to indent, no blank line to empty
        else:
            skip = string_lines(text) if len(parts) > 1 else ()
        for k, part in enumerate(parts, 1):
            if k in skip:
                self.lines.append(part)
            else:
                self.lines.append(prefix + part if part.strip() else "")
            self.origin.append(origin + (k - 1 if exact else 0) if origin else 0)
