"""The refusals of SPEC §2.3: what corofy will not rewrite, and the message that says why.

Each refusal is a ``CorofyError`` at the offending node's first character (1-based line
and column, counted in characters as CPython and ruff do). The scan in ``find.py``
finds them and reports the first in source order.
"""

from __future__ import annotations

import ast
import re
from typing import NoReturn

from libcst.metadata import CodeRange

from corofy.transform.errors import CorofyError


def refuse(filename: str, where: CodeRange, message: str) -> NoReturn:
    raise CorofyError(filename, where.start.line, where.start.column + 1, message)


def syntax_error(source: str, filename: str) -> CorofyError | None:
    """CPython's own verdict on ``source``: its message and position, or None if it compiles.

    Facts: ``ast.parse`` misses errors found later by the compiler (``return`` outside a
    function, ``nonlocal`` at module level), so the whole module is compiled.
    """
    try:
        compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return CorofyError(filename, exc.lineno or 1, exc.offset or 1, exc.msg)
    except ValueError as exc:  # e.g. "source code string cannot contain null bytes"
        return CorofyError(filename, 1, 1, str(exc))
    return None


_ASYNC_OUTSIDE = ("outside async function", "outside of an asynchronous function")


def async_outside(error: CorofyError) -> bool:
    """Is ``error`` CPython's refusal of await, async for/with or an async comprehension
    outside an ``async def``? (In a coroutine corofy refuses them with its own message.)"""
    return any(text in error.message for text in _ASYNC_OUTSIDE)


def unreadable(source: str, filename: str, exc: Exception) -> CorofyError | None:
    """A file CPython compiles but libcst cannot parse (some mixes of tabs and spaces in
    indentation): None when it holds no ``@coroutine`` (it is left as it is), else the
    refusal, at the first line indented with both tabs and spaces if there is one."""
    tree = ast.parse(source)
    if not any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and any(_names_coroutine(d) for d in node.decorator_list)
        for node in ast.walk(tree)
    ):
        return None
    for number, line in enumerate(_BREAKS.split(source), 1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if " " in indent and "\t" in indent and line.strip():
            return CorofyError(filename, number, 1, UNREADABLE_TABS)
    backslash = lone_backslash(source)
    if backslash is not None:
        return CorofyError(filename, backslash, 1, LONE_BACKSLASH)
    line = getattr(exc, "raw_line", 1) or 1
    column = (getattr(exc, "raw_column", 0) or 0) + 1
    return CorofyError(
        filename,
        line,
        column,
        UNREADABLE.format(reason=str(getattr(exc, "message", exc)).splitlines()[0]),
    )


def not_round_tripped(source: str, printed: str, filename: str) -> CorofyError:
    """The refusal of a file libcst parses into another text (see ``transform``), at the
    first line where the two differ."""
    ours, theirs = _BREAKS.split(source), _BREAKS.split(printed)
    number = next(
        (k for k, (a, b) in enumerate(zip(ours, theirs), 1) if a != b), min(len(ours), len(theirs))
    )
    line = ours[number - 1] if number <= len(ours) else ""
    if line.strip() == "\\":
        return CorofyError(filename, number, 1, LONE_BACKSLASH)
    return CorofyError(filename, number, 1, NOT_ROUND_TRIPPED)


def lone_backslash(source: str) -> int | None:
    """The first line holding only a backslash (and indentation), if any."""
    for number, line in enumerate(_BREAKS.split(source), 1):
        if line.strip() == "\\":
            return number
    return None


_BREAKS = re.compile(r"\r\n|\r|\n")


def _names_coroutine(decorator: ast.expr) -> bool:
    if isinstance(decorator, ast.Call):
        decorator = decorator.func
    return (isinstance(decorator, ast.Name) and decorator.id == "coroutine") or (
        isinstance(decorator, ast.Attribute) and decorator.attr == "coroutine"
    )


UNREADABLE_TABS = (
    "this file mixes tabs and spaces in its indentation in a way libcst (the "
    "parser corofy rewrites with) cannot read, though Python accepts it: indent "
    "with spaces only (or tabs only)"
)
LONE_BACKSLASH = (
    "a line holding only a backslash: libcst (the parser corofy rewrites with) "
    "drops it, so corofy cannot rewrite this file though Python accepts it; "
    "remove that line and indent the line after it as the backslash was"
)
NOT_ROUND_TRIPPED = (
    "libcst (the parser corofy rewrites with) reads this line as other text, "
    "so corofy cannot rewrite this file though Python accepts it: write this "
    "line another way"
)
UNREADABLE = (
    "libcst (the parser corofy rewrites with) cannot read this file, though Python "
    "accepts it ({reason}): write this line another way"
)
ASYNC_DEF = "@coroutine cannot decorate an async def: use a plain def and wait() instead of await"
WAIT_ARGS = "wait() takes exactly one positional argument: the future to wait for"
WAIT_OUTSIDE = "wait() outside a @coroutine function: decorate the function with @coroutine"
WAIT_NESTED = {
    "lambda": "wait() inside a lambda within a @coroutine: a lambda cannot suspend; "
    "compute the value with wait() before the lambda",
    "def": "wait() inside a nested function within a @coroutine: the nested function cannot "
    "suspend the coroutine; make it a @coroutine of its own and wait() on it",
    "class": "wait() inside a class body within a @coroutine is not supported",
    "genexp": "wait() inside a generator expression is not supported: use a list "
    "comprehension or an explicit loop",
}
YIELD = (
    "yield inside a @coroutine: a coroutine is no generator and suspends only with wait(): "
    "use wait(x) instead of yield x"
)
YIELD_FROM = "yield from inside a @coroutine: use wait(x) instead of yield from x"
AWAIT = "await inside a @coroutine: use wait(x) instead of await x"
ASYNC_FOR = (
    "async for inside a @coroutine: use a plain for (or while) loop that calls wait() "
    "on each step instead of async for"
)
ASYNC_WITH = (
    "async with inside a @coroutine: use a plain with, or try/finally with wait() on "
    "what __aenter__ and __aexit__ return, instead of async with"
)
ASYNC_COMPREHENSION = (
    "async comprehension inside a @coroutine: use a plain comprehension with "
    "wait() in it instead of async for"
)
REBIND = "rebinding the corofy marker name {name!r}: choose another name"
ON_CLASS = "@coroutine decorates functions only, not classes: decorate the methods that wait"
MARKER_VALUE = (
    "the corofy marker {name!r} can only decorate a function (@coroutine) or be "
    "called (wait(future)): the generated module does not define it"
)
PRIVATE_OUTSIDE_CLASS = (
    "the private name {name!r} of an enclosing function or an attribute, in a @coroutine "
    "outside any class: Python would mangle it for the generated state-machine class, so "
    "it would name something else; rename it"
)
SUPER_NESTED = (
    "zero-argument super() and __class__ work in the own body of a @coroutine method "
    "(or of a @coroutine nested in a method), not in a function nested in a "
    "@coroutine nor in a @coroutine nested in another: name the class, as in "
    "super(Class, obj)"
)
