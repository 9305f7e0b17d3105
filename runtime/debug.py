"""Debugging aids (SPEC §6): tracebacks in the user's lines, failed tasks, `dump_tasks()`.

A module written by the corofy command ends with `__corofy_source__` (the original file,
relative to the project root) and `__corofy_lines__` (generated line -> original line); see
docs/internals.md. A frame running such a module is shown at the original file and line,
with the original source line, and named after the coroutine rather than `poll`. Frames the
table does not cover (the machine's own plumbing) keep their generated location, which is
where the bug is if one of them fails.

Code compiled in memory by `corofy run` or the untransformed `@coroutine` already carries the
original file name and lines and no table, so it passes through unchanged.

Importing this module installs `excepthook` as `sys.excepthook`, but only while the
interpreter's default hook is in place: a hook the program set itself is left alone.

Facts: `traceback.walk_tb` and `traceback.extract_tb` visit the same frames in the same
order, so their results can be zipped; a `FrameSummary` given `line=` does not consult
`linecache`, and one without column numbers prints no carets.
"""

from __future__ import annotations

import linecache
import os
import sys
import traceback
import types
from typing import Any, TextIO


def _resolve_source(name: str, generated_file: str) -> str:
    """The original file: as named, else relative to a folder above the generated file."""
    if os.path.isabs(name) or os.path.exists(name):
        return name
    folder = os.path.dirname(os.path.abspath(generated_file))
    while True:
        candidate = os.path.normpath(os.path.join(folder, name))
        if os.path.exists(candidate):
            shown = os.path.relpath(candidate)
            return candidate if shown.startswith("..") else shown
        parent = os.path.dirname(folder)
        if parent == folder:
            return name
        folder = parent


def _machine_name(frame: types.FrameType) -> str | None:
    """The coroutine a generated `poll` frame belongs to (its machine class's name)."""
    owner = frame.f_locals.get("self")
    if owner is not None and hasattr(type(owner), "_corofy_states_"):
        return type(owner).__qualname__
    return None


def original_location(frame: types.FrameType, lineno: int) -> tuple[str, int] | None:
    """(original file, original line) of a frame in a corofy-generated module, else None."""
    table = frame.f_globals.get("__corofy_lines__")
    source = frame.f_globals.get("__corofy_source__")
    if not isinstance(table, dict) or not isinstance(source, str):
        return None
    line = table.get(lineno)
    if line is None:
        return None
    return _resolve_source(source, frame.f_code.co_filename), line


def remapped_stack(tb: types.TracebackType | None) -> traceback.StackSummary:
    """The traceback's frames, each generated frame moved to its original file and line."""
    frames = list(traceback.walk_tb(tb))
    summaries = traceback.extract_tb(tb)
    out = []
    for (frame, lineno), summary in zip(frames, summaries):
        location = original_location(frame, lineno)
        name = _machine_name(frame) or summary.name
        if location is None:
            if name != summary.name:
                summary = traceback.FrameSummary(
                    summary.filename, summary.lineno, name, line=summary.line,
                    end_lineno=summary.end_lineno, colno=summary.colno, end_colno=summary.end_colno,
                )
            out.append(summary)
            continue
        filename, line = location
        text = linecache.getline(filename, line).strip()
        out.append(traceback.FrameSummary(filename, line, name, line=text))
    return traceback.StackSummary.from_list(out)


def _remap(te: traceback.TracebackException, exc: BaseException | None, seen: set[int]) -> None:
    if exc is None or id(te) in seen:
        return
    seen.add(id(te))
    te.stack = remapped_stack(exc.__traceback__)
    _remap_opt(te.__cause__, exc.__cause__, seen)
    _remap_opt(te.__context__, exc.__context__, seen)
    for sub_te, sub_exc in zip(getattr(te, "exceptions", None) or (), getattr(exc, "exceptions", ())):
        _remap(sub_te, sub_exc, seen)


def _remap_opt(te: traceback.TracebackException | None, exc: BaseException | None, seen: set[int]) -> None:
    if te is not None:
        _remap(te, exc, seen)


def format_exception(exc: BaseException) -> list[str]:
    """Like `traceback.format_exception(exc)`, with generated frames at their original lines."""
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__, compact=True)
    _remap(te, exc, set())
    return list(te.format())


def print_exception(exc: BaseException, file: TextIO | None = None) -> None:
    print("".join(format_exception(exc)), end="", file=file if file is not None else sys.stderr)


def excepthook(exc_type: type[BaseException], exc: BaseException, tb: types.TracebackType | None) -> None:
    """A `sys.excepthook` printing tracebacks through generated code in the user's lines."""
    try:
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        print_exception(exc)
    except Exception:  # never lose the original error to a bug in the remapping
        sys.__excepthook__(exc_type, exc, tb)


def install_excepthook() -> None:
    """Make `excepthook` the interpreter's hook unless the program installed its own."""
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = excepthook


def report_task_failure(task_name: str, exc: BaseException) -> None:
    """Print the traceback of a task that failed and was never joined, to stderr."""
    print(f"runtime: task {task_name} failed and was never joined:", file=sys.stderr)
    print_exception(exc, file=sys.stderr)


# --- dump_tasks --------------------------------------------------------------------------


def _machine_source_file(machine: Any) -> str:
    cls = type(machine)
    module = sys.modules.get(cls.__module__)
    source = getattr(module, "__corofy_source__", None)
    poll = getattr(cls, "poll", None)
    code_file = getattr(getattr(poll, "__code__", None), "co_filename", None) or "?"
    if isinstance(source, str):
        return _resolve_source(source, getattr(module, "__file__", None) or code_file)
    return code_file


def describe_chain(future: Any) -> list[str]:
    """One line per future from `future` down its `_awaiting` chain of generated machines."""
    lines: list[str] = []
    depth = 0
    seen: set[int] = set()
    while future is not None and id(future) not in seen:
        seen.add(id(future))
        pad = "  " * (depth + 1)
        states = getattr(type(future), "_corofy_states_", None)
        if states is None:  # the leaf: shown by type, plus its repr if it has a telling one
            detail = _short_repr(future) if type(future).__repr__ is not object.__repr__ else ""
            lines.append(f"{pad}{type(future).__qualname__} {detail}".rstrip())
            break
        state = getattr(future, "_state", None)
        name, line = states.get(state, ("finished" if state == -1 else f"state {state}", 0))
        filename = _machine_source_file(future)
        where = f"{filename}:{line}" if line else filename
        lines.append(f"{pad}{type(future).__qualname__} in {name} at {where}")
        text = linecache.getline(filename, line).strip() if line else ""
        if text:
            lines.append(f"{pad}    {text}")
        future = getattr(future, "_awaiting", None)
        depth += 1
    return lines


def _short_repr(obj: Any) -> str:
    try:
        text = repr(obj)
    except Exception:
        return ""
    return text if len(text) <= 80 else text[:77] + "..."


def dump_tasks(file: TextIO | None = None) -> str:
    """Print every live task as its chain of waiting coroutines; returns the same text.

    Each coroutine is shown with its function, its state and the original line where it
    waits; the chain ends at the leaf future it waits on. Prints to stderr by default.
    """
    from runtime.executor import live_tasks

    out: list[str] = []
    tasks = list(live_tasks())
    out.append(f"{len(tasks)} live task{'' if len(tasks) == 1 else 's'}")
    for task in tasks:
        out.append(f"task {getattr(task, 'name', '?')}:")
        out.extend(describe_chain(getattr(task, "future", None)))
    text = "\n".join(out) + "\n"
    print(text, end="", file=file if file is not None else sys.stderr)
    return text


install_excepthook()
