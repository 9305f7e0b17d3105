"""Any layout CPython accepts, as a text libcst reads: the same lines, the same program.

libcst reads nearly every layout exactly, but a few it cannot read, or reads as other text:

- a line holding only a backslash before a statement: libcst drops the line (every position
  after it is then off by one, and a statement after it may land in another block), or fails
  when the line opens a block;
- indentation with a tab after spaces, or a form feed, which libcst's tokenizer counts
  otherwise than CPython's;
- ``except E \\`` with the ``:`` on the next line: libcst's ``ExceptHandler`` without ``as``
  keeps no whitespace before its colon, so it prints ``except E:``;
- a line break (and a comment) inside brackets after the ``**`` of a mapping pattern
  (``case {**`` then ``rest}`` on the next line): libcst's ``MatchMapping`` keeps plain
  whitespace there, so it prints ``{**rest}`` on one line; after the ``async`` of an async
  comprehension (in an ``async def`` of the file), libcst fails with an AttributeError.

For such a file, ``readable`` writes an equivalent text libcst reads exactly, changing only
what it must: lone-backslash lines become blank lines (the statement after them indented as
CPython takes it), indentation becomes spaces, column for column as CPython counts it, and a
logical line libcst misreads gets its backslash continuations joined, with as many blank
lines after it, and each line break after a ``**`` or an ``async`` made a backslash
continuation (a comment before it is dropped from the text: the source keeps it). Every line keeps its number, so a node's line in the text is its line in the
source; ``Readable.offset`` maps any other position back. The transform parses the text and
splices its output into the source, which stays byte for byte outside coroutines.

Facts of CPython's tokenizer (``Parser/tokenizer.c``, 3.11 to 3.13) this relies on:

- Only the first physical line of a logical line has indentation. A tab moves the column to
  the next multiple of 8, a form feed resets it; blocks are compared by that column (and by
  the column counting a tab as 1, which must agree, else ``TabError``). So spaces alone, as
  many as the column, make the same blocks.
- A line holding only whitespace and ``\\`` where a logical line starts continues onto the
  next line: the indentation is the column at the first such backslash that is not at column
  0 (``cont_line_col``); when all are at column 0, the column counted on through the
  whitespace of the lines after them, up to the first token.
- A backslash-newline between two tokens is whitespace, inside brackets too, where a line
  break or a comment is whitespace as well.

The text is checked, not trusted: it must parse (``ast``) to the very tree of the source,
and libcst must print it back unchanged; otherwise ``readable`` gives up (None).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from bisect import bisect_right
from dataclasses import dataclass, field

import libcst as cst

_BREAK = re.compile(r"\r\n|\r|\n")
# A line holding only whitespace and a backslash (in a string too: ``lone_backslash`` tells).
MAY_HAVE_LONE_BACKSLASH = re.compile(r"(?:^|(?<=[\r\n]))[ \t\f]*\\(?:\r\n|\r|\n)", re.M)
_TAB = 8
# Before these a joined continuation needs no space (libcst keeps none before an except's
# ``:``), and nothing they end can be glued to what comes before them.
_CLOSING = frozenset({":", ",", ";", ")", "]", "}"})
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


@dataclass(frozen=True)
class _Edit:
    """Source ``start:end`` written as ``text``; a position inside ``text`` maps to ``start``."""

    start: int
    end: int
    text: str


@dataclass
class _Logical:
    """A logical line: its first row, its backslash continuations (source offsets of each
    gap between two tokens, and the text to put there), and where its last line ends."""

    row: int
    after: int  # the row of the last token before it (0 for none)
    gaps: list[tuple[int, int, str]] = field(default_factory=list)
    # Line breaks (with comments) inside brackets after a token libcst misreads them after
    # (_MISREAD_AFTER): source offsets of what is between that token and the next one, and
    # that written with backslash continuations.
    misread_breaks: list[tuple[int, int, str]] = field(default_factory=list)
    last_row: int = 0
    end: int = 0


class Readable:
    """``text``, a layout of ``source`` libcst reads, and the way back to the source."""

    def __init__(
        self, source: str, edits: list[_Edit], indents: dict[int, str], lone: bool = False
    ) -> None:
        self.source = source
        self._indents = indents
        # Lines holding only a backslash before a statement were made blank: libcst never
        # reads such a source as written (it drops the line, or fails).
        self.lone_backslash = lone
        pieces: list[str] = []
        # Where each piece starts in the text, where it came from, and whether it was copied
        # (a position in a copied piece maps column for column).
        self._starts: list[int] = []
        self._origins: list[tuple[int, bool]] = []
        at = pos = 0
        for edit in edits:
            for start, text, copied in (
                (pos, source[pos : edit.start], True),
                (edit.start, edit.text, False),
            ):
                if text:
                    self._starts.append(at)
                    self._origins.append((start, copied))
                    pieces.append(text)
                    at += len(text)
            pos = edit.end
        if pos < len(source) or not self._starts:
            self._starts.append(at)
            self._origins.append((pos, True))
            pieces.append(source[pos:])
        self.text = "".join(pieces)
        self._source_lines = _line_starts(source)
        self._text_lines = _line_starts(self.text)

    def offset(self, at: int) -> int:
        """The source offset of text offset ``at``: in what was rewritten, where the rewrite
        starts (a blank line that stood for a lone backslash maps to the backslash's line)."""
        index = bisect_right(self._starts, at) - 1
        if index and at == self._starts[index] and not self._origins[index - 1][1]:
            # Just after a rewrite: a line it starts (the statement after lone backslashes,
            # indented nothing) is the rewrite's too, with the lines before it.
            before = self._starts[index - 1]
            if self.text[before:at].endswith(("\n", "\r")):
                index -= 1
        start, copied = self._origins[index]
        return start + (at - self._starts[index]) if copied else start

    def position(self, line: int, column: int) -> tuple[int, int]:
        """The source line and column (1-based line, 0-based column) of a text position."""
        line = min(line, len(self._text_lines))
        at = self.offset(self._text_lines[line - 1] + column)
        row = bisect_right(self._source_lines, at)
        return row, at - self._source_lines[row - 1]

    def lines(self, first: int, last: int) -> list[tuple[str, str]]:
        """Lines ``first`` to ``last`` (1-based), each with its line end, as the source and
        as the text write them."""

        def cut(text: str, starts: list[int], row: int) -> str:
            return text[starts[row - 1] : starts[row] if row < len(starts) else len(text)]

        return [
            (cut(self.source, self._source_lines, row), cut(self.text, self._text_lines, row))
            for row in range(first, last + 1)
        ]

    def indent(self, line: int, text_indent: str) -> str:
        """The indentation, as the source writes it, of the logical line that starts on
        ``line`` and is indented ``text_indent`` in the text: generated code put in its place
        must be indented the same way, or CPython's tab check would refuse it."""
        return self._indents.get(line, text_indent)


def readable(source: str) -> tuple[Readable, cst.Module] | None:
    """A layout of ``source`` that libcst reads exactly, and libcst's module of it; None
    when none is found."""
    try:
        lines, logical = _logical_lines(source)
    except (SyntaxError, tokenize.TokenError, IndentationError):
        return None
    edits, indents, lone = _indentation(source, lines, logical)
    joined: set[int] = set()
    try:
        expected = ast.dump(ast.parse(source))
    except (SyntaxError, ValueError):
        return None
    while True:
        result = Readable(
            source, sorted(edits + _joins(source, logical, joined), key=_order), indents, lone
        )
        if result.text != source:
            try:
                same = ast.dump(ast.parse(result.text)) == expected
            except (SyntaxError, ValueError):
                same = False
            if not same:
                return None
        try:
            module = cst.parse_module(result.text)
        except cst.ParserSyntaxError as exc:
            bad = exc.raw_line
        except RecursionError:
            raise
        except Exception:  # libcst itself failed (an async comprehension's line break)
            # No line to go by: rewrite every line break libcst may misread, at once.
            more = {k for k, x in enumerate(logical) if x.misread_breaks} - joined
            if not more:
                return None
            joined |= more
            continue
        else:
            if reads_as_written(module, result.text):
                return result, module
            bad = _first_difference(result.text, module.code)
        # Join the backslash continuations of the logical line libcst misreads (lines keep
        # their numbers in the text), and try again.
        found = next(
            (
                k
                for k, x in enumerate(logical)
                if x.row <= bad <= x.last_row and (x.gaps or x.misread_breaks)
            ),
            None,
        )
        if found is None or found in joined:
            return None
        joined.add(found)


def spaced(source: str) -> str:
    """``source`` with every logical line indented with spaces as CPython counts its
    indentation and lone-backslash lines blank: the same program on the same lines, whose
    blocks a plain change of indentation cannot break (``source`` itself when tokenize
    cannot read it)."""
    try:
        lines, logical = _logical_lines(source)
    except (SyntaxError, tokenize.TokenError, IndentationError):
        return source
    edits, indents, _ = _indentation(source, lines, logical)
    return Readable(source, edits, indents).text if edits else source


def reads_as_written(module: cst.Module, text: str) -> bool:
    """Does libcst print ``module``, which it parsed from ``text``, back as ``text``?"""
    printed = module.code
    # libcst leaves out the last line end of a file whose line ends are lone \r.
    if not module.has_trailing_newline and not printed.endswith(("\n", "\r")):
        printed += module.default_newline if text.endswith(("\n", "\r")) else ""
    return printed == text


def _first_difference(text: str, printed: str) -> int:
    ours, theirs = _BREAK.split(text), _BREAK.split(printed)
    return next((k for k, (a, b) in enumerate(zip(ours, theirs), 1) if a != b), len(ours))


def _order(edit: _Edit) -> tuple[int, int]:
    return edit.start, edit.end


def _line_starts(text: str) -> list[int]:
    return [0, *(match.end() for match in _BREAK.finditer(text))]


def _logical_lines(source: str) -> tuple[list[int], list[_Logical]]:
    """The source's line starts and its logical lines, as Python's tokenize reads them."""
    starts = _line_starts(source)
    # CPython reads \r\n and a lone \r as \n; columns stay the same.
    plain = _BREAK.sub("\n", source)

    def offset(pos: tuple[int, int]) -> int:
        return starts[pos[0] - 1] + pos[1]

    logical: list[_Logical] = []
    current: _Logical | None = None
    previous: tokenize.TokenInfo | None = None
    fstrings = 0
    misread_after: tokenize.TokenInfo | None = None  # a token of _MISREAD_AFTER, just read
    for tok in tokenize.generate_tokens(io.StringIO(plain).readline):
        kind = tok.type
        if kind in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        if misread_after is not None and kind not in (tokenize.NL, tokenize.COMMENT):
            if current is not None and tok.start[0] > misread_after.end[0]:
                start, end = offset(misread_after.end), offset(tok.start)
                text = _BREAK_AFTER.sub(_as_continuation, source[start:end])
                current.misread_breaks.append((start, end, text))
            misread_after = None
        if (kind, tok.string) in _MISREAD_AFTER and not fstrings:
            misread_after = tok
        if current is None:
            if kind in (tokenize.NL, tokenize.COMMENT, tokenize.NEWLINE):
                previous = tok
                continue
            current = _Logical(tok.start[0], previous.end[0] if previous else 0)
            logical.append(current)
        elif (
            not fstrings
            and previous is not None
            and previous.type not in (tokenize.NL, tokenize.NEWLINE)
            and previous.end[0] < tok.start[0]
        ):
            text = tok.string if kind != tokenize.NEWLINE else ""
            joiner = "" if text in _CLOSING or not text else " "
            current.gaps.append((offset(previous.end), offset(tok.start), joiner))
        if kind == _FSTRING_START:
            fstrings += 1
        elif kind == _FSTRING_END:
            fstrings -= 1
        if kind == tokenize.NEWLINE:
            current.last_row = tok.start[0]
            current.end = starts[tok.start[0]] if tok.start[0] < len(starts) else len(source)
            current = None
        previous = tok
    if current is not None:  # no NEWLINE token at the end of the file
        current.last_row, current.end = len(starts), len(source)
    return starts, logical


def _indentation(
    source: str, starts: list[int], logical: list[_Logical]
) -> tuple[list[_Edit], dict[int, str], bool]:
    """Edits that indent each logical line with spaces as CPython counts its indentation
    (lone-backslash lines before it made blank), the source's own indentation of the
    lines whose indentation changed, and whether there were lone-backslash lines."""
    edits: list[_Edit] = []
    indents: dict[int, str] = {}
    lone_lines = False

    def line(row: int) -> str:
        end = starts[row] if row < len(starts) else len(source)
        return source[starts[row - 1] : end]

    for item in logical:
        row = first = item.row
        while first - 1 > item.after and line(first - 1).strip(" \t\f\r\n") == "\\":
            first -= 1
        col = cont = 0
        lone = [line(k) for k in range(first, row)]
        for text in [*lone, line(row)]:
            for char in text:
                if char == " ":
                    col += 1
                elif char == "\t":
                    col = (col // _TAB + 1) * _TAB
                elif char == "\f":
                    col = 0
                else:
                    if char == "\\":
                        cont = cont or col
                    break
        own = line(row)
        own = own[: len(own) - len(own.lstrip(" \t\f"))]
        if cont:
            col = cont
        new = " " * col
        lone_lines = lone_lines or first < row
        if first == row and new == own:
            continue
        blank = "".join(text[len(text.rstrip("\r\n")) :] for text in lone)
        edits.append(_Edit(starts[first - 1], starts[row - 1] + len(own), blank + new))
        indents[row] = new if cont else own
    return edits, indents, lone_lines


def _joins(source: str, logical: list[_Logical], joined: set[int]) -> list[_Edit]:
    """The backslash continuations of the logical lines ``joined`` joined, and after each
    of those lines as many blank lines as it lost line breaks; their line breaks after a
    ``**`` or an ``async`` made backslash continuations (the lines stay)."""
    edits: list[_Edit] = []
    for index in sorted(joined):
        item = logical[index]
        breaks: list[str] = []
        for start, end, text in item.misread_breaks:
            edits.append(_Edit(start, end, text))
        for start, end, joiner in item.gaps:
            if any(s <= start < e for s, e, _ in item.misread_breaks):
                continue  # a backslash continuation in one of those: kept as a line break
            edits.append(_Edit(start, end, joiner))
            breaks += [m.group() for m in _BREAK.finditer(source[start:end])]
        edits.append(_Edit(item.end, item.end, "".join(breaks)))
    return edits


# Tokens libcst misreads a line break after (inside brackets): a mapping pattern's ``**``
# (taken for plain whitespace) and an async comprehension's ``async`` (AttributeError).
_MISREAD_AFTER = frozenset({(tokenize.OP, "**"), (tokenize.NAME, "async")})
# Each line end between such a token and the token after it, with what stands before it on
# its line after the token (spaces, a comment, a backslash).
_BREAK_AFTER = re.compile(r"[ \t\f]*(?:\\|#[^\r\n]*)?(\r\n|\r|\n)")


def _as_continuation(match: re.Match[str]) -> str:
    return " \\" + match.group(1)
