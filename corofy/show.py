"""`corofy show`: the generated state machines, to read; coloured on a terminal."""

from __future__ import annotations

import ast
import io
import keyword
import re
import textwrap
import tokenize
from collections.abc import Sequence
from typing import Any

# ANSI SGR codes per token kind; plain text when the output is not a terminal. Theme-safe:
# only mid-luminance hues (red, green, magenta, cyan) and bold/underline of the terminal's own
# foreground, never white, black, yellow, blue or dim, which vanish on a light or dark theme.
_STYLE = {
    "keyword": "1;35",
    "string": "32",
    "comment": "36",
    "number": "31",
    "definition": "1;4",
    "builtin": "35",
}
# The methods every machine has, the same for all: --states-only leaves them out.
_STATE_METHOD = re.compile(r"_s\d+_|_rest\d+_|_loop\d+_")
_BUILTINS = frozenset({"self", "None", "True", "False", "super", "print", "len", "isinstance"})


def highlight(code: str) -> str:
    """`code` with ANSI colours from a tokenize pass; unchanged if it does not tokenize."""
    lines = code.splitlines(keepends=True)
    spans: list[tuple[int, int, int, int, str]] = []
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            style = None
            if tok.type == tokenize.NAME:
                if previous in ("def", "class"):
                    style = "definition"
                elif keyword.iskeyword(tok.string) or keyword.issoftkeyword(tok.string):
                    style = "keyword"
                elif tok.string in _BUILTINS:
                    style = "builtin"
                previous = tok.string
            elif tok.type == tokenize.STRING:
                style = "string"
            elif tok.type == tokenize.COMMENT:
                style = "comment"
            elif tok.type == tokenize.NUMBER:
                style = "number"
            if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                if tok.type != tokenize.NAME:
                    previous = ""
            if style:
                spans.append((*tok.start, *tok.end, style))
    except (tokenize.TokenError, SyntaxError):
        return code
    # Insert escapes from the end so earlier offsets stay valid; a multi-line token is
    # coloured line by line so each line resets its colour before the newline.
    out = list(lines)
    for srow, scol, erow, ecol, style in reversed(spans):
        code_on = f"\x1b[{_STYLE[style]}m"
        for row in range(erow, srow - 1, -1):
            line = out[row - 1]
            start = scol if row == srow else 0
            end = ecol if row == erow else len(line.rstrip("\r\n"))
            out[row - 1] = line[:start] + code_on + line[start:end] + "\x1b[0m" + line[end:]
    return "".join(out)


def select_machines(machines: Sequence[Any], func: str | None, filename: str) -> list[Any]:
    """The machines FUNC names (by name or qualname); ValueError saying what exists."""
    if func is None:
        return list(machines)
    chosen = [m for m in machines if m.qualname == func] or [m for m in machines if m.name == func]
    names = ", ".join(m.qualname for m in machines) or "none"
    if not chosen:
        raise ValueError(f"{filename}: no coroutine named {func!r}; coroutines here: {names}")
    if len(chosen) > 1:
        raise ValueError(
            f"{filename}: {func!r} names several coroutines ({names}); give the qualname"
        )
    return chosen


def states_only(code: str) -> str:
    """The machine class with only its state functions (and its name and def line: the
    names of its state functions say the rest of ``_corofy_states_``).

    The wrapper function, ``__init__``, the slots and the ``_steps`` tuple are left out
    (``poll``, ``close`` and ``__del__`` are ``runtime.machine.Machine``'s).
    """
    tree = ast.parse(code)
    lines = code.splitlines()
    out: list[str] = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        out.append(lines[node.lineno - 1])
        for item in node.body:
            keep = (isinstance(item, ast.FunctionDef) and _STATE_METHOD.match(item.name)) or (
                isinstance(item, ast.Assign)
                and any(
                    isinstance(n, ast.Name) and n.id in ("_corofy_states_", "_corofy_line_")
                    for t in item.targets
                    for n in ast.walk(t)
                )
            )
            if keep:
                end = item.end_lineno or item.lineno
                out.append("")
                out.extend(lines[item.lineno - 1 : end])
    return "\n".join(out) + "\n"


def render(machines: Sequence[Any], color: bool, only_states: bool = False) -> str:
    parts = []
    for machine in machines:
        # A method's machine is emitted at its class's indentation; shown from column 0.
        code = textwrap.dedent(machine.code)
        if only_states:
            code = states_only(code)
        text = code if code.endswith("\n") else code + "\n"
        parts.append(highlight(text) if color else text)
    return "\n\n".join(parts)
