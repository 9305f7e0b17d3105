"""Print a program again in layouts drawn by hypothesis: SPEC §2.2's "any layout CPython accepts".

``programs.py`` writes each statement on one line, four spaces a level. ``relayout`` takes any
such source (or any other tokenizable module) and prints the same program — the same tokens,
the same string values — in layouts drawn per block, statement, token gap and literal:

- ``breaks``: inside brackets, a line break after any token, often with a comment before it,
  the next line indented anyhow (less than its statement too, or not at all);
- ``backslash``: outside brackets, a backslash continuation after any token;
  ``lone_backslash``: a line holding only ``\\`` before a statement;
- ``suites``: a body of simple statements on its header's line (``if x: return wait(f)``,
  ``while c: x = wait(f)``, ``try: z = wait(a)``, ``def peek(): return a``), and simple
  statements joined with ``;`` (a trailing ``;`` too);
- ``indent``: each block indented by its own unit — spaces, tabs, both;
  ``mixed_indent``: a tab after spaces (CPython accepts it while each block extends its parent's
  indentation);
- ``eol``: CRLF or lone-CR line endings (``"\\n"`` always stands for the chosen one);
- ``strings``: string literals re-quoted, triple-quoted, split by a backslash-newline inside
  a triple-quoted string, split into implicit concatenations, given an ``f`` prefix;
- ``fstrings``: f-strings split into implicit concatenations of f-strings, triple-quoted with
  their fields over several lines;
- ``comments``: comment and blank lines between statements (indented anyhow), trailing comments;
- ``formfeed``: a form feed at the start of a statement's line (before its indentation), or
  alone on a line before it.

Every choice has "as it was" as its simplest option, so hypothesis shrinks a failure towards
the plain layout, leaving only the layout that matters. ``FEATURES`` lists them all;
``laid_out(programs(), features=...)`` picks some.
"""

from __future__ import annotations

import ast
import functools
import io
import sys
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

FEATURES = frozenset(
    {
        "breaks",
        "backslash",
        "lone_backslash",
        "suites",
        "indent",
        "mixed_indent",
        "eol",
        "strings",
        "fstrings",
        "comments",
        "formfeed",
    }
)

_OPEN, _CLOSE = "([{", ")]}"


# The strategies a layout draws from, each made once: a layout takes hundreds of draws, and
# making a strategy anew each time cost about as much as drawing from it.
integers = functools.lru_cache(maxsize=None)(st.integers)
sampled_from = functools.lru_cache(maxsize=1024)(st.sampled_from)
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)
_SKIP = {tokenize.NL, tokenize.COMMENT, tokenize.ENCODING, tokenize.ENDMARKER}
_COMMENTS = ["# note", "#", "# wait(f) in a comment (", "#)]}", "# -*- not: a coding line", "#\t"]
_CONT_INDENT = ["", " ", "\t", "  \t "]
# A backslash continuation: the space before it, then the next line's indentation.
_CONTINUATIONS = [space + "\\\n" + pad for space in (" ", "") for pad in _CONT_INDENT]
_INSIDE_COMMENTS = ["", "  # inside", " #,)"]


@dataclass
class _Tok:
    text: str
    kind: int  # tokenize type (an f-string group counts as STRING)
    gap: str  # whitespace before it in the source, on its line ("" first on a line)


@dataclass
class _Line:
    """One logical line and, for a compound statement's header, its block."""

    toks: list[_Tok]
    children: list[_Line] = field(default_factory=list)

    @property
    def first(self) -> str:
        return self.toks[0].text

    @functools.cached_property  # asked of a line more than once per layout
    def simple(self) -> bool:
        """A simple statement (or several joined by ``;``): one that may follow a colon or
        a ``;``. A compound statement written on one line (``def k(): return 1``) is not."""
        if self.children or self.first == "@" or self.toks[-1].text == ":":
            return False
        try:
            tree = ast.parse(" ".join(t.text for t in self.toks))
        except SyntaxError:  # `else: x` and the like, alone
            return False
        return not any(isinstance(s, _COMPOUND) for s in tree.body)


_COMPOUND = (
    ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.TryStar,
    ast.Match, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
)  # fmt: skip


def _parse(source: str) -> list[_Line]:
    """The logical lines of ``source`` as a tree of blocks (comments dropped)."""
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(pos: tuple[int, int]) -> int:
        return starts[pos[0] - 1] + pos[1]

    root: list[_Line] = []
    stack = [root]
    current: list[_Tok] = []
    prev_end: tuple[int, int] | None = None
    fdepth = 0
    fstart: tuple[int, int] = (0, 0)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if _FSTRING_START is not None and tok.type == _FSTRING_START:
            if fdepth == 0:
                fstart = tok.start
            fdepth += 1
            continue
        if fdepth:
            if tok.type == _FSTRING_END:
                fdepth -= 1
                if fdepth == 0:
                    text = source[offset(fstart) : offset(tok.end)]
                    current.append(
                        _Tok(text, tokenize.STRING, _gap(source, prev_end, fstart, offset))
                    )
                    prev_end = tok.end
            continue
        if tok.type in _SKIP:
            continue
        if tok.type == tokenize.INDENT:
            stack.append(stack[-1][-1].children)
            continue
        if tok.type == tokenize.DEDENT:
            stack.pop()
            continue
        if tok.type == tokenize.NEWLINE:
            if current:
                stack[-1].append(_Line(current))
            current, prev_end = [], None
            continue
        current.append(_Tok(tok.string, tok.type, _gap(source, prev_end, tok.start, offset)))
        prev_end = tok.end
    return root


def _gap(
    source: str,
    prev_end: tuple[int, int] | None,
    start: tuple[int, int],
    offset: Callable[[tuple[int, int]], int],
) -> str:
    if prev_end is None:
        return ""
    if prev_end[0] != start[0]:
        return " "
    return source[offset(prev_end) : offset(start)]


class _Printer:
    def __init__(self, draw: Any, features: frozenset[str]) -> None:
        self.draw = draw
        self.on = features
        self.out: list[str] = []  # physical lines, "\n" for the line end still to choose

    # -- draws: the first option is always "as it was" ------------------------------------

    def pick(self, feature: str, options: list[Any]) -> Any:
        if feature not in self.on or len(options) == 1:
            return options[0]
        return self.draw(sampled_from(tuple(options)))

    def options(self, feature: str, options: list[Any]) -> list[Any]:
        """``options``, or only the first ("as it was") when ``feature`` is off."""
        return options if feature in self.on else options[:1]

    def rarely(self, feature: str, weight: int, options: list[Any]) -> Any:
        """None about ``weight`` times in ``1 + weight``, else one of ``options``: a
        ``chance`` and a ``pick`` in one draw (a gap between tokens is drawn hundreds of
        times a layout; None shrinks simplest, then the first option)."""
        if feature not in self.on:
            return None
        drawn = self.draw(integers(0, (weight + 1) * len(options) - 1))
        return None if drawn < weight * len(options) else options[drawn - weight * len(options)]

    def chance(self, feature: str, weight: int = 1) -> bool:
        """Yes once in about ``1 + weight``... draws; "no" shrinks simplest."""
        if feature not in self.on:
            return False
        return self.draw(integers(0, weight)) == weight

    # -- blocks and statements -----------------------------------------------------------

    def block(self, lines: list[_Line], indent: str) -> None:
        index = 0
        while index < len(lines):
            line = lines[index]
            self.between(indent)
            if line.children:
                self.compound(line, indent)
                index += 1
                continue
            group = [line]
            while (
                line.simple
                and index + len(group) < len(lines)
                and lines[index + len(group)].simple
                and self.chance("suites", 3)
            ):
                group.append(lines[index + len(group)])
            self.statements(group, indent)
            index += len(group)

    def between(self, indent: str) -> None:
        while self.chance("comments", 4):
            pad = self.pick("comments", [indent, "", " ", "\t", indent + "        "])
            self.out.append(pad + self.pick("comments", ["", *_COMMENTS]) + "\n")
        # A line holding only a backslash: CPython takes the next line's first token as the
        # statement's, at this line's indentation, but refuses it (TabError) when that
        # indentation holds a tab, and may count the next line's own indentation (at the
        # module level ``\\`` then ``\tdef`` is an "unexpected indent"): none there.
        # A form feed at a line's start: CPython counts the indentation after it (not after
        # a lone backslash, which makes the next line part of its own).
        if self.chance("formfeed", 5):
            if self.chance("formfeed", 1):
                self.out.append("\f\n")
            indent = "\f" + indent
        elif "\t" not in indent and self.chance("lone_backslash", 8):
            self.out.append(indent + "\\\n")
            indent = ""
        self._indent_next = indent

    _indent_next = ""

    def compound(self, line: _Line, indent: str) -> None:
        one_line = (
            line.first != "match"
            and all(child.simple for child in line.children)
            and self.chance("suites", 2)
        )
        if one_line:
            toks = list(line.toks)
            for number, child in enumerate(line.children):
                toks += self.joined(child, first=number == 0)
            self.logical(toks, indent, trailing_semicolon=True)
            return
        self.logical(line.toks, indent)
        unit = self.pick("indent", ["    ", "\t", "  ", " ", "\t ", "        "])
        if indent and indent[-1] == " " and self.chance("mixed_indent", 1):
            unit = "\t"
        self.block(line.children, indent + unit)

    def statements(self, group: list[_Line], indent: str) -> None:
        toks = list(group[0].toks)
        for child in group[1:]:
            toks += self.joined(child, first=False)
        self.logical(toks, indent, trailing_semicolon=group[0].first != "@")

    def joined(self, line: _Line, first: bool) -> list[_Tok]:
        """``line``'s tokens to follow a suite's colon (``first``) or a ``;`` on one line."""
        lead = [] if first else [_Tok(";", tokenize.OP, self.pick("suites", ["", " "]))]
        head = _Tok(line.toks[0].text, line.toks[0].kind, self.pick("suites", [" ", ""]))
        if first:
            head.gap = " "
        return [*lead, head, *line.toks[1:]]

    # -- one logical line -----------------------------------------------------------------

    def logical(self, toks: list[_Tok], indent: str, trailing_semicolon: bool = False) -> None:
        toks = self.literals(toks)
        text = self._indent_next + self.tokens(toks, indent, in_field=False)
        if trailing_semicolon and self.chance("suites", 6):
            text += ";"
        if self.chance("comments", 4):
            text += self.pick("comments", ["  # trailing", "#(", "\t# wait(x)"])
        self.out.append(text + "\n")

    def tokens(self, toks: list[_Tok], indent: str, in_field: bool) -> str:
        """The tokens with breaks drawn between them (``in_field``: inside an f-string's
        field, where 3.11 allows neither comments nor backslashes)."""
        broken = self.chance("breaks", 1) or self.chance("backslash", 3)
        parts: list[str] = []
        depth = 1 if in_field else 0
        for number, tok in enumerate(toks):
            if number:
                parts.append(self.gap(tok.gap, depth, indent, broken, in_field))
            parts.append(tok.text)
            if tok.text in _OPEN and tok.kind == tokenize.OP:
                depth += 1
            elif tok.text in _CLOSE and tok.kind == tokenize.OP:
                depth -= 1
        return "".join(parts)

    def gap(self, original: str, depth: int, indent: str, broken: bool, in_field: bool) -> str:
        if not broken:
            return original
        if depth > 0:
            comments = [""] if in_field else self.options("comments", _INSIDE_COMMENTS)
            pads = self.options("breaks", [indent + "    ", "", " ", indent, "\t"])
            drawn = self.rarely("breaks", 1, [c + "\n" + pad for c in comments for pad in pads])
        else:
            drawn = None if in_field else self.rarely("backslash", 2, _CONTINUATIONS)
        return original if drawn is None else drawn

    # -- literals --------------------------------------------------------------------------

    def literals(self, toks: list[_Tok]) -> list[_Tok]:
        if toks[0].text == "case":  # patterns take neither f-strings nor all concatenations
            return toks
        out: list[_Tok] = []
        for number, tok in enumerate(toks):
            if tok.kind != tokenize.STRING:
                out.append(tok)
                continue
            pieces = self.fstring(tok.text) or self.string(tok.text, may_f=number > 0)
            out.append(_Tok(pieces[0], tokenize.STRING, tok.gap))
            out += [_Tok(piece, tokenize.STRING, " ") for piece in pieces[1:]]
        return out

    def string(self, text: str, may_f: bool) -> list[str]:
        """A plain string literal as one or more literals of the same value."""
        if "strings" not in self.on or text[:1] not in "'\"" or "\\" in text:
            return [text]
        value = ast.literal_eval(text)
        if not isinstance(value, str) or any(c in value for c in "'\"{}\r\n\\"):
            return [text]
        how = self.pick("strings", ["same", "quote", "triple", "continued", "concat", "f"])
        if how == "f" and not may_f:  # an f-string is never a docstring
            how = "same"
        if how in ("continued", "concat") and len(value) < 2:
            how = "triple"
        if how == "same":
            return [text]
        quote = self.pick("strings", ["'", '"'])
        if how == "quote":
            return [quote + value + quote]
        if how == "f":
            return ["f" + quote + value + quote]
        if how == "triple":
            return [quote * 3 + value + quote * 3]
        cut = self.draw(integers(1, len(value) - 1))
        if how == "continued":  # a backslash-newline inside a string is no character
            # An f-string too (3.12 tokenizes it otherwise: its second line is in it all the same).
            prefix = self.pick("strings", ["", "f"]) if may_f else ""
            return [prefix + quote * 3 + value[:cut] + "\\\n" + value[cut:] + quote * 3]
        other = self.pick("strings", ["'", '"', "'''", "f'"])
        return [quote + value[:cut] + quote, other + value[cut:] + other.lstrip("f")]

    def fstring(self, text: str) -> list[str] | None:
        """An f-string as an implicit concatenation of f-strings (fields over several lines
        in triple-quoted ones), or None when ``text`` is not a simple f-string."""
        if "fstrings" not in self.on or text[:1] not in "fF" or text[1:2] not in "'\"":
            return None
        quote = text[1]
        if text[1:4] == quote * 3 or "\\" in text:
            return None
        parts = _fstring_parts(text[2:-1])
        if parts is None:
            return None
        chunks: list[list[tuple[bool, str]]] = [[]]
        for part in parts:
            if chunks[-1] and self.chance("fstrings", 1):
                chunks.append([])
            chunks[-1].append(part)
        out = []
        for chunk in chunks:
            q = self.pick("fstrings", [quote, "'", '"', "'''", '"""'])
            body = []
            for is_field, piece in chunk:
                if not is_field:
                    body.append(piece)
                    continue
                inner = piece
                if len(q) == 3 and self.chance("fstrings", 1):  # fields over several lines
                    toks = _expression_tokens(piece)
                    if toks is not None:
                        inner = "\n" + self.tokens(toks, "", in_field=True) + "\n"
                body.append("{" + (" " if inner.startswith("{") else "") + inner + " }")
            prefix = (
                "f" if any(is_field for is_field, _ in chunk) or self.chance("fstrings") else ""
            )
            out.append(prefix + q + "".join(body) + q)
        return out


def _fstring_parts(body: str) -> list[tuple[bool, str]] | None:
    """``body`` as (is_field, text) parts; None for fields with quotes, conversions, specs."""
    parts: list[tuple[bool, str]] = []
    literal = ""
    i = 0
    while i < len(body):
        c = body[i]
        if body[i : i + 2] in ("{{", "}}"):
            literal += body[i : i + 2]
            i += 2
            continue
        if c == "}":
            return None
        if c != "{":
            literal += c
            i += 1
            continue
        depth, j = 1, i + 1
        while j < len(body) and depth:
            if body[j] in _OPEN:
                depth += 1
            elif body[j] in _CLOSE:
                depth -= 1
            elif depth == 1 and (body[j] in "'\"#\\:" or body[j : j + 2] in ("!r", "!s", "!a")):
                return None
            j += 1
        if depth:
            return None
        if literal:
            parts.append((False, literal))
            literal = ""
        field_text = body[i + 1 : j - 1]
        if field_text.strip().endswith("=") or any(q in field_text for q in "'\"#\\"):
            return None
        parts.append((True, field_text.strip()))
        i = j
    if literal:
        parts.append((False, literal))
    return parts


def _expression_tokens(text: str) -> list[_Tok] | None:
    lines = _parse(f"({text})\n")
    if len(lines) != 1:
        return None
    toks = lines[0].toks[1:-1]
    if any(tok.kind == tokenize.STRING for tok in toks):
        return None
    return toks


def relayout(draw: Any, source: str, features: Iterable[str] = FEATURES) -> str:
    """``source`` printed again in layouts chosen by ``draw`` (same tokens, same values)."""
    chosen = frozenset(features)
    unknown = chosen - FEATURES
    if unknown:
        raise ValueError(f"unknown layout features: {sorted(unknown)}")
    printer = _Printer(draw, chosen)
    printer.block(_parse(source), "")
    text = "".join(printer.out)
    eol = printer.pick("eol", ["\n", "\r\n", "\r"])
    return text.replace("\n", eol)


def laid_out(
    sources: st.SearchStrategy[str], features: Iterable[str] = FEATURES
) -> st.SearchStrategy[str]:
    """Each source ``sources`` draws, printed again in layouts drawn with it."""
    chosen = frozenset(features)

    @st.composite
    def strategy(draw: Any) -> str:
        return relayout(draw, draw(sources), chosen)

    return strategy()


def shown(source: str) -> str:
    """``source`` readable in a failure report: its line ends and tabs made visible."""
    eol = "CRLF" if "\r\n" in source else "CR" if "\r" in source else "LF"
    visible = source.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "→   ")
    return f"(line ends: {eol}; tabs shown as →)\n{visible}"


if __name__ == "__main__":  # print a few examples: python3 tests/transform/layouts.py
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from programs import programs

    for example in [laid_out(programs()).example() for _ in range(3)]:
        print(shown(example))
